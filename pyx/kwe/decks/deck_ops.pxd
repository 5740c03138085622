# Operations deck (1): computes on the event's input (kwe.common.operations, and
# kwe.decks.simd for float32 vectors) and leaves the answer as the event's value
# and/or output.  Malformed input is an error result (E_BADDATA / E_RANGE),
# never a crash or a write past a bound.
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from kwe.events.guide cimport Event
cdef int handle(Event* e) noexcept nogil

cdef enum:
    CRC_AUTO = 0        # the faster of the two on this CPU, timed at engine start
    CRC_TABLE = 1       # slicing-by-8
    CRC_CLMUL = 2       # PCLMULQDQ folding, when the CPU has it
# Pick how OP_CRC32 computes; True if by folding.  Same answers either way.
cdef bint choose_crc(int mode) noexcept nogil
# CRC32 by folding (check crc_clmul.clmul_available() first; the FPU is taken
# and given back here) or by the table: the same answer.
cdef uint32_t crc_by(bint fold, uint32_t crc, const uint8_t* p, size_t n) noexcept nogil
# Best of three timings of a CRC32 of p[0:n], in TSC cycles, by folding
# (check crc_clmul.clmul_available() first) or by the table.
cdef uint64_t crc_cycles(bint fold, const uint8_t* p, size_t n) noexcept nogil
