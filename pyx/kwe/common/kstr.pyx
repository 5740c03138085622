# See kstr.pxd.
from libc.stdint cimport uint8_t, uint64_t

cdef size_t length(const char* s) noexcept nogil:
    cdef size_t n = 0
    while s[n]:
        n += 1
    return n

cdef bint equal(const char* a, const char* b) noexcept nogil:
    cdef size_t i = 0
    while a[i] and a[i] == b[i]:
        i += 1
    return a[i] == b[i]

cdef bint starts_with(const char* s, const char* prefix) noexcept nogil:
    cdef size_t i = 0
    while prefix[i]:
        if s[i] != prefix[i]:
            return False
        i += 1
    return True

cdef size_t copy(char* dst, const char* src, size_t cap) noexcept nogil:
    cdef size_t i = 0
    if cap == 0:
        return 0
    while i + 1 < cap and src[i]:
        dst[i] = src[i]
        i += 1
    dst[i] = 0
    return i

cdef int digit_value(char c) noexcept nogil:
    if c'0' <= c <= c'9':
        return c - c'0'
    if c'a' <= c <= c'f':
        return c - c'a' + 10
    if c'A' <= c <= c'F':
        return c - c'A' + 10
    return 99

cdef bint parse_u64(const char* s, size_t n, uint64_t* out) noexcept nogil:
    cdef uint64_t base = 10, v = 0
    cdef size_t i = 0
    cdef int d
    if n > 2 and s[0] == c'0' and (s[1] == c'x' or s[1] == c'X'):
        base = 16
        i = 2
    if i == n:
        return False
    while i < n:
        d = digit_value(s[i])
        if <uint64_t>d >= base or v > (<uint64_t>0xFFFFFFFFFFFFFFFFU - <uint64_t>d) / base:
            return False
        v = v * base + <uint64_t>d
        i += 1
    out[0] = v
    return True

cdef uint8_t lower(uint8_t c) noexcept nogil:
    return c | 0x20 if c'A' <= c <= c'Z' else c

cdef bint is_word(const char* s, size_t n, const char* lowercase) noexcept nogil:
    cdef size_t i
    for i in range(n):
        if lowercase[i] == 0 or lower(<uint8_t>s[i]) != <uint8_t>lowercase[i]:
            return False
    return lowercase[n] == 0

def py_parse_u64(bytes s):
    """Hosted helper: parse_u64 on a Python bytes; None when it refuses."""
    cdef uint64_t v = 0
    return v if parse_u64(s, len(s), &v) else None
