# hog MS: burns the CPU for MS milliseconds without ever yielding.
from libc.stdint cimport uint64_t
from user cimport sdk

cdef public int umain() noexcept nogil:
    cdef uint64_t ms = sdk.arg_u64(0, 2000)
    cdef uint64_t end = sdk.now_ms() + ms
    sdk.printf(b"hog: spinning for %u ms\n", ms)
    while sdk.now_ms() < end:
        pass
    sdk.puts(b"hog done\n")
    return 0
