# See sanitize.pxd.  Hosted: whether this build is the ASan one, and what it
# poisoned (for tests of the allocators' poisoning).
from libc.stdint cimport uint64_t
from kwe.base cimport hal

def py_enabled():
    return bool(KWE_ASAN)

def py_phys_poisoned(uint64_t pa):
    """Is the byte at physical address pa of the simulated RAM poisoned?"""
    return bool(is_poisoned(hal.phys_to_virt(pa)))
