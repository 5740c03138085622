# Kernel backend of the HAL: each function is one instruction (or a short
# sequence) from runtime/arch.h.  See hal.pxd for the contract.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t

cdef extern from "arch.h" nogil:
    void arch_outb(uint16_t, uint8_t)
    void arch_outw(uint16_t, uint16_t)
    void arch_outl(uint16_t, uint32_t)
    uint8_t arch_inb(uint16_t)
    uint16_t arch_inw(uint16_t)
    uint32_t arch_inl(uint16_t)
    uint64_t arch_rdtsc()
    void arch_cpuid(uint32_t, uint32_t, uint32_t*)
    uint64_t arch_rdmsr(uint32_t)
    void arch_wrmsr(uint32_t, uint64_t)
    uint64_t arch_read_cr0()
    uint64_t arch_read_cr2()
    uint64_t arch_read_cr3()
    uint64_t arch_read_cr4()
    void arch_write_cr0(uint64_t)
    void arch_write_cr3(uint64_t)
    void arch_write_cr4(uint64_t)
    uint64_t arch_read_rflags()
    uint64_t arch_read_rsp()
    uint64_t arch_read_rbp()
    void arch_cli()
    void arch_sti()
    void arch_sti_hlt()
    void arch_sti_nop_cli()
    void arch_hlt()
    void arch_pause()
    void arch_invlpg(uint64_t)
    void arch_lgdt(void*, uint16_t)
    void arch_lidt(void*, uint16_t)
    void arch_ltr(uint16_t)
    void arch_reload_segments(uint16_t, uint16_t)
    uint64_t arch_trap_stub(int)
    void arch_fxsave(void*)
    void arch_fxrstor(void*)
    void arch_call_on_stack(uint64_t, StackEntry)
    void arch_insw(uint16_t, void*, uint64_t)
    void arch_outsw(uint16_t, const void*, uint64_t)
    uint32_t arch_mmio_read32(uint64_t)
    void arch_mmio_write32(uint64_t, uint32_t)
    void arch_barrier()
    void c_switch_context "switch_context"(uint64_t*, uint64_t)
    char trap_return[]
    char syscall_entry[]
    uint64_t kwe_syscall_stack

cdef extern from *:
    """
    extern char __kernel_start[], __kernel_end[], __text_end[], __rodata_end[];
    #define KWE_KERNEL_VMA 0xFFFFFFFF80000000ULL
    #define KWE_DIRECT_MAP 0xFFFF800000000000ULL
    """
    char __kernel_start[]
    char __kernel_end[]
    char __text_end[]
    char __rodata_end[]
    uint64_t KWE_KERNEL_VMA
    uint64_t KWE_DIRECT_MAP

cdef void outb(uint16_t port, uint8_t v) noexcept nogil:
    arch_outb(port, v)

cdef void outw(uint16_t port, uint16_t v) noexcept nogil:
    arch_outw(port, v)

cdef void outl(uint16_t port, uint32_t v) noexcept nogil:
    arch_outl(port, v)

cdef uint8_t inb(uint16_t port) noexcept nogil:
    return arch_inb(port)

cdef uint16_t inw(uint16_t port) noexcept nogil:
    return arch_inw(port)

cdef uint32_t inl(uint16_t port) noexcept nogil:
    return arch_inl(port)

cdef uint64_t rdtsc() noexcept nogil:
    return arch_rdtsc()

cdef void cpuid(uint32_t leaf, uint32_t sub, uint32_t* regs) noexcept nogil:
    arch_cpuid(leaf, sub, regs)

cdef uint64_t read_cr(int n) noexcept nogil:
    if n == 0:
        return arch_read_cr0()
    if n == 2:
        return arch_read_cr2()
    if n == 3:
        return arch_read_cr3()
    if n == 4:
        return arch_read_cr4()
    return 0

cdef void write_cr(int n, uint64_t v) noexcept nogil:
    if n == 0:
        arch_write_cr0(v)
    elif n == 3:
        arch_write_cr3(v)
    elif n == 4:
        arch_write_cr4(v)

cdef uint64_t rdmsr(uint32_t msr) noexcept nogil:
    return arch_rdmsr(msr)

cdef void wrmsr(uint32_t msr, uint64_t v) noexcept nogil:
    arch_wrmsr(msr, v)

cdef void invlpg(uint64_t va) noexcept nogil:
    arch_invlpg(va)

cdef void irq_disable() noexcept nogil:
    arch_cli()

cdef void irq_enable() noexcept nogil:
    arch_sti()

cdef bint irq_enabled() noexcept nogil:
    return (arch_read_rflags() >> 9) & 1

cdef void wait_for_interrupt() noexcept nogil:
    arch_sti_hlt()

cdef void take_interrupts() noexcept nogil:
    arch_sti_nop_cli()

cdef void cpu_relax() noexcept nogil:
    arch_pause()

cdef void halt_forever() noexcept nogil:
    while True:
        arch_cli()
        arch_hlt()

cdef void call_on_stack(uint64_t top, StackEntry fn) noexcept nogil:
    arch_call_on_stack(top, fn)

cdef uint32_t mmio_read32(uint64_t va) noexcept nogil:
    return arch_mmio_read32(va)

cdef void mmio_write32(uint64_t va, uint32_t v) noexcept nogil:
    arch_mmio_write32(va, v)

cdef void barrier() noexcept nogil:
    arch_barrier()

cdef void* phys_to_virt(uint64_t pa) noexcept nogil:
    return <void*>(pa + KWE_DIRECT_MAP)

cdef uint64_t virt_to_phys(const void* va) noexcept nogil:
    cdef uint64_t v = <uint64_t>va
    if v >= KWE_KERNEL_VMA:
        return v - KWE_KERNEL_VMA
    return v - KWE_DIRECT_MAP

cdef void snapshot_regs(uint64_t* out) noexcept nogil:
    out[SNAP_RSP] = arch_read_rsp()
    out[SNAP_RBP] = arch_read_rbp()
    out[SNAP_RFLAGS] = arch_read_rflags()
    out[SNAP_CR0] = arch_read_cr0()
    out[SNAP_CR2] = arch_read_cr2()
    out[SNAP_CR3] = arch_read_cr3()
    out[SNAP_CR4] = arch_read_cr4()

cdef bint readable_kernel_address(uint64_t va) noexcept nogil:
    # The kernel image (and its boot stack in .bss) is always mapped.
    return (va & 7) == 0 and <uint64_t>__kernel_start <= va < <uint64_t>__kernel_end

cdef void load_gdt(void* base, uint16_t limit) noexcept nogil:
    arch_lgdt(base, limit)

cdef void load_idt(void* base, uint16_t limit) noexcept nogil:
    arch_lidt(base, limit)

cdef void load_tss(uint16_t selector) noexcept nogil:
    arch_ltr(selector)

cdef void reload_segments(uint16_t code, uint16_t data) noexcept nogil:
    arch_reload_segments(code, data)

cdef uint64_t trap_stub(int vector) noexcept nogil:
    return arch_trap_stub(vector)

cdef void fpu_save(void* area) noexcept nogil:
    arch_fxsave(area)

cdef void fpu_restore(void* area) noexcept nogil:
    arch_fxrstor(area)

cdef void kernel_layout(KernelLayout* out) noexcept nogil:
    out.start = <uint64_t>__kernel_start
    out.text_end = <uint64_t>__text_end
    out.rodata_end = <uint64_t>__rodata_end
    out.end = <uint64_t>__kernel_end

cdef void switch_context(uint64_t* save_rsp, uint64_t load_rsp) noexcept nogil:
    c_switch_context(save_rsp, load_rsp)

cdef uint64_t trap_return_address() noexcept nogil:
    return <uint64_t>trap_return

cdef uint64_t syscall_entry_address() noexcept nogil:
    return <uint64_t>syscall_entry

cdef void set_syscall_stack(uint64_t top) noexcept nogil:
    global kwe_syscall_stack
    kwe_syscall_stack = top

cdef void read_words(uint16_t port, void* buf, uint64_t count) noexcept nogil:
    arch_insw(port, buf, count)

cdef void write_words(uint16_t port, const void* buf, uint64_t count) noexcept nogil:
    arch_outsw(port, buf, count)
