# Hosted backend of the HAL (built as the module kwe.base.hal): a small simulated
# PC that hosted tests drive and inspect.  It models what the kernel's
# modules touch: COM1, the isa-debug-exit port, QEMU's fw_cfg, physical RAM
# (a buffer with an unmapped guard page after it), control registers and
# MSRs, PCI configuration space (mechanism #1) with QEMU pc's functions, MMIO
# through the page tables, and an Intel 82540EM (e1000) network card when a
# test attaches one.  Any other port remembers its last written value.
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
    if not pci_port_write(port, v, 1):
        port_write(port, v)

cdef void outw(uint16_t port, uint16_t v) noexcept nogil:
    if not pci_port_write(port, v, 2):
        port_write(port, v)

cdef void outl(uint16_t port, uint32_t v) noexcept nogil:
    if not pci_port_write(port, v, 4):
        port_write(port, v)

cdef uint8_t inb(uint16_t port) noexcept nogil:
    cdef uint32_t v
    if pci_port_read(port, 1, &v):
        return <uint8_t>v
    return <uint8_t>port_read(port)

cdef uint16_t inw(uint16_t port) noexcept nogil:
    cdef uint32_t v
    if pci_port_read(port, 2, &v):
        return <uint16_t>v
    return <uint16_t>port_read(port)

cdef uint32_t inl(uint16_t port) noexcept nogil:
    cdef uint32_t v
    if pci_port_read(port, 4, &v):
        return v
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

# ---- PCI configuration space ------------------------------------------------
# Mechanism #1: a dword address written to 0xCF8 (enable bit 31, bus,
# device, function, register), the data through 0xCFC..0xCFF in any width.
# Each function is a 256-byte header and a write mask (read-only bits stay
# put); a BAR's mask is its size, so writing all ones reads back the size,
# as on hardware.  An absent function reads as all ones.  reset() installs
# QEMU pc's functions as SeaBIOS leaves them; e1000_attach adds the card.
cdef enum:
    PCI_ADDR = 0xCF8
    PCI_DATA = 0xCFC
    PCI_MAX = 16
    CMD_IO = 0x1
    CMD_MEMORY = 0x2
    CMD_MASTER = 0x4
    CMD_INTX_OFF = 0x400
    BAR_IO = 0x1
    BAR_MEM64 = 0x4
    BAR_PREFETCH = 0x8

cdef struct SimPci:
    uint32_t bdf                # bus << 8 | device << 3 | function
    uint8_t cfg[256]
    uint8_t wmask[256]          # the bits software may change
    uint64_t bar_size[6]        # 0: no BAR (a 64-bit BAR's size is on its low half)

cdef SimPci pci_dev[PCI_MAX]
cdef int pci_count = 0
cdef uint32_t pci_address = 0
cdef uint64_t pci_reads = 0     # data-port reads, to see what a scan costs
cdef int e1k = -1               # the e1000's entry in pci_dev; -1: no card

cdef int pci_find(uint32_t bdf) noexcept nogil:
    cdef int i
    for i in range(pci_count):
        if pci_dev[i].bdf == bdf:
            return i
    return -1

cdef uint32_t cfg_get(int d, uint32_t off, uint32_t width) noexcept nogil:
    cdef uint32_t v = 0, i
    for i in range(width):
        v |= <uint32_t>pci_dev[d].cfg[(off + i) & 0xFF] << (8 * i)
    return v

cdef void cfg_put(int d, uint32_t off, uint32_t v, uint32_t width) noexcept nogil:
    cdef uint32_t i, b
    cdef uint8_t m
    for i in range(width):
        b = (off + i) & 0xFF
        m = pci_dev[d].wmask[b]
        pci_dev[d].cfg[b] = (pci_dev[d].cfg[b] & ~m) | ((v >> (8 * i)) & m)

cdef void cfg_init(int d, uint32_t off, uint32_t v, uint32_t width) noexcept nogil:
    """Set bits whatever the mask (the device's own values)."""
    cdef uint32_t i
    for i in range(width):
        pci_dev[d].cfg[(off + i) & 0xFF] = <uint8_t>(v >> (8 * i))

cdef void mask_init(int d, uint32_t off, uint32_t m) noexcept nogil:
    cdef uint32_t i
    for i in range(4):
        pci_dev[d].wmask[off + i] = <uint8_t>(m >> (8 * i))

cdef int pci_selected() noexcept nogil:
    if not (pci_address & 0x80000000U):
        return -1
    return pci_find((pci_address >> 8) & 0xFFFF)

cdef bint pci_port_write(uint16_t port, uint32_t v, uint32_t width) noexcept nogil:
    global pci_address
    cdef int d
    if port == PCI_ADDR and width == 4:
        pci_address = v
        return True
    if port < PCI_DATA or port > PCI_DATA + 3:
        return False
    d = pci_selected()
    if d >= 0:
        cfg_put(d, (pci_address & 0xFC) + (port - PCI_DATA), v, width)
    return True

cdef bint pci_port_read(uint16_t port, uint32_t width, uint32_t* v) noexcept nogil:
    global pci_reads
    cdef int d
    if port == PCI_ADDR and width == 4:
        v[0] = pci_address
        return True
    if port < PCI_DATA or port > PCI_DATA + 3:
        return False
    pci_reads += 1
    d = pci_selected()
    v[0] = 0xFFFFFFFFU
    if d >= 0:
        v[0] = cfg_get(d, (pci_address & 0xFC) + (port - PCI_DATA), width)
    return True

cdef int pci_new(uint32_t bdf, uint16_t vendor, uint16_t device, uint8_t cls, uint8_t sub,
                 uint8_t header) noexcept nogil:
    global pci_count
    cdef int d = pci_find(bdf)
    if d < 0:
        if pci_count == PCI_MAX:
            return -1
        d = pci_count
        pci_count += 1
    memset(&pci_dev[d], 0, sizeof(SimPci))
    pci_dev[d].bdf = bdf
    cfg_init(d, 0x00, vendor, 2)
    cfg_init(d, 0x02, device, 2)
    cfg_init(d, 0x0A, sub, 1)
    cfg_init(d, 0x0B, cls, 1)
    cfg_init(d, 0x0E, header, 1)
    cfg_init(d, 0x3C, 0xFF, 1)              # no interrupt line until firmware says
    pci_dev[d].wmask[0x04] = CMD_IO | CMD_MEMORY | CMD_MASTER
    pci_dev[d].wmask[0x05] = CMD_INTX_OFF >> 8
    pci_dev[d].wmask[0x3C] = 0xFF           # the interrupt line is firmware's note
    return d

cdef void pci_bar(int d, int i, uint64_t size, uint32_t flags, uint64_t base) noexcept nogil:
    cdef uint64_t mask = ~(size - 1)
    cdef uint32_t off = 0x10 + 4 * i
    pci_dev[d].bar_size[i] = size
    cfg_init(d, off, <uint32_t>(base & mask) | flags, 4)
    mask_init(d, off, <uint32_t>mask & (0xFFFFFFFCU if flags & BAR_IO else 0xFFFFFFF0U))
    if not (flags & BAR_IO) and flags & BAR_MEM64:
        cfg_init(d, off + 4, <uint32_t>(base >> 32), 4)
        mask_init(d, off + 4, <uint32_t>(mask >> 32))

cdef bint bar_holds(int d, int i, uint64_t pa, uint64_t* off) noexcept nogil:
    """Does memory BAR i of function d decode pa?  off: where inside it."""
    cdef uint32_t lo = cfg_get(d, 0x10 + 4 * i, 4)
    cdef uint64_t base, size = pci_dev[d].bar_size[i]
    if size == 0 or lo & BAR_IO:
        return False
    base = lo & 0xFFFFFFF0U
    if lo & BAR_MEM64 and i < 5:
        base |= <uint64_t>cfg_get(d, 0x14 + 4 * i, 4) << 32
    if pa < base or pa - base >= size:
        return False
    off[0] = pa - base
    return True

cdef int mmio_owner(uint64_t pa, uint64_t* off) noexcept nogil:
    """8 * function + BAR of the memory BAR holding pa (memory decoding on), else -1."""
    cdef int d, i
    for d in range(pci_count):
        if cfg_get(d, 0x04, 2) & CMD_MEMORY:
            for i in range(6):
                if bar_holds(d, i, pa, off):
                    return 8 * d + i
    return -1

cdef void pci_machine() noexcept nogil:
    """QEMU pc's functions, BARs as SeaBIOS assigns them (decoding still off)."""
    global pci_count, pci_address, pci_reads, e1k
    cdef int d
    pci_count, pci_address, pci_reads, e1k = 0, 0, 0, -1
    pci_new(0x00, 0x8086, 0x1237, 0x06, 0x00, 0x00)        # 00:00.0 i440FX host bridge
    pci_new(0x08, 0x8086, 0x7000, 0x06, 0x01, 0x80)        # 00:01.0 PIIX3 ISA bridge, multi-function
    d = pci_new(0x09, 0x8086, 0x7010, 0x01, 0x01, 0x00)    # 00:01.1 PIIX3 IDE
    pci_bar(d, 4, 16, BAR_IO, 0xC040)
    pci_new(0x0B, 0x8086, 0x7113, 0x06, 0x80, 0x00)        # 00:01.3 PIIX4 ACPI
    d = pci_new(0x10, 0x1234, 0x1111, 0x03, 0x00, 0x00)    # 00:02.0 VGA
    pci_bar(d, 0, 16 << 20, BAR_PREFETCH, 0xFD000000U)
    pci_bar(d, 2, 4096, 0, 0xFEBF0000U)

# ---- MMIO: through the page tables, to a BAR or to RAM ----------------------
cdef enum:
    PTE_P = 0x1
    PTE_W = 0x2
    PTE_PWT = 0x8
    PTE_PCD = 0x10
    PTE_PS = 0x80

cdef uint64_t mmio_faults = 0, mmio_cached = 0, mmio_unclaimed = 0, mmio_last_fault = 0

cdef bint page_walk(uint64_t va, bint write, uint64_t* pa, uint64_t* leaf) noexcept nogil:
    """What the MMU does with va under CR3: the physical address and the leaf entry."""
    cdef uint64_t t = cr[3] & 0x000FFFFFFFFFF000U, e, size
    cdef int level
    cdef bint writable = True
    for level in range(4, 0, -1):
        if t + 4096 > ram_size:
            return False
        e = (<uint64_t*>(ram + t))[(va >> (12 + 9 * (level - 1))) & 511]
        if not (e & PTE_P):
            return False
        writable = writable and (e & PTE_W) != 0
        if level == 1 or (level < 4 and e & PTE_PS):
            if write and not writable:
                return False
            size = (<uint64_t>1) << (12 + 9 * (level - 1))
            pa[0] = (e & 0x000FFFFFFFFFF000U & ~(size - 1)) | (va & (size - 1))
            leaf[0] = e
            return True
        t = e & 0x000FFFFFFFFFF000U
    return False

cdef int mmio_route(uint64_t va, bint write, uint64_t* pa, uint64_t* off) noexcept nogil:
    """-2: a fault; -1: not a device (pa is RAM or nothing); else mmio_owner's answer."""
    global mmio_faults, mmio_last_fault, mmio_cached
    cdef uint64_t leaf = 0
    cdef int owner
    if not page_walk(va, write, pa, &leaf):
        mmio_faults += 1
        mmio_last_fault = va
        return -2
    owner = mmio_owner(pa[0], off)
    if owner >= 0 and (leaf & (PTE_PCD | PTE_PWT)) != (PTE_PCD | PTE_PWT):
        mmio_cached += 1                    # device registers through a cacheable mapping
    return owner

cdef uint32_t mmio_read32(uint64_t va) noexcept nogil:
    global mmio_unclaimed
    cdef uint64_t pa = 0, off = 0
    cdef int owner = mmio_route(va, False, &pa, &off)
    if owner == 8 * e1k and e1k >= 0:
        return e1k_read(<uint32_t>off)
    if owner >= 0 or owner == -2:
        return 0xFFFFFFFFU if owner == -2 else 0
    if pa + 4 <= ram_size:
        return (<uint32_t*>(ram + pa))[0]
    mmio_unclaimed += 1
    return 0xFFFFFFFFU

cdef void mmio_write32(uint64_t va, uint32_t v) noexcept nogil:
    global mmio_unclaimed
    cdef uint64_t pa = 0, off = 0
    cdef int owner = mmio_route(va, True, &pa, &off)
    if owner == 8 * e1k and e1k >= 0:
        e1k_write(<uint32_t>off, v)
    elif owner == -1 and pa + 4 <= ram_size:
        (<uint32_t*>(ram + pa))[0] = v
    elif owner == -1:
        mmio_unclaimed += 1

cdef void barrier() noexcept nogil:
    pass

# ---- an Intel 82540EM (QEMU's -device e1000) ---------------------------------
# What the driver touches, as QEMU's model and the 8254x manual do it: the
# register file (ICR clears on read, IMS/IMC set and clear the mask, the
# statistics the driver reads clear on read), a reset that brings back the
# power-on state, the MAC in RAL0/RAH0 and in the EEPROM (EERD), the receive
# filter (RAL/RAH, BAM, UPE/MPE, the multicast table), and both rings in
# simulated RAM by DMA, which needs bus mastering on and stays inside RAM
# (anything else is counted in dma_faults, never touches the host).
cdef enum:
    E_CTRL = 0x0000
    E_STATUS = 0x0008
    E_EERD = 0x0014
    E_ICR = 0x00C0
    E_ICS = 0x00C8
    E_IMS = 0x00D0
    E_IMC = 0x00D8
    E_RCTL = 0x0100
    E_TCTL = 0x0400
    E_RDBAL = 0x2800
    E_RDBAH = 0x2804
    E_RDLEN = 0x2808
    E_RDH = 0x2810
    E_RDT = 0x2818
    E_TDBAL = 0x3800
    E_TDBAH = 0x3804
    E_TDLEN = 0x3808
    E_TDH = 0x3810
    E_TDT = 0x3818
    E_MPC = 0x4010
    E_GPRC = 0x4074
    E_GPTC = 0x4080
    E_RNBC = 0x40A0
    E_TPR = 0x40D0
    E_TPT = 0x40D4
    E_MTA = 0x5200
    E_RAL0 = 0x5400
    E_RAH0 = 0x5404
    CTRL_SLU = 0x40
    CTRL_RST = 0x4000000
    STATUS_FD = 0x1
    STATUS_LU = 0x2
    STATUS_1000 = 0x80
    EERD_START = 0x1
    EERD_DONE = 0x10
    ICR_TXDW = 0x1
    ICR_TXQE = 0x2
    ICR_LSC = 0x4
    ICR_RXDMT0 = 0x10
    ICR_RXO = 0x40
    ICR_RXT0 = 0x80
    RCTL_EN = 0x2
    RCTL_UPE = 0x8
    RCTL_MPE = 0x10
    RCTL_LPE = 0x20
    RCTL_BAM = 0x8000
    RCTL_BSEX = 0x2000000
    RCTL_SECRC = 0x4000000
    TCTL_EN = 0x2
    RAH_AV = 0x80000000
    DESC_DD = 0x1
    RXD_EOP = 0x2
    TXD_EOP = 0x1
    TXD_RS = 0x8
    E1K_WORDS = 0x8000          # 128 KiB of registers
    FRAME_MAX = 16384           # the longest frame either side handles
    RX_MAX_PLAIN = 1522         # longer needs RCTL.LPE (a VLAN-tagged frame, without FCS)

cdef uint32_t e1k_reg[E1K_WORDS]
cdef uint8_t e1k_mac[6]
cdef uint16_t e1k_eeprom[64]
cdef bint e1k_link = False
cdef bint e1k_hold = False              # a test holds transmission back (the ring fills)
cdef bint e1k_mac_in_ral = False        # reset loads RAL0/RAH0 (else the MAC is only in the EEPROM)
cdef uint8_t e1k_frame[FRAME_MAX + 64]  # a frame on its way in or out
cdef uint32_t e1k_tx_len = 0
cdef uint8_t* e1k_txlog = NULL          # frames sent: [uint32 length][bytes] ...
cdef size_t e1k_txlog_len = 0, e1k_txlog_cap = 0
cdef uint64_t e1k_dma_faults = 0, e1k_filtered = 0, e1k_tx_lost = 0

cdef inline uint32_t* reg(uint32_t off) noexcept nogil:
    return &e1k_reg[(off & 0x1FFFF) >> 2]

cdef void e1k_power_on() noexcept nogil:
    """Reset: registers to their power-on values, except the multicast table,
    which reset leaves as it was (software clears it)."""
    global e1k_tx_len
    cdef uint32_t mta[128]
    memcpy(mta, reg(E_MTA), sizeof(mta))
    memset(e1k_reg, 0, sizeof(e1k_reg))
    memcpy(reg(E_MTA), mta, sizeof(mta))
    e1k_tx_len = 0
    if e1k_mac_in_ral:
        reg(E_RAL0)[0] = e1k_mac[0] | e1k_mac[1] << 8 | e1k_mac[2] << 16 | <uint32_t>e1k_mac[3] << 24
        reg(E_RAH0)[0] = e1k_mac[4] | e1k_mac[5] << 8 | RAH_AV

cdef bint e1k_link_up() noexcept nogil:
    return e1k_link and (reg(E_CTRL)[0] & CTRL_SLU) != 0

cdef uint32_t e1k_status() noexcept nogil:
    return STATUS_FD | STATUS_1000 | (STATUS_LU if e1k_link_up() else 0)

cdef uint32_t e1k_eerd(uint32_t v) noexcept nogil:
    cdef uint32_t word = (v >> 8) & 0xFF
    if not (v & EERD_START):
        return v
    if word >= 64:
        return (v & ~<uint32_t>EERD_START) | EERD_DONE
    return <uint32_t>e1k_eeprom[word] << 16 | (v & 0xFF00) | EERD_DONE

cdef bint clears_on_read(uint32_t off) noexcept nogil:
    return off == E_GPRC or off == E_GPTC or off == E_TPR or off == E_TPT

cdef uint32_t e1k_read(uint32_t off) noexcept nogil:
    cdef uint32_t v = reg(off)[0]
    if off == E_STATUS:
        return e1k_status()
    if off == E_EERD:
        return e1k_eerd(v)
    if off == E_ICR or clears_on_read(off):
        reg(off)[0] = 0
    return v

cdef void e1k_write(uint32_t off, uint32_t v) noexcept nogil:
    if off == E_CTRL and v & CTRL_RST:
        e1k_power_on()
    elif off == E_ICR:
        reg(E_ICR)[0] &= ~v
    elif off == E_ICS:
        reg(E_ICR)[0] |= v
    elif off == E_IMS:
        reg(E_IMS)[0] |= v
    elif off == E_IMC:
        reg(E_IMS)[0] &= ~v
    elif off == E_STATUS:
        pass
    elif off == E_RDLEN or off == E_TDLEN:
        reg(off)[0] = v & 0xFFF80
    elif off == E_RDH or off == E_RDT or off == E_TDH or off == E_TDT:
        reg(off)[0] = v & 0xFFFF
    else:
        reg(off)[0] = v
    if off == E_TDT or off == E_TCTL:
        e1k_transmit()

cdef bint dma_ok(uint64_t pa, uint64_t n) noexcept nogil:
    """May the card read or write [pa, pa+n)?  Bus mastering on, inside RAM."""
    global e1k_dma_faults
    if cfg_get(e1k, 0x04, 2) & CMD_MASTER and pa + n >= pa and pa + n <= ram_size:
        return True
    e1k_dma_faults += 1
    return False

cdef uint64_t ring_base(uint32_t lo_off) noexcept nogil:
    return (<uint64_t>reg(lo_off + 4)[0] << 32) | (reg(lo_off)[0] & ~<uint32_t>0xF)

cdef uint32_t rx_free() noexcept nogil:
    """Descriptors the card may fill: RDH up to, not including, RDT."""
    cdef uint32_t n = reg(E_RDLEN)[0] // 16, h = reg(E_RDH)[0], t = reg(E_RDT)[0]
    if n == 0 or h >= n or t >= n:
        return 0
    return (t + n - h) % n

cdef uint32_t rx_bufsize() noexcept nogil:
    cdef uint32_t rctl = reg(E_RCTL)[0], b = (rctl >> 16) & 3
    if rctl & RCTL_BSEX:
        return 32768 >> b
    return 2048 >> b

cdef bint mta_hit(const uint8_t* f) noexcept nogil:
    cdef uint32_t h = ((f[4] >> 4) | (<uint32_t>f[5] << 4)) & 0xFFF     # MO = 0
    return (reg(E_MTA + 4 * (h >> 5))[0] >> (h & 31)) & 1

cdef bint ra_hit(const uint8_t* f) noexcept nogil:
    cdef int i
    cdef uint32_t lo = f[0] | f[1] << 8 | f[2] << 16 | <uint32_t>f[3] << 24, hi = f[4] | f[5] << 8
    for i in range(16):
        if reg(E_RAH0 + 8 * i)[0] & RAH_AV and reg(E_RAL0 + 8 * i)[0] == lo \
                and (reg(E_RAH0 + 8 * i)[0] & 0xFFFF) == hi:
            return True
    return False

cdef bint rx_accepts(const uint8_t* f) noexcept nogil:
    cdef uint32_t rctl = reg(E_RCTL)[0]
    cdef int i
    cdef bint broadcast = True
    if not (f[0] & 1):
        return (rctl & RCTL_UPE) != 0 or ra_hit(f)
    for i in range(6):
        broadcast = broadcast and f[i] == 0xFF
    if broadcast:
        return (rctl & (RCTL_BAM | RCTL_MPE)) != 0
    return (rctl & RCTL_MPE) != 0 or mta_hit(f)

cdef uint32_t fcs(const uint8_t* p, uint32_t n) noexcept nogil:
    cdef uint32_t c = 0xFFFFFFFFU, i, k
    for i in range(n):
        c ^= p[i]
        for k in range(8):
            c = (c >> 1) ^ (0xEDB88320U & (0U - (c & 1)))
    return ~c

cdef void rx_write_back(uint32_t piece, bint last, uint8_t errors, const uint8_t* src) noexcept nogil:
    """Fill the descriptor at RDH with piece bytes and hand it back (DD)."""
    cdef uint64_t dpa = ring_base(E_RDBAL) + 16 * <uint64_t>reg(E_RDH)[0], bpa
    cdef uint8_t* d
    if not dma_ok(dpa, 16):
        return
    d = ram + dpa
    bpa = (<uint64_t*>d)[0]
    if dma_ok(bpa, piece):
        memcpy(ram + bpa, src, piece)
    (<uint16_t*>(d + 8))[0] = <uint16_t>piece
    d[12] = DESC_DD | (RXD_EOP if last else 0)
    d[13] = errors if last else 0
    reg(E_RDH)[0] = (reg(E_RDH)[0] + 1) % (reg(E_RDLEN)[0] // 16)

cdef int e1k_deliver(uint32_t n, uint8_t errors, bint long_ok) noexcept nogil:
    """The frame in e1k_frame[:n] arrives from the wire.  1: in the ring;
    0: not taken (receiver off, link down, too long, filtered); -1: no free
    descriptor (dropped, counted in MPC and RNBC, ICR.RXO)."""
    global e1k_filtered
    cdef uint32_t rctl = reg(E_RCTL)[0], bs = rx_bufsize(), total, done = 0, piece, c
    if n < 60:                                  # padded to the shortest frame, as QEMU does
        memset(e1k_frame + n, 0, 60 - n)
        n = 60
    if not (rctl & RCTL_EN) or not e1k_link_up():
        return 0
    if n > RX_MAX_PLAIN and not (long_ok or rctl & RCTL_LPE):
        return 0
    if not rx_accepts(e1k_frame):
        e1k_filtered += 1
        return 0
    total = n
    if not (rctl & RCTL_SECRC):                 # the FCS stays on the frame
        c = fcs(e1k_frame, n)
        memcpy(e1k_frame + n, &c, 4)
        total += 4
    if rx_free() < (total + bs - 1) // bs:
        reg(E_MPC)[0] += 1
        reg(E_RNBC)[0] += 1
        reg(E_ICR)[0] |= ICR_RXO
        return -1
    while done < total:
        piece = total - done if total - done < bs else bs
        rx_write_back(piece, done + piece >= total, errors, e1k_frame + done)
        done += piece
    reg(E_GPRC)[0] += 1
    reg(E_TPR)[0] += 1
    reg(E_ICR)[0] |= ICR_RXT0
    if rx_free() <= (reg(E_RDLEN)[0] // 16) >> (((rctl >> 8) & 3) + 1):
        reg(E_ICR)[0] |= ICR_RXDMT0
    return 1

cdef void tx_log(const uint8_t* p, uint32_t n) noexcept nogil:
    global e1k_txlog, e1k_txlog_len, e1k_txlog_cap
    while e1k_txlog_len + 4 + n > e1k_txlog_cap:
        e1k_txlog_cap = e1k_txlog_cap * 2 if e1k_txlog_cap else 65536
        e1k_txlog = <uint8_t*>realloc(e1k_txlog, e1k_txlog_cap)
    memcpy(e1k_txlog + e1k_txlog_len, &n, 4)
    memcpy(e1k_txlog + e1k_txlog_len + 4, p, n)
    e1k_txlog_len += 4 + n

cdef bint tx_descriptor(uint8_t* d) noexcept nogil:
    """One legacy descriptor: gather its bytes; EOP sends the frame, RS asks
    for DD (and TXDW: the return value)."""
    global e1k_tx_len, e1k_tx_lost
    cdef uint64_t addr = (<uint64_t*>d)[0]
    cdef uint32_t length = (<uint16_t*>(d + 8))[0]
    if e1k_tx_len + length <= FRAME_MAX and dma_ok(addr, length):
        memcpy(e1k_frame + e1k_tx_len, ram + addr, length)
        e1k_tx_len += length
    if d[11] & TXD_EOP:
        if e1k_link_up():
            tx_log(e1k_frame, e1k_tx_len)
            reg(E_GPTC)[0] += 1
            reg(E_TPT)[0] += 1
        else:
            e1k_tx_lost += 1                    # no link: the frame goes nowhere
        e1k_tx_len = 0
    if d[11] & TXD_RS:
        d[12] |= DESC_DD
        return True
    return False

cdef void e1k_transmit() noexcept nogil:
    """Send what lies between TDH and TDT (when TCTL.EN and not held)."""
    cdef uint32_t n = reg(E_TDLEN)[0] // 16, cause = ICR_TXQE
    cdef uint64_t dpa
    if not (reg(E_TCTL)[0] & TCTL_EN) or e1k_hold or n == 0 or reg(E_TDT)[0] >= n:
        return
    while reg(E_TDH)[0] != reg(E_TDT)[0] and reg(E_TDH)[0] < n:
        dpa = ring_base(E_TDBAL) + 16 * <uint64_t>reg(E_TDH)[0]
        if not dma_ok(dpa, 16):
            break
        if tx_descriptor(ram + dpa):
            cause |= ICR_TXDW
        reg(E_TDH)[0] = (reg(E_TDH)[0] + 1) % n
    reg(E_ICR)[0] |= cause

cdef void e1k_forget() noexcept nogil:
    global e1k_link, e1k_hold, e1k_txlog_len, e1k_dma_faults, e1k_filtered, e1k_tx_lost
    global mmio_faults, mmio_cached, mmio_unclaimed, mmio_last_fault
    e1k_link, e1k_hold, e1k_txlog_len = False, False, 0
    e1k_dma_faults, e1k_filtered, e1k_tx_lost = 0, 0, 0
    mmio_faults, mmio_cached, mmio_unclaimed, mmio_last_fault = 0, 0, 0, 0
    memset(e1k_reg, 0, sizeof(e1k_reg))

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
    pci_machine()
    e1k_forget()

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

# ---- PCI and the e1000, test side ------------------------------------------
BAR_KINDS = {"mem32": 0, "mem32-prefetch": BAR_PREFETCH, "mem64": BAR_MEM64,
             "mem64-prefetch": BAR_MEM64 | BAR_PREFETCH, "io": BAR_IO}


def pci_add(int bus, int device, int function, uint16_t vendor, uint16_t device_id,
            uint8_t class_code, uint8_t subclass=0, bint multifunction=False, bars=(),
            int irq_line=0xFF, int irq_pin=0):
    """Another PCI function.  bars: (index, kind, size, base) with kind one
    of BAR_KINDS; a 64-bit BAR takes index and index + 1."""
    cdef int d = pci_new(bus << 8 | device << 3 | function, vendor, device_id, class_code,
                         subclass, 0x80 if multifunction else 0)
    if d < 0:
        raise ValueError("no room for another PCI function")
    for index, kind, size, base in bars:
        pci_bar(d, index, size, BAR_KINDS[kind], base)
    cfg_init(d, 0x3C, irq_line, 1)
    cfg_init(d, 0x3D, irq_pin, 1)
    return d


def pci_config(int bus, int device, int function):
    """A function's 256-byte configuration header, or None if it is absent."""
    cdef int d = pci_find(bus << 8 | device << 3 | function)
    return None if d < 0 else bytes(pci_dev[d].cfg[:256])


def pci_config_reads():
    """Reads of the configuration data port since reset."""
    return pci_reads


def e1000_attach(bytes mac=b"\x52\x54\x00\x12\x34\x56", uint64_t bar0=0xFEBC0000,
                 int irq=11, bint link=True, bint mac_in_ral=True, int slot=3):
    """Plug an 82540EM in at 00:SLOT.0 (BAR0 128 KiB of registers, BAR1 64
    I/O ports, INTA# routed to irq as SeaBIOS notes it).  mac_in_ral=False:
    reset leaves RAL0/RAH0 empty, the MAC is only in the EEPROM."""
    global e1k, e1k_link, e1k_mac_in_ral
    cdef int i
    cdef uint32_t total = 0
    if len(mac) != 6:
        raise ValueError("a MAC is 6 bytes")
    e1k = pci_add(0, slot, 0, 0x8086, 0x100E, 0x02, 0x00,
                  bars=((0, "mem32", 0x20000, bar0), (1, "io", 64, 0xC000)), irq_line=irq, irq_pin=1)
    cfg_init(e1k, 0x08, 0x03, 1)                # revision
    cfg_init(e1k, 0x2C, 0x11001AF4, 4)          # subsystem, as QEMU's
    for i in range(6):
        e1k_mac[i] = mac[i]
    memset(e1k_eeprom, 0, sizeof(e1k_eeprom))
    for i in range(3):
        e1k_eeprom[i] = mac[2 * i] | mac[2 * i + 1] << 8
    for i in range(63):
        total += e1k_eeprom[i]
    e1k_eeprom[63] = <uint16_t>(0xBABA - total)  # words 0..63 sum to 0xBABA
    e1k_link, e1k_mac_in_ral = link, mac_in_ral
    memset(e1k_reg, 0, sizeof(e1k_reg))
    memset(reg(E_MTA), 0xA5, 128 * 4)           # undefined at power-up
    e1k_power_on()


def e1000_receive(bytes frame, uint8_t errors=0, bint long_ok=False):
    """A frame arrives from the wire.  1: written into the next free RX
    descriptor(s) by DMA, RDH advanced, ICR.RXT0; 0: not taken (receiver
    off, link down, longer than 1522 bytes without long_ok, filtered out);
    -1: no free descriptor: dropped, MPC counted, ICR.RXO.  errors: the
    descriptor's error byte (as a card storing bad frames would report);
    long_ok: take a long frame as RCTL.LPE would, spanning descriptors when
    longer than a buffer."""
    if e1k < 0:
        raise ValueError("no e1000 attached")
    if len(frame) > FRAME_MAX:
        raise ValueError("frame too long for the model")
    memcpy(e1k_frame, <const char*>frame, len(frame))
    return e1k_deliver(len(frame), errors, long_ok)


def e1000_transmitted():
    """The frames the card sent since the last call, in order."""
    global e1k_txlog_len
    cdef size_t at = 0
    cdef uint32_t n
    out = []
    while at < e1k_txlog_len:
        memcpy(&n, e1k_txlog + at, 4)
        out.append(bytes(e1k_txlog[at + 4:at + 4 + n]))
        at += 4 + n
    e1k_txlog_len = 0
    return out


def e1000_set_link(bint up):
    """The cable: a change raises ICR.LSC."""
    global e1k_link
    if up != e1k_link:
        e1k_link = up
        reg(E_ICR)[0] |= ICR_LSC


def e1000_hold_tx(bint hold):
    """Hold transmission back (descriptors stay queued) or let it go on."""
    global e1k_hold
    e1k_hold = hold
    if not hold and e1k >= 0:
        e1k_transmit()


def e1000_irq():
    """Is the card asserting INTA# (ICR & IMS, INTx not disabled)?"""
    if e1k < 0 or cfg_get(e1k, 0x04, 2) & CMD_INTX_OFF:
        return False
    return (reg(E_ICR)[0] & reg(E_IMS)[0]) != 0


def e1000_register(uint32_t offset):
    """A register's value without a read's side effects (ICR, statistics)."""
    if offset == E_STATUS:
        return e1k_status()
    return reg(offset)[0]


def e1000_counters():
    return {"dma_faults": e1k_dma_faults, "filtered": e1k_filtered, "tx_lost": e1k_tx_lost,
            "missed": reg(E_MPC)[0], "head": reg(E_RDH)[0], "tail": reg(E_RDT)[0]}


def mmio_read(uint64_t va):
    """A 32-bit MMIO read as the kernel does it (hal.mmio_read32)."""
    return mmio_read32(va)


def mmio_write(uint64_t va, uint32_t v):
    mmio_write32(va, v)


def mmio_counters():
    """MMIO the machine saw go wrong: faults (unmapped, or a write to a
    read-only page), cached (a device register through a mapping without
    PCD|PWT), unclaimed (no device and no RAM there)."""
    return {"faults": mmio_faults, "cached": mmio_cached, "unclaimed": mmio_unclaimed,
            "last_fault": mmio_last_fault}

reset()
