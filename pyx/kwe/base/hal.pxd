# The hardware boundary.  Every kernel module reaches ports, registers and
# physical memory only through these functions.  Two backends implement it:
#   hal.pyx      the kernel build: real instructions (runtime/arch.h)
#   hal_sim.pyx  the hosted build: a simulated machine that tests drive
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t

cdef void outb(uint16_t port, uint8_t v) noexcept nogil
cdef void outw(uint16_t port, uint16_t v) noexcept nogil
cdef void outl(uint16_t port, uint32_t v) noexcept nogil
cdef uint8_t inb(uint16_t port) noexcept nogil
cdef uint16_t inw(uint16_t port) noexcept nogil
cdef uint32_t inl(uint16_t port) noexcept nogil

cdef uint64_t rdtsc() noexcept nogil
cdef void cpuid(uint32_t leaf, uint32_t sub, uint32_t* regs) noexcept nogil
cdef uint64_t read_cr(int n) noexcept nogil
cdef void write_cr(int n, uint64_t v) noexcept nogil
cdef uint64_t rdmsr(uint32_t msr) noexcept nogil
cdef void wrmsr(uint32_t msr, uint64_t v) noexcept nogil
cdef void invlpg(uint64_t va) noexcept nogil

cdef void irq_disable() noexcept nogil
cdef void irq_enable() noexcept nogil
cdef bint irq_enabled() noexcept nogil
# Enable interrupts, halt until one arrives, disable again (no lost wake-up).
cdef void wait_for_interrupt() noexcept nogil
# Enable interrupts for one instruction: take what is pending, halt for nothing.
cdef void take_interrupts() noexcept nogil
cdef void cpu_relax() noexcept nogil
cdef void halt_forever() noexcept nogil
# Switch to the stack whose top is `top` and call fn there (never returns).
ctypedef void (*StackEntry)() noexcept nogil
cdef void call_on_stack(uint64_t top, StackEntry fn) noexcept nogil

# Device registers (MMIO): one 32-bit access through a mapping the caller
# made uncached (vmm MAP_NOCACHE).  Ordered against every other memory
# access in program order, so a driver's descriptor writes reach memory
# before the register write that hands them to the device.  Hosted, the
# simulated machine does what the CPU does: it walks the page tables CR3
# names (as kwe.mm.vmm wrote them in simulated RAM) to a physical address,
# then sends it to the PCI device whose memory BAR holds it (when its memory
# decoding is on), else to RAM; an unmapped address or a write through a
# read-only page is counted as a fault (hal.mmio_counters) and reads as all
# ones.  So the driver's own mapping code is what the tests exercise.
cdef uint32_t mmio_read32(uint64_t va) noexcept nogil
cdef void mmio_write32(uint64_t va, uint32_t v) noexcept nogil
# A compiler barrier: memory a device writes by DMA (descriptor status) is
# read again after it, not from a register copy (x86 keeps loads in order).
cdef void barrier() noexcept nogil

# Physical memory.  The kernel maps all RAM at DIRECT_MAP; the hosted
# machine's RAM is a buffer.  kernel_virt_to_phys covers the kernel image.
cdef void* phys_to_virt(uint64_t pa) noexcept nogil
cdef uint64_t virt_to_phys(const void* va) noexcept nogil

# rsp, rbp, rflags, cr0, cr2, cr3, cr4 of the caller, for panic dumps.
cdef enum:
    SNAP_RSP = 0
    SNAP_RBP = 1
    SNAP_RFLAGS = 2
    SNAP_CR0 = 3
    SNAP_CR2 = 4
    SNAP_CR3 = 5
    SNAP_CR4 = 6
    SNAP_COUNT = 7
cdef void snapshot_regs(uint64_t* out) noexcept nogil
# Is this address safe to read while walking a stack (panic backtraces)?
cdef bint readable_kernel_address(uint64_t va) noexcept nogil

# Descriptor tables and segments.
cdef void load_gdt(void* base, uint16_t limit) noexcept nogil
cdef void load_idt(void* base, uint16_t limit) noexcept nogil
cdef void load_tss(uint16_t selector) noexcept nogil
cdef void reload_segments(uint16_t code, uint16_t data) noexcept nogil
# Address of the entry stub for an interrupt vector (runtime/isr.S).
cdef uint64_t trap_stub(int vector) noexcept nogil

# FPU/SSE state (fxsave format: 512 bytes, 16-byte aligned).
cdef void fpu_save(void* area) noexcept nogil
cdef void fpu_restore(void* area) noexcept nogil

# Where the kernel image's parts are (virtual addresses; all zero hosted).
cdef struct KernelLayout:
    uint64_t start          # first byte of .text
    uint64_t text_end
    uint64_t rodata_end
    uint64_t end            # end of .bss
cdef void kernel_layout(KernelLayout* out) noexcept nogil

# Processes: the context switch (runtime/switch.S), where a new process's
# first switch lands (trap_return, which irets into ring 3), the SYSCALL
# entry point, and the kernel stack SYSCALL switches to.
cdef void switch_context(uint64_t* save_rsp, uint64_t load_rsp) noexcept nogil
cdef uint64_t trap_return_address() noexcept nogil
cdef uint64_t syscall_entry_address() noexcept nogil
cdef void set_syscall_stack(uint64_t top) noexcept nogil

# Block I/O through one port, 16 bits at a time (ATA PIO).
cdef void read_words(uint16_t port, void* buf, uint64_t count) noexcept nogil
cdef void write_words(uint16_t port, const void* buf, uint64_t count) noexcept nogil
