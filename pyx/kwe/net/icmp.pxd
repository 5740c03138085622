# ICMP (RFC 792): echo requests answered; everything else counted.
from libc.stdint cimport uint8_t, uint32_t

cdef void input(uint32_t src, uint32_t dst, const uint8_t* p, uint32_t n) noexcept nogil
