# See tcp.pxd.
from libc.stdint cimport uint8_t, uint32_t
from kwe.net cimport netif

cdef void input(uint32_t src, uint32_t dst, const uint8_t* p, uint32_t n) noexcept nogil:
    netif.stats().tcp_in += 1
    netif.drop(netif.DROP_TCP_NO_PORT)
