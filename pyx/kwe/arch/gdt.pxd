# The GDT and the TSS.  Selector layout is fixed by SYSCALL/SYSRET: STAR
# makes user SS = 0x18|3 and user CS = 0x20|3, kernel CS = 0x08, SS = 0x10.
# The TSS gives ring-3 interrupts their kernel stack (rsp0) and gives the
# faults that must work even on a broken stack their own IST stacks.
from libc.stdint cimport uint64_t

cdef enum:
    KERNEL_CS = 0x08
    KERNEL_DS = 0x10
    USER_DS = 0x1B
    USER_CS = 0x23
    TSS_SELECTOR = 0x28
    IST_DOUBLE_FAULT = 1
    IST_NMI = 2
    IST_MACHINE_CHECK = 3
    IST_COUNT = 3
    IST_STACK_SIZE = 16384

cdef void init() noexcept nogil
# The stack the CPU switches to on an interrupt from ring 3.
cdef void set_kernel_stack(uint64_t rsp0) noexcept nogil
cdef uint64_t kernel_stack() noexcept nogil
# Is va inside one of the IST stacks (for backtraces)?
cdef bint on_ist_stack(uint64_t va) noexcept nogil
