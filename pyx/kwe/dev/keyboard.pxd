# PS/2 keyboard: IRQ 1 turns scancode set 1 (the i8042 translates) into
# ASCII on the keyboard input queue (kwe.dev.input).  US layout, Shift, Caps
# Lock and Ctrl (Ctrl-letter gives the control code).
from libc.stdint cimport uint8_t

cdef void init() noexcept nogil
# Feed one scancode through the translator (what the IRQ handler does).
cdef void scancode(uint8_t sc) noexcept nogil
