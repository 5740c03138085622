# Sockets from a user program: each call is one Network-deck event
# (pyx/kwe/decks/deck_net.pyx, docs/net.md).  Negative returns are E_*
# codes.  Addresses are host-order IPv4 (10.0.2.2 is 0x0A000202); a
# sender or destination travels as address << 16 | port.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from kwe.common.abi cimport NetStat

cdef int64_t socket(int type) noexcept nogil                   # abi.SOCK_UDP / SOCK_TCP: socket id
cdef int64_t bind(uint64_t sock, uint16_t port) noexcept nogil # the port (0: a free one)
cdef int close(uint64_t sock) noexcept nogil
# One datagram to ip:port; bytes sent.
cdef int64_t send_to(uint64_t sock, uint32_t ip, uint16_t port, const void* data, uint32_t n) noexcept nogil
# Wait for one datagram: its length (cut to cap), its sender in *ip and *port.
cdef int64_t recv_from(uint64_t sock, void* buf, uint32_t cap, uint32_t* ip, uint16_t* port) noexcept nogil
# TCP.  listen on a bound socket; accept waits for a connection (its
# socket; its peer in *ip and *port); connect waits for the handshake.
cdef int listen(uint64_t sock, uint32_t backlog) noexcept nogil
# socket + bind + listen: the listening socket, or the E_* code of the step that failed.
cdef int64_t tcp_listener(uint16_t port, uint32_t backlog) noexcept nogil
cdef int64_t accept(uint64_t sock, uint32_t* ip, uint16_t* port) noexcept nogil
cdef int connect(uint64_t sock, uint32_t ip, uint16_t port) noexcept nogil
# All n bytes into the stream (the kernel takes them in pieces); n or an E_* code.
cdef int64_t send(uint64_t sock, const void* data, uint32_t n) noexcept nogil
# Wait for bytes: how many (at most cap), 0 at the end of the stream.
cdef int64_t recv(uint64_t sock, void* buf, uint32_t cap) noexcept nogil
cdef int stat(NetStat* out) noexcept nogil
# (Addresses as text: kwe.common.netnames.format_ip / parse_ip.)
# The interface, its counters and every non-zero drop counter by name, on
# the console (the shell's `net`); 0, or the E_* code OP_NET_STAT gave.
cdef int show() noexcept nogil
