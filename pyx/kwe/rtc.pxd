# The CMOS real-time clock: an independent time source (its own oscillator
# in QEMU's model) against which the PIT tick rate is checked.
from libc.stdint cimport uint32_t

# Seconds since midnight, read consistently (not during an update).
cdef uint32_t seconds_of_day() noexcept nogil
