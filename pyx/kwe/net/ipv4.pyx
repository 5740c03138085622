# See ipv4.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t
from libc.string cimport memcpy
from kwe.net cimport inet, netif, arp, icmp, udp, tcp

cdef enum:
    FLAG_DF = 0x4000
    FLAG_MF = 0x2000
    OFFSET_MASK = 0x1FFF

cdef uint8_t packet_buf[netif.ETH_MTU]
cdef uint16_t next_id

cdef bint bad_source(uint32_t src) noexcept nogil:
    cdef uint32_t top = src >> 24
    return (src == 0 or top == 127 or top >= 224 or netif.is_broadcast(src)
            or src == netif.config().ip)

cdef int header_length(const uint8_t* p, uint32_t n) noexcept nogil:
    """The header's length if the header is possible and intact, else -1 (counted)."""
    cdef uint32_t ihl, total
    if n < HEADER:
        netif.drop(netif.DROP_SHORT)
        return -1
    ihl = (p[0] & 0x0F) * 4U
    total = inet.get16(p + 2)
    if (p[0] >> 4) != 4 or ihl < HEADER or ihl > total or total > n:
        netif.drop(netif.DROP_IP_HEADER)
        return -1
    if inet.checksum(p, ihl) != 0:
        netif.drop(netif.DROP_IP_CHECKSUM)
        return -1
    return <int>ihl

cdef void input(const uint8_t* p, uint32_t n) noexcept nogil:
    cdef int ihl = header_length(p, n)
    cdef uint32_t src, dst, total
    if ihl < 0:
        return
    total = inet.get16(p + 2)               # the frame may carry padding after it
    src = inet.get32(p + 12)
    dst = inet.get32(p + 16)
    if inet.get16(p + 6) & (FLAG_MF | OFFSET_MASK):
        netif.drop(netif.DROP_IP_FRAGMENT)
    elif not netif.is_ours(dst):
        netif.drop(netif.DROP_NOT_US)
    elif bad_source(src):
        netif.drop(netif.DROP_IP_SOURCE)
    else:
        netif.stats().ip_in += 1
        deliver(p[9], src, dst, p + ihl, total - <uint32_t>ihl)

cdef void deliver(uint8_t proto, uint32_t src, uint32_t dst, const uint8_t* p, uint32_t n) noexcept nogil:
    if proto == PROTO_ICMP:
        icmp.input(src, dst, p, n)
    elif proto == PROTO_UDP:
        udp.input(src, dst, p, n)
    elif proto == PROTO_TCP:
        tcp.input(src, dst, p, n)
    else:
        netif.drop(netif.DROP_IP_PROTOCOL)

cdef uint32_t next_hop(uint32_t dst) noexcept nogil:
    cdef netif.NetConfig* c = netif.config()
    if netif.on_link(dst) or dst == 0xFFFFFFFFU:
        return dst
    return c.gateway

cdef int output(uint32_t dst, uint8_t proto, const uint8_t* payload, uint32_t n) noexcept nogil:
    return output2(dst, proto, payload, n, NULL, 0)

cdef int output2(uint32_t dst, uint8_t proto, const uint8_t* a, uint32_t na,
                 const uint8_t* b, uint32_t nb) noexcept nogil:
    global next_id
    cdef netif.NetConfig* c = netif.config()
    cdef uint32_t hop = next_hop(dst)
    cdef uint8_t* h = packet_buf
    if na + nb > PAYLOAD_MAX:
        return -2
    if c.ip == 0 or hop == 0:
        netif.drop(netif.DROP_NO_ROUTE)
        return -1
    next_id += 1
    h[0] = 0x45
    h[1] = 0
    inet.put16(h + 2, <uint16_t>(HEADER + na + nb))
    inet.put16(h + 4, next_id)
    inet.put16(h + 6, FLAG_DF)
    h[8] = DEFAULT_TTL
    h[9] = proto
    inet.put16(h + 10, 0)
    inet.put32(h + 12, c.ip)
    inet.put32(h + 16, dst)
    inet.put16(h + 10, inet.checksum(h, HEADER))
    memcpy(h + HEADER, a, na)
    if nb:
        memcpy(h + HEADER + na, b, nb)
    return arp.send_ipv4(hop, h, HEADER + na + nb)
