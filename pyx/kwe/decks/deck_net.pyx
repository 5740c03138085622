# See deck_net.pxd.
from kwe.common cimport abi
from kwe.events cimport guide
from kwe.events.guide cimport Event

cdef int handle(Event* e) noexcept nogil:
    if guide.opcode_deck(e.h.opcode) == abi.DECK_NETWORK:
        e.status = abi.E_NOTSUP
    return guide.DECK_DONE
