# The kernel's last word: print the message, the CPU state and a backtrace
# on the console, then end the machine with EXIT_PANIC, so a failing kernel
# never hangs a test.  A panic while panicking powers off at once.
from libc.stdint cimport uint64_t

cdef void panic(const char* fmt, uint64_t a0=*, uint64_t a1=*, uint64_t a2=*,
                uint64_t a3=*) noexcept nogil
# Print registers and a frame-pointer backtrace starting at rbp.
cdef void dump_backtrace(uint64_t rbp) noexcept nogil
