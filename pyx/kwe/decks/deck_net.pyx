# See deck_net.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t, int64_t
from libc.string cimport memcpy, memset
from kwe.common cimport abi
from kwe.common.abi cimport NetStat
from kwe.events cimport guide
from kwe.events.guide cimport Event
from kwe.tasks.proc cimport Process
from kwe.tasks cimport proc, caps
from kwe.net cimport netif, socket, udp

cdef enum:
    PRIVILEGED_PORTS = 1024     # binding below this needs CAP_SYSTEM (the system's services)
    POLL_BUDGET = 256           # frames one deferred-work pass takes (the rest wait for the next)
    RECV_MAX = 65536            # bytes one OP_NET_RECV returns at most

cdef Event* waiting = NULL      # held events, oldest first
cdef bint woken = False

cdef void on_wake(uint32_t sock) noexcept nogil:
    global woken
    woken = True

cdef void init() noexcept nogil:
    netif.init()
    socket.init()
    socket.set_wake(on_wake)

# ---- operations: DECK_DONE with e.status/value/output set, or DECK_HELD ------------------
cdef int recv_udp(Event* e) noexcept nogil:
    cdef uint64_t cap = e.h.arg[1]
    cdef uint8_t* out
    cdef uint32_t full = 0, ip = 0
    cdef uint16_t port = 0
    cdef int64_t r
    if not socket.readable(<uint32_t>e.h.arg[0]):
        r = socket.udp_recv(e.pid, <uint32_t>e.h.arg[0], NULL, 0, &full, &ip, &port)
        if r == abi.E_AGAIN:
            return guide.DECK_HELD
        e.status = <int32_t>r
        return guide.DECK_DONE
    out = <uint8_t*>guide.alloc_for(e, udp.DATA_MAX)
    if out == NULL:
        e.status = abi.E_NOMEM
        return guide.DECK_DONE
    r = socket.udp_recv(e.pid, <uint32_t>e.h.arg[0], out, <uint32_t>cap, &full, &ip, &port)
    if r < 0:
        e.status = <int32_t>r                   # readable, but not the caller's socket
    guide.set_output(e, out, <uint32_t>r if r > 0 else 0)
    e.value = (<uint64_t>ip << 16) | port       # the sender
    return guide.DECK_DONE

cdef int recv_tcp(Event* e) noexcept nogil:
    """What the stream has, up to arg[1] bytes; empty (value 0) at its end."""
    cdef uint32_t sock = <uint32_t>e.h.arg[0]
    cdef uint8_t* out
    cdef int64_t r
    cdef uint8_t probe
    if not socket.readable(sock):               # nothing yet -- or never will be (E_NOTCONN)
        r = socket.tcp_recv(e.pid, sock, &probe, 1)  # takes nothing: nothing is there
        if r == abi.E_AGAIN:
            return guide.DECK_HELD
        result(e, r)
        return guide.DECK_DONE
    out = <uint8_t*>guide.alloc_for(e, e.h.arg[1])
    if out == NULL:
        e.status = abi.E_NOMEM
        return guide.DECK_DONE
    r = socket.tcp_recv(e.pid, sock, out, <uint32_t>e.h.arg[1])
    guide.set_output(e, out, <uint32_t>r if r > 0 else 0)
    if r == abi.E_AGAIN:
        return guide.DECK_HELD
    result(e, r)
    return guide.DECK_DONE

cdef int recv_all(Event* e, uint32_t want) noexcept nogil:
    """RECV_ALL: exactly `want` bytes, gathered over wakes in the event's
    own output (its length is the progress); E_CONNRESET if the stream ends first."""
    cdef uint32_t sock = <uint32_t>e.h.arg[0]
    cdef uint8_t* out = e.output
    cdef int64_t r
    if out == NULL or out == <uint8_t*>&e.scalar:
        out = <uint8_t*>guide.alloc_for(e, want)
        if out == NULL:
            e.status = abi.E_NOMEM
            return guide.DECK_DONE
        guide.set_output(e, out, 0)
    while e.output_len < want:
        r = socket.tcp_recv(e.pid, sock, out + e.output_len, want - e.output_len)
        if r == abi.E_AGAIN:
            return guide.DECK_HELD
        if r <= 0:
            e.status = <int32_t>r if r < 0 else abi.E_CONNRESET
            return guide.DECK_DONE
        e.output_len += <uint32_t>r
    e.value = want
    return guide.DECK_DONE

cdef int recv(Event* e) noexcept nogil:
    cdef int k = socket.kind(e.pid, <uint32_t>e.h.arg[0])
    cdef uint64_t want = e.h.arg[1] & ~(<uint64_t>abi.RECV_ALL)
    if want == 0 or want > RECV_MAX:
        e.status = abi.E_RANGE
        return guide.DECK_DONE
    if e.h.arg[1] & abi.RECV_ALL:
        if k != abi.SOCK_TCP:
            e.status = abi.E_INVAL if k > 0 else k
            return guide.DECK_DONE
        return recv_all(e, <uint32_t>want)
    if k == abi.SOCK_TCP:
        return recv_tcp(e)
    return recv_udp(e)

cdef int send_tcp(Event* e) noexcept nogil:
    """The whole input goes into the stream, in as many pieces as the send
    buffer takes: e.value counts what went so far (the result)."""
    cdef int64_t r
    while e.value < e.input_len:
        r = socket.tcp_send(e.pid, <uint32_t>e.h.arg[0], e.input + e.value,
                            e.input_len - <uint32_t>e.value, (e.h.arg[1] & abi.SEND_MORE) != 0)
        if r == abi.E_AGAIN:
            return guide.DECK_HELD
        if r < 0:
            e.status = <int32_t>r
            return guide.DECK_DONE
        e.value += <uint64_t>r
    return guide.DECK_DONE

cdef bint may_send_out(Event* e) noexcept nogil:
    """A datagram from a socket the caller never bound is connecting out:
    it needs OP_NET_CONNECT (a bound one needed OP_NET_BIND)."""
    cdef Process* p = proc.find(e.pid)
    return socket.bound_port(e.pid, <uint32_t>e.h.arg[0]) != 0 or (
        p != NULL and caps.op_allowed(&p.caps, abi.OP_NET_CONNECT))

cdef int send(Event* e) noexcept nogil:
    cdef int64_t r
    if socket.kind(e.pid, <uint32_t>e.h.arg[0]) == abi.SOCK_TCP:
        return send_tcp(e)
    if not may_send_out(e):
        e.status = caps.deny(e.pid, abi.OP_NET_CONNECT, e.h.arg[1])
        return guide.DECK_DONE
    if e.h.arg[1] >> 48:
        e.status = abi.E_RANGE
        return guide.DECK_DONE
    r = socket.udp_send(e.pid, <uint32_t>e.h.arg[0], <uint32_t>(e.h.arg[1] >> 16),
                        <uint16_t>e.h.arg[1], e.input, e.input_len)
    result(e, r)
    return guide.DECK_DONE

cdef int accept(Event* e) noexcept nogil:
    """value = the connection's socket; output = its peer (address << 16 | port, 8 bytes)."""
    cdef uint32_t ip = 0
    cdef uint16_t port = 0
    cdef int64_t r = socket.accept(e.pid, <uint32_t>e.h.arg[0], &ip, &port)
    if r == abi.E_AGAIN:
        return guide.DECK_HELD
    if r >= 0:
        guide.set_value(e, (<uint64_t>ip << 16) | port, 8)
    result(e, r)
    return guide.DECK_DONE

cdef int connect(Event* e) noexcept nogil:
    cdef int64_t r
    if e.h.arg[1] >> 48:
        e.status = abi.E_RANGE
        return guide.DECK_DONE
    r = socket.connect(e.pid, <uint32_t>e.h.arg[0], <uint32_t>(e.h.arg[1] >> 16), <uint16_t>e.h.arg[1])
    if r == abi.E_AGAIN:
        return guide.DECK_HELD
    result(e, r)
    return guide.DECK_DONE

cdef void result(Event* e, int64_t r) noexcept nogil:
    if r < 0:
        e.status = <int32_t>r
    else:
        e.value = <uint64_t>r

cdef void stat(Event* e) noexcept nogil:
    cdef NetStat* s = <NetStat*>guide.alloc_for(e, sizeof(NetStat))
    cdef netif.NetStats* c = netif.stats()
    cdef netif.NetConfig* cfg = netif.config()
    cdef int i
    if s == NULL:
        e.status = abi.E_NOMEM
        return
    memset(s, 0, sizeof(NetStat))
    memcpy(s.mac, cfg.mac, 6)
    s.link_up = netif.up()
    s.ip, s.mask, s.gateway = cfg.ip, cfg.mask, cfg.gateway
    s.sockets = socket.count()
    s.rx_frames, s.rx_bytes, s.tx_frames, s.tx_bytes = c.rx_frames, c.rx_bytes, c.tx_frames, c.tx_bytes
    s.arp_in, s.ip_in, s.icmp_in, s.udp_in, s.tcp_in = c.arp_in, c.ip_in, c.icmp_in, c.udp_in, c.tcp_in
    for i in range(netif.DROP_COUNT if netif.DROP_COUNT < abi.NET_DROP_SLOTS else abi.NET_DROP_SLOTS):
        s.drops[i] = c.drops[i]
    guide.set_output(e, <uint8_t*>s, sizeof(NetStat))

cdef int serve(Event* e) noexcept nogil:
    cdef uint16_t op = e.h.opcode
    cdef uint32_t sock = <uint32_t>e.h.arg[0]
    if e.h.arg[0] > 0xFFFFFFFFU and op != abi.OP_NET_SOCKET and op != abi.OP_NET_STAT:
        e.status = abi.E_BADF
    elif op == abi.OP_NET_SOCKET:
        result(e, socket.open(e.pid, e.account, <int>e.h.arg[0]) if e.h.arg[0] < 16 else abi.E_INVAL)
    elif op == abi.OP_NET_BIND:
        bind(e)
    elif op == abi.OP_NET_LISTEN:
        result(e, socket.listen(e.pid, sock, <uint32_t>e.h.arg[1]) if e.h.arg[1] <= 0xFFFFFFFFU else abi.E_RANGE)
    elif op == abi.OP_NET_ACCEPT:
        return accept(e)
    elif op == abi.OP_NET_CONNECT:
        return connect(e)
    elif op == abi.OP_NET_SEND:
        return send(e)
    elif op == abi.OP_NET_RECV:
        return recv(e)
    elif op == abi.OP_NET_CLOSE:
        result(e, socket.close(e.pid, sock))
    elif op == abi.OP_NET_STAT:
        stat(e)
    else:
        e.status = abi.E_BADOP
    return guide.DECK_DONE

cdef void bind(Event* e) noexcept nogil:
    cdef Process* p = proc.find(e.pid)
    if e.h.arg[1] > 0xFFFF:
        e.status = abi.E_RANGE
    elif 0 < e.h.arg[1] < PRIVILEGED_PORTS and (p == NULL or not caps.system(&p.caps)):
        e.status = caps.deny(e.pid, e.h.opcode, e.h.arg[1])
    else:
        result(e, socket.bind(e.pid, <uint32_t>e.h.arg[0], <uint16_t>e.h.arg[1]))

cdef void hold(Event* e) noexcept nogil:
    cdef Event** link = &waiting
    while link[0] != NULL:
        link = &link[0].next
    e.next = NULL
    link[0] = e

cdef int handle(Event* e) noexcept nogil:
    if guide.opcode_deck(e.h.opcode) != abi.DECK_NETWORK:
        return guide.DECK_DONE
    if serve(e) == guide.DECK_HELD:
        hold(e)
        return guide.DECK_HELD
    return guide.DECK_DONE

cdef void retry_waiting() noexcept nogil:
    """Serve each held event again: those that are done now resume."""
    global woken
    cdef Event** link = &waiting
    cdef Event* e
    woken = False
    while link[0] != NULL:
        e = link[0]
        if serve(e) == guide.DECK_HELD:
            link = &e.next
        else:
            link[0] = e.next
            e.next = NULL
            guide.resume(e)

cdef bint poll() noexcept nogil:
    cdef bint more = netif.poll(POLL_BUDGET) == POLL_BUDGET    # frames may still wait in the card
    if woken:
        retry_waiting()
    return more

cdef void drop_process(Process* p) noexcept nogil:
    guide.release_held(&waiting, p)
    socket.close_all(p.pid)

def py_poll():
    poll()
