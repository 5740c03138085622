# The IDT: 256 interrupt gates into runtime/isr.S's stubs, which all lead to
# kwe.arch.traps.  Double fault, NMI and machine check run on their own IST
# stacks (kwe.arch.gdt).  A kernel stack overflow is still reported: the page
# fault cannot push its frame on the guard page, which makes it a double fault.
from libc.stdint cimport uint8_t

cdef void init() noexcept nogil
# Let ring 3 raise this vector with INT n (all gates are ring 0 otherwise).
cdef void allow_user(int vector) noexcept nogil
