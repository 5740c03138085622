# TCP (RFC 9293, with RFC 6298 timers, RFC 5681 congestion control and
# fast retransmit, RFC 5961's checks on RST and SYN): connections, each a
# Tcb, found by (local port, remote address, remote port) in a hash table;
# listeners by their port alone.  docs/net.md, TCP, says what it does and
# what it does not (no window scaling, SACK, timestamps, Nagle or
# delayed ACKs).
#
# Who holds a Tcb: the socket whose id is in `sock`, or -- a listener's
# child not yet accepted (`listener` set), or a connection the application
# closed while it still has its FIN handshake or TIME_WAIT ahead (ORPHAN) --
# the kernel.  What the application holds is charged to its account (the
# buffers, and RES_SOCKETS through its socket); when it lets go, the
# connection moves to the kernel's memory, so the account is back at zero
# at once.  The kernel's share is bounded by tcp_conns= (every Tcb) and
# tcp_synq= (half-open connections).
#
# Every segment is checked before any of it is read: length, data offset,
# checksum, flags, options.  A bad one is dropped and counted
# (netif.DROP_TCP_BAD), never answered.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t, int64_t
from kwe.common.list cimport ListNode, List
from kwe.lib.hashmap cimport Entry
from kwe.mm.account cimport Account

cdef enum:
    HEADER = 20
    MSS = 1460                  # ipv4.PAYLOAD_MAX - HEADER: what we take and offer
    MSS_DEFAULT = 536           # a peer that sends no MSS option
    MSS_MIN = 64                # a smaller MSS option is raised to this
    WINDOW_MAX = 65535          # no window scaling
    OOO_MAX = 4                 # out-of-order ranges kept (inside the receive window)
    WAKES_MAX = 16

cdef enum:                      # states (RFC 9293 names)
    CLOSED = 0
    LISTEN = 1
    SYN_SENT = 2
    SYN_RECEIVED = 3
    ESTABLISHED = 4
    FIN_WAIT_1 = 5
    FIN_WAIT_2 = 6
    CLOSE_WAIT = 7
    CLOSING = 8
    LAST_ACK = 9
    TIME_WAIT = 10
    STATE_COUNT = 11

cdef enum:                      # header flags
    F_FIN = 0x01
    F_SYN = 0x02
    F_RST = 0x04
    F_PSH = 0x08
    F_ACK = 0x10
    F_URG = 0x20

cdef enum:                      # Tcb.flags
    T_FIN_QUEUED = 0x01         # the application closed: a FIN follows the last byte
    T_FIN_ACKED = 0x02
    T_FIN_IN = 0x04             # the peer's FIN is in: end of stream after the data
    T_FIN_LATE = 0x08           # a FIN came out of order: rcv_fin is its sequence
    T_TIMING = 0x10             # measuring the round trip of rtt_seq
    T_HAVE_RTT = 0x20           # srtt and rttvar hold a measurement
    T_RECOVERY = 0x40           # in fast recovery, until `recover` is acknowledged
    T_ORPHAN = 0x80             # the application let go: the kernel's until it ends
    T_CHARGED = 0x100           # holds one RES_SOCKETS of `account` (an unaccepted child)
    T_HASHED = 0x200            # in the demultiplexing table

cdef struct Ring:               # bytes in a circular buffer
    uint8_t* buf                # NULL while the connection has no buffer
    uint32_t cap
    uint32_t head               # where the first byte is
    uint32_t len

cdef struct Range:              # received out of order: [start, end) in sequence space
    uint32_t start
    uint32_t end

cdef struct Tcb

cdef struct Link:               # a Tcb on a list where it is not the first member
    ListNode node
    Tcb* tcb

cdef struct Tcb:
    ListNode timed              # first: on the list of Tcbs with a timer armed
    Link q                      # its listener's half-open or accept queue, or TIME_WAIT's
    List* qlist                 # which of those it is on (NULL: none)
    Link every                  # on the list of all Tcbs (checks and hosted tests)
    Entry hashed                # in the demultiplexing table
    uint8_t state
    uint16_t flags
    uint16_t lport
    uint16_t rport
    uint32_t rip
    uint32_t sock               # the socket to wake; 0: none
    Account* account            # charged for its buffers (NULL: the kernel)
    int32_t error               # why it ended: abi.E_* (0: it has not)
    # sending
    uint32_t iss
    uint32_t snd_una            # oldest unacknowledged
    uint32_t snd_nxt            # next to send (goes back on a timeout)
    uint32_t snd_max            # highest sent
    uint32_t snd_wnd            # the peer's window
    uint32_t snd_wl1
    uint32_t snd_wl2
    uint32_t cwnd
    uint32_t ssthresh
    uint32_t recover
    uint16_t mss                # segment size to the peer: min(its MSS, ours)
    uint8_t dupacks
    uint8_t retries             # timeouts in a row (or zero-window probes of an orphan)
    uint8_t backoff             # the RTO is doubled this many times
    # receiving
    uint32_t irs
    uint32_t rcv_nxt
    uint32_t rcv_adv            # right edge of the window last advertised
    uint32_t rcv_fin            # T_FIN_LATE: the FIN's sequence number
    uint8_t nooo
    Range ooo[OOO_MAX]
    Ring snd                    # from snd_una: sent and not acknowledged, then unsent
    Ring rcv                    # in order and not read; out-of-order bytes after it
    # timers (ms since boot; 0: off)
    uint32_t srtt
    uint32_t rttvar
    uint32_t rto                # before backoff
    uint32_t rtt_seq
    uint64_t rtt_start
    uint64_t rexmt_at
    uint64_t persist_at
    uint64_t timeout_at         # TIME_WAIT's end, or an orphan's FIN_WAIT_2 limit
    uint64_t delack_at          # a delayed ACK is due then (0: none waits)
    # a listener's children, and a child's listener
    Tcb* listener
    List half_open
    List accepted               # established, waiting for accept()
    uint32_t backlog

# Sequence numbers compare modulo 2^32.
cdef inline bint seq_lt(uint32_t a, uint32_t b) noexcept nogil:
    return <int32_t>(a - b) < 0

cdef inline bint seq_le(uint32_t a, uint32_t b) noexcept nogil:
    return <int32_t>(a - b) <= 0

cdef inline bint seq_gt(uint32_t a, uint32_t b) noexcept nogil:
    return <int32_t>(a - b) > 0

cdef inline bint seq_ge(uint32_t a, uint32_t b) noexcept nogil:
    return <int32_t>(a - b) >= 0

# Called with the socket id of a Tcb that became readable or writable, or
# whose connect ended; after the segment or timer that caused it is done.
ctypedef void (*Notify)(uint32_t sock) noexcept nogil

# Read tcp_* from the command line; no connections yet.  Once per machine:
# boot, or a hosted test's fresh one (socket.init calls it).
cdef void init() noexcept nogil
cdef void set_notify(Notify f) noexcept nogil
# A segment from ipv4 (dst is one of ours; n bytes from the TCP header on).
cdef void input(uint32_t src, uint32_t dst, const uint8_t* p, uint32_t n) noexcept nogil
# Retransmissions, probes, TIME_WAIT: from netif.poll.
cdef void tick(uint64_t now) noexcept nogil

# For the socket layer.  Each returns NULL and sets *err (abi.E_*) when it cannot.
cdef Tcb* listen(uint16_t port, uint32_t backlog, Account* a, uint32_t sock, int64_t* err) noexcept nogil
cdef Tcb* connect(uint16_t lport, uint32_t ip, uint16_t port, Account* a, uint32_t sock,
                  int64_t* err) noexcept nogil
# Is (lport, ip, port) taken, by a connection or a TIME_WAIT?
cdef bint in_use(uint16_t lport, uint32_t ip, uint16_t port) noexcept nogil
# The oldest established child of a listener, now the socket's (NULL: none yet).
cdef Tcb* accept(Tcb* l, uint32_t sock) noexcept nogil
cdef bint pending(Tcb* l) noexcept nogil
# 0 once established; E_AGAIN while connecting; the error if it failed.
cdef int64_t connect_status(Tcb* t) noexcept nogil
# more: the caller sends more at once (a response's head, then its body):
# less than a segment waits in the buffer for it, or for the close.
cdef int64_t send(Tcb* t, const uint8_t* data, uint32_t n, bint more) noexcept nogil
cdef int64_t recv(Tcb* t, uint8_t* out, uint32_t cap) noexcept nogil
cdef bint readable(Tcb* t) noexcept nogil
cdef bint writable(Tcb* t) noexcept nogil
# The application lets go (close, or its process ended): FIN (or RST, when
# unread data is left, as Linux does) and the kernel finishes the
# connection; a listener's children are reset.  t must not be used after.
cdef void release(Tcb* t) noexcept nogil
cdef uint32_t count() noexcept nogil
# Reset and free every connection no socket holds (orphans finishing their
# FIN, TIME_WAITs); returns how many.  netif.quiesce, once no process is left.
cdef uint32_t abort_unheld() noexcept nogil
# Walk every Tcb and the tables; the number of inconsistencies found.
cdef uint32_t check() noexcept nogil
