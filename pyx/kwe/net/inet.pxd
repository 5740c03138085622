# Network byte order and the Internet checksum (RFC 1071).  Addresses are
# kept in host order (10.0.2.15 is 0x0A00020F); only the wire is
# big-endian, and only these functions touch it.  (Addresses as text are
# kwe.common.netnames': programs print them too.)
from libc.stdint cimport uint8_t, uint16_t, uint32_t

cdef inline uint16_t get16(const uint8_t* p) noexcept nogil:
    return <uint16_t>((p[0] << 8) | p[1])

cdef inline uint32_t get32(const uint8_t* p) noexcept nogil:
    return (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | p[3]

cdef inline void put16(uint8_t* p, uint16_t v) noexcept nogil:
    p[0] = <uint8_t>(v >> 8)
    p[1] = <uint8_t>v

cdef inline void put32(uint8_t* p, uint32_t v) noexcept nogil:
    p[0] = <uint8_t>(v >> 24)
    p[1] = <uint8_t>(v >> 16)
    p[2] = <uint8_t>(v >> 8)
    p[3] = <uint8_t>v

# The ones'-complement sum of n bytes added to acc (not yet folded), so a
# header and its payload can be summed apart.  n may be odd.
cdef uint32_t sum_add(uint32_t acc, const uint8_t* p, uint32_t n) noexcept nogil
# acc folded to 16 bits and complemented: the value a checksum field holds.
# A received block whose sum includes its checksum field folds to 0.
cdef uint16_t sum_fold(uint32_t acc) noexcept nogil
cdef uint16_t checksum(const uint8_t* p, uint32_t n) noexcept nogil
# The TCP/UDP pseudo-header's sum (RFC 768/793): addresses, protocol, length.
cdef uint32_t pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint32_t n) noexcept nogil
