# Operations deck (1): computes on the event's input (kwe.operations, and
# kwe.simd for float32 vectors) and leaves the answer as the event's value
# and/or output.  Malformed input is an error result (E_BADDATA / E_RANGE),
# never a crash or a write past a bound.
from kwe.guide cimport Event
cdef int handle(Event* e) noexcept nogil
