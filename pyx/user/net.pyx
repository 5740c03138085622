# See net.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from user cimport sdk
from kwe.common cimport abi, netnames
from kwe.common.abi cimport EventSlot, Completion, NetStat

cdef int64_t socket(int type) noexcept nogil:
    return sdk.call_value(sdk.event_args(abi.OP_NET_SOCKET, <uint64_t>type, 0))

cdef int64_t bind(uint64_t sock, uint16_t port) noexcept nogil:
    return sdk.call_value(sdk.event_args(abi.OP_NET_BIND, sock, port))

cdef int close(uint64_t sock) noexcept nogil:
    return <int>sdk.call_value(sdk.event_args(abi.OP_NET_CLOSE, sock, 0))

cdef int64_t send_to(uint64_t sock, uint32_t ip, uint16_t port, const void* data, uint32_t n) noexcept nogil:
    cdef EventSlot* e = sdk.event_args(abi.OP_NET_SEND, sock, (<uint64_t>ip << 16) | port)
    sdk.set_input(e, data, n)
    return sdk.call_value(e)

cdef int64_t recv_from(uint64_t sock, void* buf, uint32_t cap, uint32_t* ip, uint16_t* port) noexcept nogil:
    cdef EventSlot* e = sdk.event_args(abi.OP_NET_RECV, sock, cap)
    cdef Completion r
    sdk.set_output(e, buf, cap)
    if sdk.call(e, &r) < 0:
        return r.status
    ip[0] = <uint32_t>(r.value >> 16)
    port[0] = <uint16_t>r.value
    return r.length if r.length < cap else cap

cdef int listen(uint64_t sock, uint32_t backlog) noexcept nogil:
    return <int>sdk.call_value(sdk.event_args(abi.OP_NET_LISTEN, sock, backlog))


cdef int64_t tcp_listener(uint16_t port, uint32_t backlog) noexcept nogil:
    cdef int64_t sock = socket(abi.SOCK_TCP)
    cdef int64_t err = sock
    if sock >= 0:
        err = bind(<uint64_t>sock, port)
    if err >= 0:
        err = listen(<uint64_t>sock, backlog)
    return sock if err >= 0 else err

cdef int64_t accept(uint64_t sock, uint32_t* ip, uint16_t* port) noexcept nogil:
    cdef EventSlot* e = sdk.event_args(abi.OP_NET_ACCEPT, sock, 0)
    cdef uint64_t peer = 0
    cdef Completion r
    sdk.set_output(e, &peer, sizeof(peer))
    if sdk.call(e, &r) < 0:
        return r.status
    ip[0] = <uint32_t>(peer >> 16)
    port[0] = <uint16_t>peer
    return <int64_t>r.value

cdef int connect(uint64_t sock, uint32_t ip, uint16_t port) noexcept nogil:
    return <int>sdk.call_value(sdk.event_args(abi.OP_NET_CONNECT, sock, (<uint64_t>ip << 16) | port))

cdef int64_t send(uint64_t sock, const void* data, uint32_t n) noexcept nogil:
    cdef EventSlot* e = sdk.event_args(abi.OP_NET_SEND, sock, 0)
    sdk.set_input(e, data, n)
    return sdk.call_value(e)

cdef int64_t recv(uint64_t sock, void* buf, uint32_t cap) noexcept nogil:
    cdef EventSlot* e = sdk.event_args(abi.OP_NET_RECV, sock, cap)
    cdef Completion r
    sdk.set_output(e, buf, cap)
    if sdk.call(e, &r) < 0:
        return r.status
    return r.length if r.length < cap else cap

cdef int stat(NetStat* out) noexcept nogil:
    cdef EventSlot* e = sdk.event_args(abi.OP_NET_STAT, 0, 0)
    sdk.set_output(e, out, sizeof(NetStat))
    return <int>sdk.call_value(e)

cdef int show() noexcept nogil:
    cdef NetStat s
    cdef char ip[16]
    cdef char gw[16]
    cdef const char* link = b"no card"
    cdef int err = stat(&s), i
    if err < 0:
        return err
    if s.link_up:
        link = b"link up"
    netnames.format_ip(s.ip, ip)
    netnames.format_ip(s.gateway, gw)
    sdk.printf(b"net: %02x:%02x:%02x:", s.mac[0], s.mac[1], s.mac[2])
    sdk.printf(b"%02x:%02x:%02x %s, ", s.mac[3], s.mac[4], s.mac[5], <uint64_t>link)
    sdk.printf(b"%s/%u gateway %s, %u sockets\n", <uint64_t>ip, netnames.prefix_length(s.mask), <uint64_t>gw, s.sockets)
    sdk.printf(b"rx %u frames %u bytes; tx %u frames %u bytes\n", s.rx_frames, s.rx_bytes, s.tx_frames, s.tx_bytes)
    sdk.printf(b"in: arp %u ip %u icmp %u udp %u", s.arp_in, s.ip_in, s.icmp_in, s.udp_in)
    sdk.printf(b" tcp %u\ndropped:", s.tcp_in)
    for i in range(netnames.DROP_NAMES):
        if s.drops[i]:
            sdk.printf(b" %s %u", <uint64_t>netnames.drop_name(i), s.drops[i])
    sdk.puts(b"\n")
    return 0
