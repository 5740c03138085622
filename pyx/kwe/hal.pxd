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
cdef void cpu_relax() noexcept nogil
cdef void halt_forever() noexcept nogil

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
