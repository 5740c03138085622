# The Operations deck's algorithms (deck 1): pure functions over buffers.
from libc.stdint cimport uint8_t, uint32_t

# CRC-32/IEEE as zlib computes it: crc32(b, crc32(a)) == crc32(a + b),
# crc32(b"123456789") == 0xCBF43926.  Start with crc = 0.
cdef uint32_t crc32(uint32_t crc, const uint8_t* p, size_t n) noexcept nogil
