# C-string and memory helpers for kernel code (the kernel has no libc).
from libc.stdint cimport uint8_t, uint64_t

cdef size_t length(const char* s) noexcept nogil
cdef bint equal(const char* a, const char* b) noexcept nogil
cdef bint starts_with(const char* s, const char* prefix) noexcept nogil
# Copy at most cap-1 bytes and terminate; returns the length copied.
cdef size_t copy(char* dst, const char* src, size_t cap) noexcept nogil
# Parse a decimal or 0x-prefixed hex number from s[0:n].  Returns False on
# anything else (empty, stray characters, overflow).
cdef bint parse_u64(const char* s, size_t n, uint64_t* out) noexcept nogil
# s[0:n] is `lowercase` (a C string), ignoring ASCII case.
cdef bint is_word(const char* s, size_t n, const char* lowercase) noexcept nogil
