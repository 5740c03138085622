# Input queues fed from interrupt handlers: one per source (COM1, the PS/2
# keyboard).  When a queue is full the newest byte is dropped and counted.
from libc.stdint cimport uint8_t, uint64_t

cdef enum:
    SOURCE_SERIAL = 0
    SOURCE_KEYBOARD = 1
    SOURCES = 2
    QUEUE_BYTES = 4096

# Take COM1's receive interrupt (the keyboard's is kwe.dev.keyboard's).
cdef void init() noexcept nogil
cdef void push(int source, uint8_t c) noexcept nogil
cdef int pop(int source) noexcept nogil          # -1 when empty
cdef uint64_t dropped(int source) noexcept nogil
