# The VGA text console (80x25 at physical 0xB8000), a mirror of the serial
# console for a user looking at QEMU's screen.
from libc.stdint cimport uint8_t, uint16_t

cdef enum:
    COLS = 80
    ROWS = 25
    TEXT_PHYS = 0xB8000

cdef void init() noexcept nogil
cdef void putc(char c) noexcept nogil
# putc as a kwe.common.format Sink, for console.set_mirror.
cdef void sink(void* ctx, char c) noexcept nogil
