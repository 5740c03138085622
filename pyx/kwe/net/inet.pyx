# See inet.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t

cdef uint32_t sum_add(uint32_t acc, const uint8_t* p, uint32_t n) noexcept nogil:
    cdef uint64_t s = acc
    cdef uint32_t i = 0
    while i + 1 < n:
        s += (<uint32_t>p[i] << 8) | p[i + 1]
        i += 2
    if i < n:
        s += <uint32_t>p[i] << 8            # an odd last byte is padded with zero
    while s >> 32:
        s = (s & 0xFFFFFFFFU) + (s >> 32)
    return <uint32_t>s

cdef uint16_t sum_fold(uint32_t acc) noexcept nogil:
    while acc >> 16:
        acc = (acc & 0xFFFF) + (acc >> 16)
    return <uint16_t>(~acc & 0xFFFF)

cdef uint16_t checksum(const uint8_t* p, uint32_t n) noexcept nogil:
    return sum_fold(sum_add(0, p, n))

cdef uint32_t pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint32_t n) noexcept nogil:
    cdef uint64_t s = (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF)
    s += proto + (n >> 16) + (n & 0xFFFF)
    return <uint32_t>((s & 0xFFFFFFFFU) + (s >> 32))

def py_checksum(bytes data):
    return checksum(data, <uint32_t>len(data))
