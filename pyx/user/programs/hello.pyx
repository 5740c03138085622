# hello: says who it is and exits 0.
from libc.stdint cimport uint64_t
from user cimport sdk

cdef public int umain() noexcept nogil:
    sdk.printf(b"hello from pid %u (%s), args '%s'\n", sdk.info().pid,
               <uint64_t>sdk.info().name, <uint64_t>sdk.info().args)
    return 0
