# Sockets: the ends of network conversations that processes hold.
#
# A socket belongs to the process that opened it (others get E_BADF) and
# is charged to its account: the socket itself (RES_SOCKETS, and its heap
# bytes), every datagram waiting in it (heap bytes) and a TCP connection's
# send and receive buffers (tcp_sndbuf=, tcp_rcvbuf=), so a process that
# never reads fills its own quota, not the kernel.  A connection accepted
# from a listener is charged to the listener's owner from the moment it is
# established (RES_SOCKETS and its buffers); one that would pass that
# owner's quota is refused with a RST (DROP_TCP_FULL).  UDP and TCP ports
# are apart: each may bind the same number once.  A socket's waiting
# datagrams are capped at udp_queue= bytes (default 256 KiB; past it they
# are dropped and counted, DROP_UDP_FULL).  When a process ends, its
# sockets close.  Socket ids carry a generation, so a closed id stays
# invalid after its slot is reused.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from kwe.mm.account cimport Account

cdef enum:
    EPHEMERAL_FIRST = 49152
    DEFAULT_UDP_QUEUE = 262144
    DEFAULT_TABLE = 4096

# Called when a socket may now be read (a datagram, data or a connection
# came, or it closed or failed), written (its send buffer has room again),
# or its connect ended -- so whoever waits on it can be answered.  Never in
# the middle of TCP's work on a segment.
ctypedef void (*Wake)(uint32_t sock) noexcept nogil

cdef void init() noexcept nogil     # once per machine: boot, or a hosted test's fresh one
cdef void set_wake(Wake w) noexcept nogil
# A new socket of `type` (abi.SOCK_UDP / SOCK_TCP) for pid; its id (> 0) or E_INVAL / E_QUOTA / E_NOMEM.
cdef int64_t open(uint32_t pid, Account* a, int type) noexcept nogil
# Bind to port (0: a free ephemeral one); the port, or E_EXIST / E_INVAL / E_BADF.
cdef int64_t bind(uint32_t pid, uint32_t sock, uint16_t port) noexcept nogil
# Send one datagram; bytes sent, or E_TOOBIG / E_BADF / E_AGAIN (not sent).
cdef int64_t udp_send(uint32_t pid, uint32_t sock, uint32_t ip, uint16_t port,
                      const uint8_t* data, uint32_t n) noexcept nogil
# The next waiting datagram (cut to cap; *full gets its real length), its
# sender in *ip and *port; E_AGAIN when none waits.
cdef int64_t udp_recv(uint32_t pid, uint32_t sock, uint8_t* out, uint32_t cap,
                      uint32_t* full, uint32_t* ip, uint16_t* port) noexcept nogil
# UDP: a datagram waits.  TCP: data, the end of the stream or an error is
# there, or (a listener) a connection waits for accept.
cdef bint readable(uint32_t sock) noexcept nogil
# TCP: the send buffer has room, or the connection ended (a waiting send
# should be tried again and will not wait); UDP and other sockets: True.
cdef bint writable(uint32_t sock) noexcept nogil
# Close: UDP's datagrams go; TCP starts the FIN handshake, which the kernel
# finishes (RST instead when unread data is left, as Linux does); a
# listener resets the connections nobody accepted.
cdef int64_t close(uint32_t pid, uint32_t sock) noexcept nogil
# pid ended: every socket it held closes; returns how many.
cdef uint32_t close_all(uint32_t pid) noexcept nogil
cdef uint32_t count() noexcept nogil
# abi.SOCK_UDP or SOCK_TCP for pid's socket, E_BADF if it is not pid's.
cdef int kind(uint32_t pid, uint32_t sock) noexcept nogil
# The port pid's socket was bound to by bind() (0: none, or not pid's).
cdef uint16_t bound_port(uint32_t pid, uint32_t sock) noexcept nogil
# TCP.  E_BADF: not pid's socket; E_INVAL: not TCP, or the wrong state.
# Listen on a bound TCP socket: at most `backlog` (1..1024; 0 is 1)
# established connections wait for accept, 2 x backlog half-open.
cdef int64_t listen(uint32_t pid, uint32_t sock, uint32_t backlog) noexcept nogil
# A new socket (owned by pid) for the oldest waiting connection, its peer
# in *peer_ip and *peer_port; E_AGAIN if none waits; E_QUOTA / E_NOMEM.
cdef int64_t accept(uint32_t pid, uint32_t sock, uint32_t* peer_ip, uint16_t* peer_port) noexcept nogil
# Start a connection (binding a free ephemeral port if unbound): E_AGAIN
# while it is in progress; called again (or once woken): 0 once
# established, or E_CONNREFUSED / E_TIMEDOUT / E_CONNRESET.  E_EXIST: that
# (port, address, port) is taken; E_INVAL: another peer than the first
# call's, or an address that cannot be one (0, broadcast, multicast);
# E_NOTSUP: our own address (there is no loopback).
cdef int64_t connect(uint32_t pid, uint32_t sock, uint32_t ip, uint16_t port) noexcept nogil
# Bytes taken into the send buffer (may be < n), E_AGAIN if none fit (or
# still connecting), E_NOTCONN, or the error that ended the connection.
cdef int64_t tcp_send(uint32_t pid, uint32_t sock, const uint8_t* data, uint32_t n, bint more) noexcept nogil
# Bytes read (at most cap), 0 at the end of the stream, E_AGAIN if nothing
# yet, E_NOTCONN, or the error that ended the connection (after the data).
cdef int64_t tcp_recv(uint32_t pid, uint32_t sock, uint8_t* out, uint32_t cap) noexcept nogil
# From udp.input: a checked datagram for port (dropped and counted if
# nobody bound it or its queue is full).
cdef void udp_deliver(uint16_t port, uint32_t src, uint16_t sport, const uint8_t* data, uint32_t n) noexcept nogil
