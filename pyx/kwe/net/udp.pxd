# UDP (RFC 768): checked datagrams to the socket bound to their port.
# A datagram with checksum 0 carries none (allowed over IPv4); one with a
# wrong checksum is dropped and counted.
from libc.stdint cimport uint8_t, uint16_t, uint32_t

cdef enum:
    HEADER = 8
    DATA_MAX = 1472             # one frame: ipv4.PAYLOAD_MAX - HEADER

cdef void input(uint32_t src, uint32_t dst, const uint8_t* p, uint32_t n) noexcept nogil
# 0 sent (or waiting for ARP), -1 dropped, -2 over DATA_MAX.
cdef int output(uint16_t sport, uint32_t dst, uint16_t dport, const uint8_t* data, uint32_t n) noexcept nogil
