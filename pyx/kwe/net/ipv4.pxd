# IPv4 (RFC 791): checks every received header before anything reads past
# it, and sends packets to the next hop (on-link, or the gateway).
# Fragments are neither reassembled nor sent: received ones are dropped and
# counted (DROP_IP_FRAGMENT), and what is sent fits one frame with DF set
# (TCP keeps to its MSS; a UDP datagram over UDP_MAX is refused).
from libc.stdint cimport uint8_t, uint32_t

cdef enum:
    HEADER = 20
    PROTO_ICMP = 1
    PROTO_TCP = 6
    PROTO_UDP = 17
    PAYLOAD_MAX = 1480          # ETH_MTU - HEADER
    DEFAULT_TTL = 64

cdef void input(const uint8_t* p, uint32_t n) noexcept nogil
# Send payload to dst; 0 if it went (or waits for ARP), -1 if dropped
# (counted), -2 if it is over PAYLOAD_MAX.
cdef int output(uint32_t dst, uint8_t proto, const uint8_t* payload, uint32_t n) noexcept nogil
# The same with the payload in two pieces (a transport header and its data),
# so callers need not copy them together first.
cdef int output2(uint32_t dst, uint8_t proto, const uint8_t* a, uint32_t na,
                 const uint8_t* b, uint32_t nb) noexcept nogil
