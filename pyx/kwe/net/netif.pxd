# The one network interface: the card under it, its addresses, and the
# counters every layer reports to.
#
# A card is attached as two functions (transmit one frame, take the next
# received one), so the stack runs the same over the e1000 in the kernel
# and over a test's frames hosted.  Received frames are handled by poll(),
# the kernel's deferred work after the card's interrupt: never inside the
# interrupt handler.
#
# Every frame that is not used is dropped and counted under the reason
# that stopped it (DROP_*): a malformed or hostile packet costs a counter,
# never a crash.  The configuration comes from the kernel command line:
# ip=A.B.C.D/PREFIX gw=A.B.C.D (default QEMU user networking's
# 10.0.2.15/24, gateway 10.0.2.2).
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t

ctypedef int (*TxFn)(const uint8_t* frame, uint32_t n) noexcept nogil      # 0: sent
ctypedef int (*RxFn)(uint8_t* buf, uint32_t cap) noexcept nogil             # length, 0: none

cdef enum:
    ETH_HEADER = 14
    ETH_MTU = 1500
    ETH_FRAME_MAX = 1514        # without the CRC, which the card adds and strips
    ETH_FRAME_MIN = 60

cdef enum:                      # why a frame or packet was dropped
    DROP_SHORT = 0              # shorter than its headers
    DROP_NOT_US = 1             # another host's MAC or IP address, or multicast
    DROP_ETHERTYPE = 2          # neither ARP nor IPv4 (VLAN tags included)
    DROP_ARP_BAD = 3            # an ARP packet that is not Ethernet/IPv4 or has an unknown op
    DROP_IP_HEADER = 4          # version, header length or total length impossible
    DROP_IP_CHECKSUM = 5
    DROP_IP_FRAGMENT = 6        # fragments are not reassembled
    DROP_IP_PROTOCOL = 7        # a protocol the stack does not speak
    DROP_IP_SOURCE = 8          # from a broadcast, multicast, loopback or our own address
    DROP_ICMP_BAD = 9           # short or bad checksum
    DROP_ICMP_TYPE = 10         # a type the stack does not answer
    DROP_UDP_BAD = 11           # length field impossible
    DROP_UDP_CHECKSUM = 12
    DROP_UDP_NO_PORT = 13       # nobody bound the port
    DROP_UDP_FULL = 14          # the socket's receive queue is at its limit
    DROP_TCP_BAD = 15           # header length, flags or checksum impossible
    DROP_TCP_NO_PORT = 16       # answered with a RST
    DROP_TCP_FULL = 17          # a listener's backlog or the connection table is full
    DROP_ARP_UNRESOLVED = 18    # an outgoing packet whose next hop never answered ARP
    DROP_NO_ROUTE = 19          # outgoing, with no address configured
    DROP_TX_FULL = 20           # the card's transmit ring was full
    DROP_TOO_BIG = 21           # a received frame longer than the MTU
    DROP_COUNT = 22

cdef struct NetStats:
    uint64_t rx_frames
    uint64_t rx_bytes
    uint64_t tx_frames
    uint64_t tx_bytes
    uint64_t arp_in
    uint64_t ip_in
    uint64_t icmp_in
    uint64_t udp_in
    uint64_t tcp_in
    uint64_t drops[DROP_COUNT]

cdef struct NetConfig:
    uint8_t mac[6]
    uint32_t ip                 # 0: not configured
    uint32_t mask
    uint32_t gateway

# Read ip= and gw= (False with a message if they are malformed: the
# defaults stay).  No card is attached yet.
cdef bint init() noexcept nogil
cdef void attach(const uint8_t* mac, TxFn tx, RxFn rx) noexcept nogil
cdef void detach() noexcept nogil
cdef bint up() noexcept nogil                       # a card is attached
cdef NetConfig* config() noexcept nogil
cdef uint32_t prefix_length() noexcept nogil         # of the mask
cdef bint configure(uint32_t ip, uint32_t prefix_len, uint32_t gateway) noexcept nogil
# Is ip ours, a broadcast we accept, or on our subnet?
cdef bint is_ours(uint32_t ip) noexcept nogil
cdef bint is_broadcast(uint32_t ip) noexcept nogil
cdef bint on_link(uint32_t ip) noexcept nogil
# Take every frame the card has (at most `budget`; 0: no limit) and run
# the stack's timers; returns how many frames were taken.
cdef uint32_t poll(uint32_t budget) noexcept nogil
# Hand one received frame to the stack (poll() does; hosted tests too).
cdef void input(const uint8_t* frame, uint32_t n) noexcept nogil
# Give a whole frame to the card; counted in tx_* or as DROP_TX_FULL.
cdef int transmit(const uint8_t* frame, uint32_t n) noexcept nogil
# Let go of what the stack holds for nobody (connections no socket holds,
# reset; packets waiting for ARP), so
# a check that every page came back after the processes ended can hold.
cdef void quiesce() noexcept nogil
cdef void drop(int reason) noexcept nogil
cdef NetStats* stats() noexcept nogil
cdef const char* drop_name(int reason) noexcept nogil
cdef uint64_t now_ms() noexcept nogil
