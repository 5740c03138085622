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
