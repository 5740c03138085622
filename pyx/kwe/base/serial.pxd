# COM1, the kernel's console and log.  Polled output; input is read from the
# UART's receive register (the interrupt path feeds it in later issues).
from libc.stdint cimport uint8_t

cdef enum:
    COM1 = 0x3F8

cdef void init() noexcept nogil
cdef void putc(uint8_t c) noexcept nogil
cdef bint has_input() noexcept nogil
cdef int getc() noexcept nogil          # -1 when nothing is waiting
# Raise IRQ 4 when a byte arrives (kwe.dev.input installs the handler).
cdef void enable_rx_interrupt() noexcept nogil
