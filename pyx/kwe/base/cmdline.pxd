# The kernel command line: space-separated "key=value" and bare "flag" words
# (no quoting; values run to the next space).  When a key repeats, the last
# one wins, so appended words override defaults.
from libc.stdint cimport uint64_t

cdef enum:
    CMDLINE_MAX = 1024

# The kernel's own command line (set once at boot, truncated to CMDLINE_MAX-1).
cdef void set_line(const char* line) noexcept nogil
cdef const char* line() noexcept nogil

# Value of key in cl copied into out (NUL-terminated, truncated to cap-1).
# Returns the value's full length, 0 for a bare flag, -1 if key is absent.
cdef long find(const char* cl, const char* key, char* out, size_t cap) noexcept nogil
# The same on the kernel's line, and numeric/flag conveniences.
cdef long get(const char* key, char* out, size_t cap) noexcept nogil
cdef uint64_t get_u64(const char* key, uint64_t default) noexcept nogil
cdef bint has(const char* key) noexcept nogil
