# See ether.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t
from libc.string cimport memcpy, memset, memcmp
from kwe.net cimport inet, netif, arp, ipv4
from kwe.net.netif cimport ETH_HEADER, ETH_MTU, ETH_FRAME_MIN

cdef uint8_t frame_buf[netif.ETH_FRAME_MAX]
cdef uint8_t all_ones[6]

cdef bint is_broadcast_mac(const uint8_t* mac) noexcept nogil:
    return (mac[0] & mac[1] & mac[2] & mac[3] & mac[4] & mac[5]) == 0xFF

cdef const uint8_t* broadcast_mac() noexcept nogil:
    memset(all_ones, 0xFF, 6)
    return all_ones

cdef bint for_us(const uint8_t* dst) noexcept nogil:
    return memcmp(dst, netif.config().mac, 6) == 0 or is_broadcast_mac(dst)

cdef void input(const uint8_t* frame, uint32_t n) noexcept nogil:
    cdef uint16_t t
    if n < ETH_HEADER:
        netif.drop(netif.DROP_SHORT)
        return
    if not for_us(frame):
        netif.drop(netif.DROP_NOT_US)
        return
    t = inet.get16(frame + 12)
    if t == TYPE_ARP:
        arp.input(frame + ETH_HEADER, n - ETH_HEADER)
    elif t == TYPE_IPV4:
        ipv4.input(frame + ETH_HEADER, n - ETH_HEADER)
    else:
        netif.drop(netif.DROP_ETHERTYPE)

cdef int output(const uint8_t* dst, uint16_t ethertype, const uint8_t* payload, uint32_t n) noexcept nogil:
    cdef uint32_t total = ETH_HEADER + n
    if n > ETH_MTU:
        return -1
    memcpy(frame_buf, dst, 6)
    memcpy(frame_buf + 6, netif.config().mac, 6)
    inet.put16(frame_buf + 12, ethertype)
    memcpy(frame_buf + ETH_HEADER, payload, n)
    if total < ETH_FRAME_MIN:           # the card sends what it is given: pad here
        memset(frame_buf + total, 0, ETH_FRAME_MIN - total)
        total = ETH_FRAME_MIN
    return netif.transmit(frame_buf, total)
