# See cmdline.pxd.
from libc.stdint cimport uint64_t
from kwe.common cimport kstr

cdef char kernel_line[CMDLINE_MAX]

cdef void set_line(const char* s) noexcept nogil:
    kstr.copy(kernel_line, s, CMDLINE_MAX)

cdef const char* line() noexcept nogil:
    return kernel_line

cdef bint key_matches(const char* word, size_t n, const char* key) noexcept nogil:
    """word[0:n] is "key" or "key=..."."""
    cdef size_t i = 0
    while key[i]:
        if i >= n or word[i] != key[i]:
            return False
        i += 1
    return i == n or word[i] == c'='

cdef long find(const char* cl, const char* key, char* out, size_t cap) noexcept nogil:
    cdef long found = -1
    cdef size_t n, klen = kstr.length(key), i, vlen
    cdef const char* word
    if klen == 0:
        return -1
    while cl[0]:
        while cl[0] == c' ':
            cl += 1
        word = cl
        n = 0
        while word[n] and word[n] != c' ':
            n += 1
        cl = word + n
        if n == 0 or not key_matches(word, n, key):
            continue
        vlen = n - klen - 1 if n > klen else 0
        found = <long>vlen
        if cap:
            i = 0
            while i < vlen and i + 1 < cap:
                out[i] = word[klen + 1 + i]
                i += 1
            out[i] = 0
    return found

cdef long get(const char* key, char* out, size_t cap) noexcept nogil:
    return find(kernel_line, key, out, cap)

cdef uint64_t get_u64(const char* key, uint64_t default) noexcept nogil:
    cdef char buf[32]
    cdef long n = find(kernel_line, key, buf, sizeof(buf))
    cdef uint64_t v
    if n <= 0 or n >= <long>sizeof(buf) or not kstr.parse_u64(buf, <size_t>n, &v):
        return default
    return v

cdef bint has(const char* key) noexcept nogil:
    return find(kernel_line, key, NULL, 0) >= 0

def py_find(bytes cl, bytes key):
    """Hosted helper: the value (bytes), b"" for a bare flag, None if absent."""
    cdef char out[CMDLINE_MAX]
    cdef long n = find(cl, key, out, sizeof(out))
    if n < 0:
        return None
    return out[:n if n < CMDLINE_MAX else CMDLINE_MAX - 1]

def py_set_line(bytes s):
    set_line(s)

def py_get_u64(bytes key, uint64_t default):
    return get_u64(key, default)
