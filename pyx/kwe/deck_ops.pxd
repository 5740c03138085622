# Operations deck (1): computes on the event's input (kwe.operations, and
# kwe.simd for float32 vectors) and leaves the answer as the event's value
# and/or output.  Malformed input is an error result (E_BADDATA / E_RANGE),
# never a crash or a write past a bound.
from kwe.guide cimport Event
cdef int handle(Event* e) noexcept nogil

cdef enum:
    CRC_AUTO = 0        # the faster of the two on this CPU, timed at engine start
    CRC_TABLE = 1       # slicing-by-8
    CRC_CLMUL = 2       # PCLMULQDQ folding, when the CPU has it
# Pick how OP_CRC32 computes; True if by folding.  Same answers either way.
cdef bint choose_crc(int mode) noexcept nogil
