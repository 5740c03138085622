# The PIT (8254): channel 0 drives the kernel tick at a configurable rate
# (hz=N on the command line, default 100); channel 2 times a short interval
# at boot to measure the TSC frequency.
from libc.stdint cimport uint32_t, uint64_t

cdef enum:
    PIT_HZ = 1193182             # input clock
    DEFAULT_HZ = 100
    MIN_HZ = 19                  # the 16-bit divisor's limit
    MAX_HZ = 10000
    MAX_TICK_HOOKS = 8

ctypedef void (*TickHook)(uint64_t ticks) noexcept nogil

# Program channel 0 for hz ticks a second (clamped) and install the IRQ.
cdef void init(uint32_t hz) noexcept nogil
cdef uint64_t ticks() noexcept nogil
cdef uint32_t hz() noexcept nogil
# Functions called on every tick, from the interrupt (scheduler, timers).
cdef bint add_tick_hook(TickHook h) noexcept nogil
# Measure TSC cycles per second over ~10 ms of PIT channel 2.
cdef uint64_t calibrate_tsc() noexcept nogil
cdef uint64_t tsc_hz() noexcept nogil
# Forget hooks and ticks (hosted tests start each machine afresh).
cdef void reset() noexcept nogil
