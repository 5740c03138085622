# The Operations deck's algorithms (deck 1): pure functions over buffers,
# the same in the kernel and hosted.
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t, int32_t

cdef enum:
    RLE_OK = 0
    RLE_MALFORMED = -1          # truncated literal or run
    RLE_TOO_LONG = -2           # would exceed the output bound

# CRC-32/IEEE as zlib computes it: crc32(b, crc32(a)) == crc32(a + b),
# crc32(b"123456789") == 0xCBF43926.  Start with crc = 0.
cdef uint32_t crc32(uint32_t crc, const uint8_t* p, size_t n) noexcept nogil
# djb2 (Bernstein): h = 5381; h = h * 33 + byte, in 32 bits.
cdef uint32_t djb2(const uint8_t* p, size_t n) noexcept nogil

# RLE (docs/abi.md): a control byte c < 128 is followed by c + 1 literal
# bytes; c >= 128 by one byte repeated c - 125 times (3..130).
# Worst case: n + ceil(n / 128) bytes.
cdef size_t rle_bound(size_t n) noexcept nogil
cdef size_t rle_encode(const uint8_t* src, size_t n, uint8_t* dst) noexcept nogil
# Decoded length of src (checks it is well formed), or RLE_MALFORMED.
cdef int64_t rle_decoded_size(const uint8_t* src, size_t n) noexcept nogil
# Decode into dst, never writing more than cap bytes; the length or < 0.
cdef int64_t rle_decode(const uint8_t* src, size_t n, uint8_t* dst, size_t cap) noexcept nogil

# dst[i] = src[i] ^ key byte (i mod keylen); keylen 1..8 bytes of key, LSB first.
cdef void xor_bytes(const uint8_t* src, size_t n, uint64_t key, uint32_t keylen, uint8_t* dst) noexcept nogil

# int32 vectors of n elements (wrapping arithmetic).
cdef void vec_add_i32(const int32_t* a, const int32_t* b, int32_t* out, size_t n) noexcept nogil
cdef void vec_mul_i32(const int32_t* a, const int32_t* b, int32_t* out, size_t n) noexcept nogil
cdef int64_t vec_dot_i32(const int32_t* a, const int32_t* b, size_t n) noexcept nogil
