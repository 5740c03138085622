"""The Network deck through the Guide: sockets as events from a local
process, frames in and out through the hosted stack."""
import struct
from engine import start, settle, Local
from netutil import Ether, UDP, ICMP, Raw, raw, learn_peer, to_me, drops, ip_int, PEER_IP
from kwe.net import netif
from kwe.decks import deck_net
from kwe.events import guide
from kwecli.abi import *          # noqa: F403

PEER = ip_int(PEER_IP)


def net_process():
    p = start()
    netif.py_attach()
    learn_peer()
    return p


def run():
    """What the kernel's deferred work does; events may stay held."""
    deck_net.py_poll()
    guide.py_run()


def arrive(frame):
    netif.py_input(raw(frame))
    run()


def udp_socket(p, port):
    s = p.call(OP_NET_SOCKET, args=(SOCK_UDP,))
    assert s.status == E_OK and s.deck == DECK_EXECUTION
    assert p.call(OP_NET_BIND, args=(s.value, port)).value == port
    return s.value


def test_udp_send_and_recv_as_events():
    p = net_process()
    s = udp_socket(p, 7)
    arrive(to_me(UDP(sport=4444, dport=7) / b"hello deck"))
    r = p.call(OP_NET_RECV, args=(s, 2048))
    assert (r.status, r.output, r.value) == (E_OK, b"hello deck", PEER << 16 | 4444)
    r = p.call(OP_NET_SEND, args=(s, PEER << 16 | 4444), payload=b"back")
    assert (r.status, r.value) == (E_OK, 4)
    f = Ether(netif.py_sent()[-1])
    assert (f[UDP].sport, f[UDP].dport, f[Raw].load) == (7, 4444, b"back")


def test_a_recv_waits_until_a_datagram_comes():
    p = net_process()
    s = udp_socket(p, 7)
    eid = p.push(OP_NET_RECV, args=(s, 2048))
    assert p.submit() == 1
    run()
    assert p.results() == []                       # held: nothing came yet
    arrive(to_me(UDP(sport=1, dport=7) / b"late"))
    (r,) = p.results()
    assert (r.event_id, r.status, r.length) == (eid, E_OK, 4)


def test_closing_a_socket_ends_its_waiting_recv():
    p = net_process()
    s = udp_socket(p, 7)
    eid = p.push(OP_NET_RECV, args=(s, 64))
    p.submit()
    run()
    assert p.call(OP_NET_CLOSE, args=(s,), now=True).status == E_OK
    run()
    waited = [r for r in p.results() + p.others if r.event_id == eid]
    assert [r.status for r in waited] == [E_BADF]


def test_bad_arguments_are_refused_by_name():
    p = net_process()
    s = udp_socket(p, 7)
    assert p.call(OP_NET_SOCKET, args=(9,)).status == E_INVAL
    assert p.call(OP_NET_SOCKET, args=(1 << 40,)).status == E_INVAL
    assert p.call(OP_NET_BIND, args=(s, 70000)).status == E_RANGE
    assert p.call(OP_NET_BIND, args=(12345, 80)).status == E_BADF
    assert p.call(OP_NET_RECV, args=(s, 0)).status == E_RANGE
    assert p.call(OP_NET_SEND, args=(s, 1 << 50), payload=b"x").status == E_RANGE
    big = bytes(1473)
    assert p.call(OP_NET_SEND, args=(s, PEER << 16 | 9), input_ptr=(p.buffer(big), len(big))).status == E_TOOBIG
    assert p.call(OP_NET_SEND, args=(1 << 33, 0), payload=b"x").status == E_BADF
    q = Local()
    assert q.call(OP_NET_RECV, args=(s, 64)).status == E_BADF          # not its socket


def test_net_stat_reports_the_interface_and_its_counters():
    p = net_process()
    arrive(to_me(UDP(sport=1, dport=9) / b"nobody"))
    r = p.call(OP_NET_STAT)
    assert r.status == E_OK and r.length == NET_STAT.size
    mac, link, ip, mask, gw, socks = struct.unpack_from("<6sBxIIII", r.output)
    assert mac == bytes.fromhex("525400123456") and link == 1
    assert (ip, mask, gw) == (ip_int("10.0.2.15"), 0xFFFFFF00, PEER)
    rx_frames = struct.unpack_from("<Q", r.output, 24)[0]
    assert rx_frames == 2
    assert drops() == {"udp-no-port": 1}


def test_a_process_that_ends_gives_its_sockets_back():
    from kwe.events import guide
    from kwe.mm import account
    from kwe.net import socket
    p = net_process()
    for port in (7, 8, 9):
        udp_socket(p, port)
    arrive(to_me(UDP(sport=1, dport=7) / bytes(1000)))     # a datagram waits, charged to p
    p.push(OP_NET_RECV, args=(udp_socket(p, 10), 64))
    p.submit()
    run()
    assert socket.py_count() == 4 and guide.py_in_flight() == 1
    leaked = account.py_leaked()
    guide.py_free_local(p.pid)
    assert socket.py_count() == 0 and guide.py_in_flight() == 0
    assert account.py_leaked() == leaked                    # its account closed empty
    q = net_process()
    assert q.call(OP_NET_SOCKET, args=(SOCK_UDP,)).status == E_OK
    assert q.call(OP_NET_BIND, args=(1 << 16 | 1, 7)).status == E_BADF


# ---- TCP through the deck ----------------------------------------------------------------------
from tcppeer import Stack, Conn, TCP as TCP_, flags, payload      # noqa: E402


class EngineStack(Stack):
    """tcppeer's view of the stack the engine started (Stack() would reset it)."""

    def __init__(self):
        from kwe.dev import pit
        from kwe.net import socket, tcp
        self.pit, self.netif, self.socket, self.tcp = pit, netif, socket, tcp
        self.ms, self.outbox = 0, []


def tcp_listener(p, port=80):
    s = p.call(OP_NET_SOCKET, args=(SOCK_TCP,)).value
    assert p.call(OP_NET_BIND, args=(s, port)).value == port
    assert p.call(OP_NET_LISTEN, args=(s, 8)).status == E_OK
    return s


def accepted_connection(peer_port):
    """A process whose listener on port 80 accepted the test's connection: (process, peer, socket)."""
    p = net_process()
    lsock = tcp_listener(p)
    c = Conn(EngineStack(), 80, peer_port)
    c.open_passive()
    run()
    return p, c, p.call(OP_NET_ACCEPT, args=(lsock,)).value


def held(p, opcode, **kw):
    eid = p.push(opcode, **kw)
    assert p.submit() == 1
    run()
    return eid


def answered(p, eid):
    mine = [r for r in p.results() if r.event_id == eid]
    return mine[0] if mine else None


def test_tcp_accept_recv_and_a_send_bigger_than_the_window_as_events():
    p = net_process()
    st = EngineStack()
    lsock = tcp_listener(p)
    eid = held(p, OP_NET_ACCEPT, args=(lsock,))
    assert answered(p, eid) is None                         # nobody connected yet
    c = Conn(st, 80, 40001)
    c.open_passive()
    run()
    r = answered(p, eid)
    assert r.status == E_OK and r.value > 0
    conn = r.value
    c.send("PA", data=b"GET /files/1 HTTP/1.1\r\n\r\n")
    run()
    r = p.call(OP_NET_RECV, args=(conn, 4096))
    assert (r.status, r.output, r.value) == (E_OK, b"GET /files/1 HTTP/1.1\r\n\r\n", 25)
    body = bytes(range(256)) * 800                          # 200 KiB: the send buffer takes 64 KiB
    eid = held(p, OP_NET_SEND, args=(conn,), input_ptr=(p.buffer(body), len(body)))
    got = b""
    for _ in range(2000):
        segs = c.got()
        for s in segs:
            got += payload(s)
        if segs:
            c.ack = segs[-1][TCP_].seq + len(payload(segs[-1]))
            c.send("A")
        run()
        r = answered(p, eid)
        if r is not None:
            break
    assert r is not None and (r.status, r.value) == (E_OK, len(body))
    while len(got) < len(body):                             # what was still in flight
        segs = c.got()
        if not segs:
            st.tick(30)
            continue
        for s in segs:
            got += payload(s)
        c.ack = segs[-1][TCP_].seq + len(payload(segs[-1]))
        c.send("A")
    assert got[:len(body)] == body
    assert p.call(OP_NET_CLOSE, args=(conn,)).status == E_OK
    assert "F" in flags(c.got()[-1])


def test_tcp_recv_waits_then_sees_the_end_of_the_stream():
    p, c, conn = accepted_connection(40002)
    eid = held(p, OP_NET_RECV, args=(conn, 100))
    assert answered(p, eid) is None
    c.send("FA")
    run()
    r = answered(p, eid)
    assert (r.status, r.length, r.value) == (E_OK, 0, 0)    # the end: empty, value 0


def test_tcp_connect_waits_for_the_handshake_and_a_refusal_is_named():
    p = net_process()
    st = EngineStack()
    s = p.call(OP_NET_SOCKET, args=(SOCK_TCP,)).value
    eid = held(p, OP_NET_CONNECT, args=(s, PEER << 16 | 8080))
    (syn,) = [x for x in st.segments() if x[TCP_].dport == 8080]
    assert flags(syn) == "S" and answered(p, eid) is None
    c = Conn(st, syn[TCP_].sport, 8080, isn=777)
    c.ack = syn[TCP_].seq + 1
    c.send("SA", options=[("MSS", 1460)])
    run()
    assert answered(p, eid).status == E_OK
    s2 = p.call(OP_NET_SOCKET, args=(SOCK_TCP,)).value
    eid = held(p, OP_NET_CONNECT, args=(s2, PEER << 16 | 8081))
    (syn,) = [x for x in st.segments() if x[TCP_].dport == 8081]
    c2 = Conn(st, syn[TCP_].sport, 8081)
    c2.send("RA", seq=0, ack=syn[TCP_].seq + 1)
    run()
    assert answered(p, eid).status == E_CONNREFUSED


def test_privileged_ports_and_sending_out_are_capabilities():
    from test_caps import without
    from kwe.tasks import caps
    p = net_process()
    q = Local()
    flags, files, *ops = struct.unpack("<QQ5QQ", caps.py_all())[:7]
    no_system = struct.pack("<QQ5QQ", flags & ~CAP_SYSTEM, files, *ops, 0)
    assert q.call(OP_CAPS_LIMIT, payload=without(OP_NET_CONNECT, no_system)).status == E_OK
    s = q.call(OP_NET_SOCKET, args=(SOCK_UDP,)).value
    assert q.call(OP_NET_BIND, args=(s, 80)).status == E_PERM               # below 1024
    r = q.call(OP_NET_SEND, args=(s, PEER << 16 | 53), payload=b"out")
    assert r.status == E_PERM                                              # unbound: connecting out
    assert q.call(OP_NET_BIND, args=(s, 5353)).value == 5353
    assert q.call(OP_NET_SEND, args=(s, PEER << 16 | 53), payload=b"reply").value == 5
    t = q.call(OP_NET_SOCKET, args=(SOCK_TCP,)).value
    assert q.call(OP_NET_CONNECT, args=(t, PEER << 16 | 80)).status == E_PERM   # the opcode itself
    assert p.call(OP_NET_BIND, args=(p.call(OP_NET_SOCKET, args=(SOCK_UDP,)).value, 80)).value == 80


def test_sockets_are_held_to_the_quota_and_used_only_as_their_kind():
    p = net_process()
    socks = [p.call(OP_NET_SOCKET, args=(SOCK_UDP,)) for _ in range(257)]
    assert [r.status for r in socks[:256]] == [E_OK] * 256
    assert socks[256].status == E_QUOTA                        # quota_sockets=256
    assert p.call(OP_NET_CLOSE, args=(socks[0].value,)).status == E_OK
    t = p.call(OP_NET_SOCKET, args=(SOCK_TCP,))
    assert t.status == E_OK
    u = socks[1].value
    assert p.call(OP_NET_LISTEN, args=(u, 4)).status == E_INVAL   # a UDP socket
    assert p.call(OP_NET_ACCEPT, args=(u,)).status == E_INVAL
    assert p.call(OP_NET_CONNECT, args=(u, PEER << 16 | 80)).status == E_INVAL
    assert p.call(OP_NET_ACCEPT, args=(t.value,)).status == E_INVAL   # not listening
    assert p.call(OP_NET_RECV, args=(t.value, 10)).status == E_NOTCONN
    assert p.call(OP_NET_SEND, args=(t.value,), payload=b"x").status == E_NOTCONN
    assert p.call(0x040A).status == E_BADOP                        # past the deck's last opcode


def test_recv_all_gathers_exactly_the_bytes_asked_for_over_several_segments():
    """RECV_ALL: a workflow node that must have a whole piece of a body
    (httpd's PUT) waits over as many segments as it takes; the stream's end
    first is E_CONNRESET, not a short piece."""
    p, c, conn = accepted_connection(40007)
    eid = held(p, OP_NET_RECV, args=(conn, 3000 | RECV_ALL))
    for k in range(2):
        c.send("PA", data=bytes([65 + k]) * 1000)
        run()
        assert answered(p, eid) is None                     # 1000, then 2000 of 3000
    c.send("PA", data=b"C" * 1400)                          # 400 of it stays in the stream
    run()
    got = answered(p, eid)
    assert (got.status, got.value, got.length) == (E_OK, 3000, 3000)
    assert p.call(OP_NET_RECV, args=(conn, 4096)).output == b"C" * 400
    eid = held(p, OP_NET_RECV, args=(conn, 100 | RECV_ALL))
    c.send("PA", data=b"D" * 10)
    c.send("FA")
    run()
    assert answered(p, eid).status == E_CONNRESET
    udp = p.call(OP_NET_SOCKET, args=(SOCK_UDP,)).value
    assert p.call(OP_NET_RECV, args=(udp, 10 | RECV_ALL)).status == E_INVAL
    assert p.call(OP_NET_RECV, args=(conn, RECV_ALL)).status == E_RANGE


def test_send_more_holds_a_short_piece_for_the_next_send():
    """SEND_MORE (httpd's response head, then its body): the head waits in the
    buffer and leaves with the body, one segment instead of two."""
    p, c, conn = accepted_connection(40009)
    assert p.call(OP_NET_SEND, args=(conn, SEND_MORE), payload=b"H" * 100).value == 100
    assert [s for s in c.got() if payload(s)] == []
    assert p.call(OP_NET_SEND, args=(conn, 0), payload=b"B" * 300).value == 300
    segs = [s for s in c.got() if payload(s)]
    assert [payload(s) for s in segs] == [b"H" * 100 + b"B" * 300]
    assert p.call(OP_NET_SEND, args=(conn, SEND_MORE), payload=b"T" * 50).value == 50
    assert p.call(OP_NET_CLOSE, args=(conn,)).status == E_OK      # the close takes what waits
    last = [s for s in c.got() if payload(s)]
    assert payload(last[-1]) == b"T" * 50 and "F" in flags(last[-1])
