# What the kernel runs after boot, chosen by run=NAME on the command line
# (default: demo).  Each scenario returns a power.ExitStatus.
cdef int run(const char* name) noexcept nogil
