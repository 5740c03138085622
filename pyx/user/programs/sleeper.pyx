# sleeper MS: blocks for MS milliseconds on a Hardware-deck timer, exits.
from libc.stdint cimport uint64_t
from user cimport sdk
from kwe.common cimport abi
from kwe.common.abi cimport EventSlot, Completion

cdef public int umain() noexcept nogil:
    cdef Completion r
    cdef EventSlot* e = sdk.event(abi.OP_SLEEP)
    e.h.arg[0] = sdk.arg_u64(0, 1000)
    return 0 if sdk.call(e, &r) == abi.E_OK else 1
