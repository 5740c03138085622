# In-kernel self-tests report in KTAP (one "ok N name" / "not ok N name"
# line per check, then a plan line), which tests/ parse from the serial log.
from libc.stdint cimport uint64_t

cdef void begin(const char* suite) noexcept nogil
cdef void check(bint ok, const char* name) noexcept nogil
cdef void check_eq(uint64_t got, uint64_t want, const char* name) noexcept nogil
# Print the plan line; returns the number of failed checks.
cdef int end() noexcept nogil
