# The CMOS real-time clock: an independent time source (its own oscillator
# in QEMU's model) against which the PIT tick rate is checked.
from libc.stdint cimport uint32_t, uint64_t, int64_t

# Seconds since midnight, read consistently (not during an update).
cdef uint32_t seconds_of_day() noexcept nogil
# Seconds since 1970-01-01 UTC (the RTC keeps UTC under QEMU).
cdef uint64_t unix_time() noexcept nogil
# Days since 1970-01-01 of a civil date (proleptic Gregorian).
cdef int64_t days_from_civil(int64_t y, uint32_t m, uint32_t d) noexcept nogil
