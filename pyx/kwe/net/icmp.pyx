# See icmp.pxd.
from libc.stdint cimport uint8_t, uint32_t
from kwe.net cimport inet, netif, ipv4

cdef enum:
    HEADER = 8
    ECHO_REPLY = 0
    ECHO_REQUEST = 8

cdef void input(uint32_t src, uint32_t dst, const uint8_t* p, uint32_t n) noexcept nogil:
    cdef uint8_t h[HEADER]
    if n < HEADER or inet.checksum(p, n) != 0:
        netif.drop(netif.DROP_ICMP_BAD)
        return
    netif.stats().icmp_in += 1
    if p[0] != ECHO_REQUEST or p[1] != 0 or dst != netif.config().ip:
        netif.drop(netif.DROP_ICMP_TYPE)    # a broadcast ping is not answered either
        return
    h[0] = ECHO_REPLY
    h[1] = 0
    h[4] = p[4]                             # identifier and sequence come back as they were
    h[5] = p[5]
    h[6] = p[6]
    h[7] = p[7]
    inet.put16(h + 2, 0)
    inet.put16(h + 2, inet.sum_fold(inet.sum_add(inet.sum_add(0, h, HEADER), p + HEADER, n - HEADER)))
    ipv4.output2(src, ipv4.PROTO_ICMP, h, HEADER, p + HEADER, n - HEADER)
