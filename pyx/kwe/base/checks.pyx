# See checks.pxd.
from kwe.base cimport cmdline

cdef bint disabled = False
cdef bint may_switch = False

cdef void init() noexcept nogil:
    global disabled, may_switch
    disabled = False
    may_switch = cmdline.get_u64(b"checks_switch", 0) == 1

cdef bint enabled() noexcept nogil:
    return not disabled

cdef bint switchable() noexcept nogil:
    return may_switch

cdef void set_enabled(bint on) noexcept nogil:
    global disabled
    if may_switch:
        disabled = not on

def py_set(bint on, bint allow=True):
    """Hosted: flip the switch, then leave it allowed or not."""
    global may_switch
    may_switch = True
    set_enabled(on)
    may_switch = allow
