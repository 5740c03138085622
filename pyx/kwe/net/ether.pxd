# Ethernet II framing: which frames are ours, and the header on the way out.
from libc.stdint cimport uint8_t, uint16_t, uint32_t

cdef enum:
    TYPE_IPV4 = 0x0800
    TYPE_ARP = 0x0806

# A received frame: checked (length, destination, type), then handed to ARP or IPv4.
cdef void input(const uint8_t* frame, uint32_t n) noexcept nogil
# Send payload (at most netif.ETH_MTU bytes) to dst; -1 if it was not sent.
cdef int output(const uint8_t* dst, uint16_t ethertype, const uint8_t* payload, uint32_t n) noexcept nogil
cdef bint is_broadcast_mac(const uint8_t* mac) noexcept nogil
cdef const uint8_t* broadcast_mac() noexcept nogil
