# See operations.pxd.
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t, int32_t
from libc.string cimport memcpy

# The kernel is built -ffreestanding, which turns every memcpy into a call;
# the builtin lets an 8-byte copy stay one unaligned load or store.
cdef extern from *:
    void* load_store "__builtin_memcpy"(void* dst, const void* src, size_t n) noexcept nogil
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING

cdef enum:
    SLICES = 8

# Slicing-by-8 tables: table[k][b] is the CRC of byte b followed by k zero
# bytes, so eight input bytes fold in with eight lookups.  Built on first use
# because module initializers never run in the kernel.
cdef uint32_t table[SLICES][256]
cdef bint tables_ready = False

cdef void build_tables() noexcept nogil:
    global tables_ready
    cdef uint32_t c
    cdef int i, k
    for i in range(256):
        c = <uint32_t>i
        for k in range(8):
            c = (c >> 1) ^ (<uint32_t>0xEDB88320U if c & 1 else 0)
        table[0][i] = c
    for i in range(256):
        for k in range(1, SLICES):
            table[k][i] = (table[k - 1][i] >> 8) ^ table[0][table[k - 1][i] & 0xFF]
    tables_ready = True

cdef uint32_t crc32(uint32_t crc, const uint8_t* p, size_t n) noexcept nogil:
    cdef uint32_t lo, hi
    if not tables_ready:
        build_tables()
    crc = ~crc
    while n and (<size_t>p & 7):
        crc = table[0][(crc ^ p[0]) & 0xFF] ^ (crc >> 8)
        p += 1
        n -= 1
    while n >= 8:
        lo = (<const uint32_t*>p)[0] ^ crc
        hi = (<const uint32_t*>p)[1]
        crc = (table[7][lo & 0xFF] ^ table[6][(lo >> 8) & 0xFF] ^
               table[5][(lo >> 16) & 0xFF] ^ table[4][lo >> 24] ^
               table[3][hi & 0xFF] ^ table[2][(hi >> 8) & 0xFF] ^
               table[1][(hi >> 16) & 0xFF] ^ table[0][hi >> 24])
        p += 8
        n -= 8
    while n:
        crc = table[0][(crc ^ p[0]) & 0xFF] ^ (crc >> 8)
        p += 1
        n -= 1
    return ~crc

cdef uint32_t djb2(const uint8_t* p, size_t n) noexcept nogil:
    cdef uint32_t h = 5381
    cdef size_t i
    for i in range(n):
        h = h * 33 + p[i]
    return h

# ---- RLE ---------------------------------------------------------------------
cdef enum:
    MAX_LITERAL = 128
    MIN_RUN = 3
    MAX_RUN = 130

cdef size_t rle_bound(size_t n) noexcept nogil:
    return n + (n + MAX_LITERAL - 1) / MAX_LITERAL

cdef size_t run_length(const uint8_t* src, size_t i, size_t n) noexcept nogil:
    cdef size_t r = 1
    while i + r < n and r < MAX_RUN and src[i + r] == src[i]:
        r += 1
    return r

cdef size_t flush_literals(const uint8_t* src, size_t start, size_t count, uint8_t* dst,
                           size_t o) noexcept nogil:
    cdef size_t k
    if count == 0:
        return o
    dst[o] = <uint8_t>(count - 1)
    for k in range(count):
        dst[o + 1 + k] = src[start + k]
    return o + 1 + count

cdef size_t rle_encode(const uint8_t* src, size_t n, uint8_t* dst) noexcept nogil:
    cdef size_t i = 0, o = 0, lit_start = 0, lit = 0, r
    while i < n:
        r = run_length(src, i, n)
        if r >= MIN_RUN:
            o = flush_literals(src, lit_start, lit, dst, o)
            lit = 0
            dst[o] = <uint8_t>(r + 125)
            dst[o + 1] = src[i]
            o += 2
            i += r
            continue
        if lit == 0:
            lit_start = i
        lit += 1
        i += 1
        if lit == MAX_LITERAL:
            o = flush_literals(src, lit_start, lit, dst, o)
            lit = 0
    return flush_literals(src, lit_start, lit, dst, o)

cdef int64_t rle_walk(const uint8_t* src, size_t n, uint8_t* dst, size_t cap) noexcept nogil:
    """Decode (dst != NULL) or just measure; the output length or < 0."""
    cdef size_t i = 0, o = 0, k, count
    cdef uint8_t c
    while i < n:
        c = src[i]
        i += 1
        if c < MAX_LITERAL:
            count = <size_t>c + 1
            if count > n - i:
                return RLE_MALFORMED
            if dst != NULL:
                if count > cap - o:
                    return RLE_TOO_LONG
                for k in range(count):
                    dst[o + k] = src[i + k]
            i += count
        else:
            count = <size_t>c - 125
            if i >= n:
                return RLE_MALFORMED
            if dst != NULL:
                if count > cap - o:
                    return RLE_TOO_LONG
                for k in range(count):
                    dst[o + k] = src[i]
            i += 1
        o += count
    return <int64_t>o

cdef int64_t rle_decoded_size(const uint8_t* src, size_t n) noexcept nogil:
    return rle_walk(src, n, NULL, 0)

cdef int64_t rle_decode(const uint8_t* src, size_t n, uint8_t* dst, size_t cap) noexcept nogil:
    return rle_walk(src, n, dst, cap)

# ---- XOR and int32 vectors ------------------------------------------------------
cdef void xor_bytes(const uint8_t* src, size_t n, uint64_t key, uint32_t keylen, uint8_t* dst) noexcept nogil:
    # A word at a time: keylen words of the repeated key cover 8 * keylen
    # bytes, a whole number of key periods, so word w uses pattern[w % keylen].
    cdef uint8_t pattern[64]
    cdef uint64_t words[8]
    cdef uint64_t w
    cdef size_t i = 0
    cdef uint32_t j, k = 0
    if keylen == 0 or keylen > 8:
        return
    for j in range(8 * keylen):
        pattern[j] = (key >> (8 * (j % keylen))) & 0xFF
    memcpy(words, pattern, 8 * keylen)
    if 8 % keylen == 0:                 # one word repeats: a loop the compiler can vectorize
        while i + 8 <= n:
            load_store(&w, src + i, 8)
            w ^= words[0]
            load_store(dst + i, &w, 8)
            i += 8
    while i + 8 <= n:
        load_store(&w, src + i, 8)          # unaligned-safe; the compiler makes it one load
        w ^= words[k]
        load_store(dst + i, &w, 8)
        i += 8
        k += 1
        if k == keylen:
            k = 0
    while i < n:
        dst[i] = src[i] ^ pattern[i % (8 * keylen)]
        i += 1

cdef void vec_add_i32(const int32_t* a, const int32_t* b, int32_t* out, size_t n) noexcept nogil:
    cdef size_t i
    for i in range(n):
        out[i] = <int32_t>(<uint32_t>a[i] + <uint32_t>b[i])

cdef void vec_mul_i32(const int32_t* a, const int32_t* b, int32_t* out, size_t n) noexcept nogil:
    cdef size_t i
    for i in range(n):
        out[i] = <int32_t>(<uint32_t>a[i] * <uint32_t>b[i])

cdef int64_t vec_dot_i32(const int32_t* a, const int32_t* b, size_t n) noexcept nogil:
    cdef uint64_t s = 0
    cdef size_t i
    for i in range(n):
        s += <uint64_t>(<int64_t>a[i] * <int64_t>b[i])
    return <int64_t>s

# ---- hosted entries ----------------------------------------------------------------
def py_djb2(bytes data):
    return djb2(<const uint8_t*><const char*>data, len(data))

def py_rle_encode(bytes data):
    cdef size_t n = len(data)
    cdef bytearray out = bytearray(rle_bound(n) + 1)
    cdef size_t m = rle_encode(<const uint8_t*><const char*>data, n, <uint8_t*><char*>out)
    return bytes(out[:m])

def py_rle_decode(bytes data, size_t cap=1 << 24):
    """The decoded bytes; ValueError for malformed input or output over cap."""
    cdef int64_t size = rle_decoded_size(<const uint8_t*><const char*>data, len(data))
    if size < 0:
        raise ValueError("malformed RLE")
    cdef bytearray out = bytearray(min(<size_t>size, cap) + 1)
    cdef int64_t m = rle_decode(<const uint8_t*><const char*>data, len(data), <uint8_t*><char*>out, cap)
    if m < 0:
        raise ValueError("malformed RLE" if m == RLE_MALFORMED else "output over the bound")
    return bytes(out[:m])

def py_xor(bytes data, uint64_t key, uint32_t keylen):
    cdef size_t n = len(data)
    if keylen < 1 or keylen > 8:
        raise ValueError("keylen must be 1..8")
    out = PyBytes_FromStringAndSize(NULL, n)       # fresh, so ours to fill
    xor_bytes(<const uint8_t*><const char*>data, n, key, keylen, <uint8_t*>PyBytes_AS_STRING(out))
    return out

def py_crc32(bytes data, uint32_t value=0):
    """Hosted entry: same contract as zlib.crc32(data, value)."""
    return crc32(value, <const uint8_t*><const char*>data, len(data))
