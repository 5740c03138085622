# Network deck (4): no NIC driver yet, so every network operation is
# answered E_NOTSUP -- clearly, and without touching anything.
from kwe.events.guide cimport Event
cdef int handle(Event* e) noexcept nogil
