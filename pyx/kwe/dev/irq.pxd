# Hardware interrupt lines: drivers register a handler for their IRQ; the
# PIC is acknowledged here, so handlers only talk to their device.
from libc.stdint cimport uint64_t
from kwe.arch.traps cimport TrapFrame

ctypedef void (*IrqHandler)(TrapFrame* f) noexcept nogil

cdef enum:
    IRQ_TIMER = 0
    IRQ_KEYBOARD = 1
    IRQ_COM1 = 4

cdef void init() noexcept nogil
cdef void register(int irq, IrqHandler h) noexcept nogil
cdef uint64_t count(int irq) noexcept nogil
