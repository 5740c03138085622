# See ktest.pxd.
from libc.stdint cimport uint64_t
from kwe.base.console cimport kprintf

cdef int count = 0
cdef int failures = 0

cdef void begin(const char* suite) noexcept nogil:
    global count, failures
    count = 0
    failures = 0
    kprintf(b"KTAP version 1\n# Subtest: %s\n", <uint64_t>suite)

cdef void check(bint ok, const char* name) noexcept nogil:
    global count, failures
    count += 1
    if ok:
        kprintf(b"ok %d %s\n", count, <uint64_t>name)
    else:
        failures += 1
        kprintf(b"not ok %d %s\n", count, <uint64_t>name)

cdef void check_eq(uint64_t got, uint64_t want, const char* name) noexcept nogil:
    check(got == want, name)
    if got != want:
        kprintf(b"# got %lx, want %lx\n", got, want)

cdef int end() noexcept nogil:
    kprintf(b"1..%d\n# failures: %d\n", count, failures)
    return failures
