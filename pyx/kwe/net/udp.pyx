# See udp.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t
from kwe.net cimport inet, netif, ipv4, socket

cdef void input(uint32_t src, uint32_t dst, const uint8_t* p, uint32_t n) noexcept nogil:
    cdef uint32_t length
    if n < HEADER:
        netif.drop(netif.DROP_SHORT)
        return
    length = inet.get16(p + 4)
    if length < HEADER or length > n:
        netif.drop(netif.DROP_UDP_BAD)
        return
    if inet.get16(p + 6) != 0 and inet.sum_fold(inet.sum_add(
            inet.pseudo_sum(src, dst, ipv4.PROTO_UDP, length), p, length)) != 0:
        netif.drop(netif.DROP_UDP_CHECKSUM)
        return
    netif.stats().udp_in += 1
    socket.udp_deliver(inet.get16(p + 2), src, inet.get16(p), p + HEADER, length - HEADER)

cdef int output(uint16_t sport, uint32_t dst, uint16_t dport, const uint8_t* data, uint32_t n) noexcept nogil:
    cdef uint8_t h[HEADER]
    cdef uint16_t sum
    if n > DATA_MAX:
        return -2
    inet.put16(h, sport)
    inet.put16(h + 2, dport)
    inet.put16(h + 4, <uint16_t>(HEADER + n))
    inet.put16(h + 6, 0)
    sum = inet.sum_fold(inet.sum_add(inet.sum_add(
        inet.pseudo_sum(netif.config().ip, dst, ipv4.PROTO_UDP, HEADER + n), h, HEADER), data, n))
    inet.put16(h + 6, sum if sum != 0 else 0xFFFF)   # 0 would mean "no checksum"
    return ipv4.output2(dst, ipv4.PROTO_UDP, h, HEADER, data, n)
