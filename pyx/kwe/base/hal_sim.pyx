# Hosted backend of the HAL (built as the module kwe.base.hal): a small simulated
# PC that hosted tests drive and inspect.  It models what the kernel's
# modules touch: COM1, the isa-debug-exit port, QEMU's fw_cfg, physical RAM
# (a buffer with an unmapped guard page after it), control registers and
# MSRs.  Any other port remembers its last written value.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy, memset
from kwe.base cimport sanitize

cdef extern from "arch.h" nogil:
    uint64_t arch_rdtsc()
    void arch_cpuid(uint32_t, uint32_t, uint32_t*)

cdef extern from "<sys/mman.h>" nogil:
    void* mmap(void*, size_t, int, int, int, long)
    int munmap(void*, size_t)
    int mprotect(void*, size_t, int)
    int madvise(void*, size_t, int)
    int MADV_HUGEPAGE
    int PROT_NONE, PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_ANONYMOUS
    void* MAP_FAILED

cdef enum:
    COM1 = 0x3F8
    DEBUG_EXIT = 0xF4
    FWCFG_SEL = 0x510
    FWCFG_DATA = 0x511
    FWCFG_DIR = 0x19
    FWCFG_FIRST_FILE = 0x20
    MAX_FILES = 64
    GUARD = 4096
    SIM_TRAP_STUBS = 0x7000000

# ---- state ---------------------------------------------------------------
cdef uint8_t* ram = NULL
cdef uint64_t ram_size = 0
cdef char* out_buf = NULL
cdef size_t out_len = 0, out_cap = 0
cdef uint8_t* in_buf = NULL
cdef size_t in_len = 0, in_pos = 0
cdef int64_t exit_code = -1
cdef uint32_t last_port_value[65536]
cdef uint64_t cr[5]
cdef uint32_t msr_index[64]
cdef uint64_t msr_value[64]
cdef int msr_count = 0
cdef bint irq_on = False
cdef uint64_t halts = 0
cdef bint cpuid_leaf7_set = False       # a test chose CPUID.7.0's EBX and ECX
cdef uint32_t cpuid_leaf7[2]
cdef uint64_t machine_generation = 0    # bumped by reset(): objects of an old machine are dead
# fw_cfg: item 0 is the signature, FWCFG_DIR the directory, files from 0x20
cdef uint8_t* fw_item[MAX_FILES + FWCFG_FIRST_FILE]
cdef uint32_t fw_len[MAX_FILES + FWCFG_FIRST_FILE]
cdef int fw_files = 0
cdef uint16_t fw_sel = 0
cdef uint32_t fw_pos = 0

# ---- ports ---------------------------------------------------------------
cdef void serial_out(uint8_t c) noexcept nogil:
    global out_buf, out_len, out_cap
    if out_len == out_cap:
        out_cap = out_cap * 2 if out_cap else 4096
        out_buf = <char*>realloc(out_buf, out_cap)
    out_buf[out_len] = <char>c
    out_len += 1

cdef uint8_t serial_in(uint16_t port) noexcept nogil:
    global in_pos
    if port == COM1 + 5:                    # LSR: THR empty, data ready?
        return 0x60 | (1 if in_pos < in_len else 0)
    if port == COM1 and in_pos < in_len:    # RBR
        in_pos += 1
        return in_buf[in_pos - 1]
    return 0

cdef void port_write(uint16_t port, uint32_t v) noexcept nogil:
    global exit_code, fw_sel, fw_pos
    last_port_value[port] = v
    if port == COM1 and not (last_port_value[COM1 + 3] & 0x80):   # not the divisor latch
        serial_out(<uint8_t>v)
    elif port == DEBUG_EXIT:
        exit_code = v
    elif port == FWCFG_SEL:
        fw_sel = <uint16_t>v
        fw_pos = 0

cdef uint32_t port_read(uint16_t port) noexcept nogil:
    global fw_pos
    if COM1 <= port <= COM1 + 7:
        return serial_in(port)
    if port == FWCFG_DATA:
        if fw_sel < MAX_FILES + FWCFG_FIRST_FILE and fw_pos < fw_len[fw_sel]:
            fw_pos += 1
            return fw_item[fw_sel][fw_pos - 1]
        return 0
    return last_port_value[port]

cdef void outb(uint16_t port, uint8_t v) noexcept nogil:
    port_write(port, v)

cdef void outw(uint16_t port, uint16_t v) noexcept nogil:
    port_write(port, v)

cdef void outl(uint16_t port, uint32_t v) noexcept nogil:
    port_write(port, v)

cdef uint8_t inb(uint16_t port) noexcept nogil:
    return <uint8_t>port_read(port)

cdef uint16_t inw(uint16_t port) noexcept nogil:
    return <uint16_t>port_read(port)

cdef uint32_t inl(uint16_t port) noexcept nogil:
    return port_read(port)

# ---- CPU -----------------------------------------------------------------
cdef uint64_t rdtsc() noexcept nogil:
    return arch_rdtsc()

cdef void cpuid(uint32_t leaf, uint32_t sub, uint32_t* regs) noexcept nogil:
    arch_cpuid(leaf, sub, regs)
    if cpuid_leaf7_set and leaf == 0 and regs[0] < 7:
        regs[0] = 7
    if cpuid_leaf7_set and leaf == 7 and sub == 0:
        regs[1], regs[2] = cpuid_leaf7[0], cpuid_leaf7[1]

cdef uint64_t read_cr(int n) noexcept nogil:
    return cr[n] if 0 <= n <= 4 else 0

cdef void write_cr(int n, uint64_t v) noexcept nogil:
    if 0 <= n <= 4:
        cr[n] = v

cdef int msr_slot(uint32_t msr) noexcept nogil:
    cdef int i
    for i in range(msr_count):
        if msr_index[i] == msr:
            return i
    return -1

cdef uint64_t rdmsr(uint32_t msr) noexcept nogil:
    cdef int i = msr_slot(msr)
    return msr_value[i] if i >= 0 else 0

cdef void wrmsr(uint32_t msr, uint64_t v) noexcept nogil:
    global msr_count
    cdef int i = msr_slot(msr)
    if i < 0 and msr_count < 64:
        i = msr_count
        msr_count += 1
        msr_index[i] = msr
    if i >= 0:
        msr_value[i] = v

cdef void invlpg(uint64_t va) noexcept nogil:
    pass

cdef void irq_disable() noexcept nogil:
    global irq_on
    irq_on = False

cdef void irq_enable() noexcept nogil:
    global irq_on
    irq_on = True

cdef bint irq_enabled() noexcept nogil:
    return irq_on

cdef void wait_for_interrupt() noexcept nogil:
    global halts
    halts += 1

cdef void take_interrupts() noexcept nogil:
    pass

cdef void cpu_relax() noexcept nogil:
    pass

cdef void halt_forever() noexcept nogil:
    global halts
    halts += 1

cdef void call_on_stack(uint64_t top, StackEntry fn) noexcept nogil:
    fn()

# Processes cannot run on the simulated machine: these only keep the link whole.
cdef void switch_context(uint64_t* save_rsp, uint64_t load_rsp) noexcept nogil:
    pass

cdef uint64_t trap_return_address() noexcept nogil:
    return 0

cdef uint64_t syscall_entry_address() noexcept nogil:
    return 0

cdef void set_syscall_stack(uint64_t top) noexcept nogil:
    pass

cdef void read_words(uint16_t port, void* buf, uint64_t count) noexcept nogil:
    cdef uint16_t* w = <uint16_t*>buf
    cdef uint64_t i
    for i in range(count):
        w[i] = <uint16_t>port_read(port)

cdef void write_words(uint16_t port, const void* buf, uint64_t count) noexcept nogil:
    cdef const uint16_t* w = <const uint16_t*>buf
    cdef uint64_t i
    for i in range(count):
        port_write(port, w[i])

# ---- memory --------------------------------------------------------------
cdef void* phys_to_virt(uint64_t pa) noexcept nogil:
    return <void*>(ram + pa)

cdef uint64_t virt_to_phys(const void* va) noexcept nogil:
    return <uint64_t>(<const uint8_t*>va - ram)

cdef void snapshot_regs(uint64_t* out) noexcept nogil:
    memset(out, 0, SNAP_COUNT * sizeof(uint64_t))
    out[SNAP_CR3] = cr[3]

cdef bint readable_kernel_address(uint64_t va) noexcept nogil:
    return False

# ---- descriptor tables: remembered for the tests to inspect ----------------
cdef uint64_t gdt_base = 0, idt_base = 0
cdef uint16_t gdt_limit = 0, idt_limit = 0, tss_selector = 0, code_sel = 0, data_sel = 0
cdef uint8_t fpu_area[512]

cdef void load_gdt(void* base, uint16_t limit) noexcept nogil:
    global gdt_base, gdt_limit
    gdt_base, gdt_limit = <uint64_t>base, limit

cdef void load_idt(void* base, uint16_t limit) noexcept nogil:
    global idt_base, idt_limit
    idt_base, idt_limit = <uint64_t>base, limit

cdef void load_tss(uint16_t selector) noexcept nogil:
    global tss_selector
    tss_selector = selector

cdef void reload_segments(uint16_t code, uint16_t data) noexcept nogil:
    global code_sel, data_sel
    code_sel, data_sel = code, data

cdef uint64_t trap_stub(int vector) noexcept nogil:
    return SIM_TRAP_STUBS + 16 * <uint64_t>vector

cdef void fpu_save(void* area) noexcept nogil:
    memcpy(area, fpu_area, 512)

cdef void fpu_restore(void* area) noexcept nogil:
    memcpy(fpu_area, area, 512)

cdef void kernel_layout(KernelLayout* out) noexcept nogil:
    memset(out, 0, sizeof(KernelLayout))

# ---- the test-facing side (Python) ---------------------------------------
def reset(uint64_t mem_bytes=0):
    """Power-cycle the machine: new RAM of mem_bytes (rounded up to pages), empty serial, no fw_cfg files."""
    global ram, ram_size, out_len, in_buf, in_len, in_pos, exit_code, msr_count, irq_on, halts
    global machine_generation, cpuid_leaf7_set
    machine_generation += 1
    cpuid_leaf7_set = False
    if ram != NULL:
        # The allocators poisoned parts of it; ASan's shadow outlives the
        # mapping and would make a later mmap at this address look poisoned.
        sanitize.unpoison(ram, ram_size)
        munmap(ram, ram_size + GUARD)
        ram = NULL
    ram_size = (mem_bytes + 4095) & ~<uint64_t>4095
    if ram_size:
        ram = <uint8_t*>mmap(NULL, ram_size + GUARD, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        if ram == <uint8_t*>MAP_FAILED:
            ram = NULL
            raise MemoryError("simulated RAM")
        mprotect(ram + ram_size, GUARD, PROT_NONE)
        # The kernel maps RAM in 2 MiB pages (vmm's direct map): so does the
        # simulated machine where the host allows it, or every block cache
        # page would cost a TLB miss that the kernel does not pay.
        madvise(ram, ram_size, MADV_HUGEPAGE)
    out_len = 0
    free(in_buf)
    in_buf, in_len, in_pos = NULL, 0, 0
    exit_code = -1
    memset(last_port_value, 0, sizeof(last_port_value))
    memset(cr, 0, sizeof(cr))
    msr_count = 0
    irq_on = False
    halts = 0
    fwcfg_clear()

def descriptor_tables():
    """What the code under test loaded: GDT/IDT (address, limit), TSS and segment selectors."""
    cdef char* g = <char*>gdt_base
    cdef char* i = <char*>idt_base
    return {"gdt": g[:gdt_limit + 1] if gdt_base else b"",
            "idt": i[:idt_limit + 1] if idt_base else b"",
            "tss_selector": tss_selector, "code": code_sel, "data": data_sel,
            "trap_stubs": SIM_TRAP_STUBS}

def set_cpuid_leaf7(uint32_t ebx, uint32_t ecx):
    """Make CPUID.7.0 report these feature bits (the host's until reset)."""
    global cpuid_leaf7_set
    cpuid_leaf7[0], cpuid_leaf7[1] = ebx, ecx
    cpuid_leaf7_set = True

def generation():
    """Changes on every reset(): Python objects holding kernel memory of an
    earlier machine must not touch it (it is unmapped)."""
    return machine_generation

def ram_bytes():
    return ram_size

def serial_output():
    """Everything the machine wrote to COM1 since reset/serial_clear."""
    return out_buf[:out_len] if out_len else b""

def serial_clear():
    global out_len
    out_len = 0

def serial_feed(bytes data):
    """Queue bytes as if typed on the other end of COM1."""
    global in_buf, in_len, in_pos
    cdef size_t rest = in_len - in_pos
    cdef uint8_t* nb = <uint8_t*>malloc(rest + len(data) + 1)
    if rest:
        memcpy(nb, in_buf + in_pos, rest)
    memcpy(nb + rest, <const char*>data, len(data))
    free(in_buf)
    in_buf, in_len, in_pos = nb, rest + len(data), 0

def exit_status():
    """The value written to isa-debug-exit, or None if the machine is still on."""
    return None if exit_code < 0 else exit_code

def halt_count():
    return halts

def port_value(uint16_t port):
    """The last value written to a port."""
    return last_port_value[port]

def read_phys(uint64_t pa, size_t n):
    if pa + n > ram_size:
        raise ValueError("outside simulated RAM")
    return (<char*>ram)[pa:pa + n]

def write_phys(uint64_t pa, bytes data):
    if pa + len(data) > ram_size:
        raise ValueError("outside simulated RAM")
    memcpy(ram + pa, <const char*>data, len(data))

cdef void fw_set(int sel, bytes data):
    free(fw_item[sel])
    fw_item[sel] = <uint8_t*>malloc(len(data) + 1)
    memcpy(fw_item[sel], <const char*>data, len(data))
    fw_len[sel] = len(data)

def fwcfg_clear():
    global fw_files
    cdef int i
    for i in range(MAX_FILES + FWCFG_FIRST_FILE):
        free(fw_item[i])
        fw_item[i] = NULL
        fw_len[i] = 0
    fw_files = 0
    fw_set(0, b"QEMU")
    fw_set(FWCFG_DIR, b"\0\0\0\0")

def fwcfg_add(str name, bytes data):
    """Add a fw_cfg file, as QEMU's -fw_cfg name=NAME,file=... does."""
    global fw_files
    if fw_files == MAX_FILES:
        raise ValueError("too many fw_cfg files")
    cdef int sel = FWCFG_FIRST_FILE + fw_files
    fw_set(sel, data)
    fw_files += 1
    directory = bytearray(fw_files.to_bytes(4, "big"))
    for i in range(fw_files):
        n = bytes(fw_item[FWCFG_DIR][4 + 64 * i + 8:4 + 64 * i + 64]) if i < fw_files - 1 else name.encode().ljust(56, b"\0")[:56]
        directory += fw_len[FWCFG_FIRST_FILE + i].to_bytes(4, "big")
        directory += (FWCFG_FIRST_FILE + i).to_bytes(2, "big") + b"\0\0" + n
    fw_set(FWCFG_DIR, bytes(directory))

reset()
