# TCP (RFC 793/9293).  Until the connection machinery lands every segment
# is counted as for a closed port.
from libc.stdint cimport uint8_t, uint32_t

cdef void input(uint32_t src, uint32_t dst, const uint8_t* p, uint32_t n) noexcept nogil
