"""TCP (kwe.net.tcp) and the TCP half of the sockets (kwe.net.socket),
hosted: scapy builds every segment the stack receives and parses every one
it sends (tcppeer), so a TCP nobody here wrote checks ours.  Times are in
ticks of the simulated 100 Hz clock (10 ms)."""
import random
import struct

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from scapy.all import IP, TCP

from tcppeer import E, ME, PEER, SOCK_TCP, SOCK_UDP, ST, Conn, Stack, flags, ip_int, payload

PID = 1


def listener(s, port=80, backlog=16, pid=PID, account=0):
    so = s.socket
    l = so.py_open(pid, SOCK_TCP, account)
    assert l > 0 and so.py_bind(pid, l, port) == port and so.py_listen(pid, l, backlog) == 0
    return l


def accepted(s, port=80, pport=40000, mss=1460, **kw):
    """A listener, a peer that connects to it, the accepted socket."""
    l = listener(s, port)
    c = Conn(s, port, pport, **kw)
    c.open_passive(mss)
    r = s.socket.py_accept(PID, l)
    assert r[1:] == (ip_int(PEER), pport), r
    return l, r[0], c


def connected(s, port=7777, isn=5000, mss=1460, win=65535):
    """A socket that connects out; the peer answers; established."""
    so = s.socket
    k = so.py_open(PID, SOCK_TCP)
    assert so.py_connect(PID, k, ip_int(PEER), port) == E["E_AGAIN"]
    syn = s.segments()
    assert len(syn) == 1 and flags(syn[0]) == "S" and ("MSS", 1460) in syn[0][TCP].options
    assert syn[0][TCP].sport >= 49152 and syn[0][TCP].ack == 0
    c = Conn(s, syn[0][TCP].sport, port, isn=isn, win=win)
    c.ack = syn[0][TCP].seq + 1
    c.send("SA", options=[("MSS", mss)])
    ack = c.got()
    assert len(ack) == 1 and flags(ack[0]) == "A" and ack[0][TCP].ack == isn + 1
    assert ack[0][TCP].seq == c.ack
    assert so.py_connect(PID, k, ip_int(PEER), port) == 0
    return k, c


def recv_all(s, k, cap=65536):
    out = b""
    while True:
        r = s.socket.py_tcp_recv(PID, k, cap)
        if not isinstance(r, bytes) or r == b"":
            return out
        out += r


def heap_sound():
    from kwe.mm import heap
    return heap.py_check() == 0 and heap.py_stats()["corruptions"] == 0


# ---- handshakes --------------------------------------------------------------------------
def test_a_syn_to_a_listener_is_answered_and_the_ack_makes_a_connection_to_accept():
    s = Stack()
    l = listener(s)
    assert s.socket.py_accept(PID, l) == E["E_AGAIN"] and not s.socket.py_readable(l)
    c = Conn(s, 80, 40000, isn=123456)
    c.send("S", options=[("MSS", 1400), ("NOP", None), ("WScale", 7), ("SAckOK", b"")])
    sa = c.got()
    assert len(sa) == 1 and flags(sa[0]) == "SA"
    assert sa[0][TCP].ack == 123457 and sa[0][TCP].options == [("MSS", 1460)]
    assert sa[0][TCP].window == 65535 and sa[0][IP].src == ME and sa[0][IP].dst == PEER
    assert s.socket.py_accept(PID, l) == E["E_AGAIN"]          # half-open: nothing to accept
    assert s.tcp.py_half_open() == 1
    c.ack = sa[0][TCP].seq + 1
    c.send("A")
    assert c.got() == []                                         # nothing to say to an ACK
    assert s.socket.py_readable(l) and s.socket.py_woken() == [l]
    k, ip, port = s.socket.py_accept(PID, l)
    assert (ip, port) == (ip_int(PEER), 40000) and s.socket.py_tcp_state(k) == ST["ESTABLISHED"]
    assert s.tcp.py_half_open() == 0 and s.tcp.py_check() == 0
    assert s.stats()["tcp_in"] == 2


def test_connect_sends_a_syn_and_completes_on_the_syn_ack():
    s = Stack()
    k = s.socket.py_open(PID, SOCK_TCP)
    assert s.socket.py_writable(k)                              # not connected: a send fails at once
    k, c = connected(s)
    assert s.socket.py_tcp_state(k) == ST["ESTABLISHED"] and k in s.socket.py_woken()
    assert s.socket.py_writable(k) and not s.socket.py_readable(k)
    assert s.socket.py_connect(PID, k, ip_int(PEER), 7778) == E["E_INVAL"]    # another peer


def test_simultaneous_open_goes_through_syn_received():
    s = Stack()
    k = s.socket.py_open(PID, SOCK_TCP)
    s.socket.py_connect(PID, k, ip_int(PEER), 7777)
    syn = s.segments()[0]
    c = Conn(s, syn[TCP].sport, 7777, isn=900)
    c.send("S")                                                  # its SYN crosses ours
    sa = c.got()
    assert flags(sa[0]) == "SA" and sa[0][TCP].seq == syn[TCP].seq and sa[0][TCP].ack == 901
    c.ack = syn[TCP].seq + 1
    c.send("A")
    assert s.socket.py_connect(PID, k, ip_int(PEER), 7777) == 0


def test_connect_refused_by_a_rst_and_syns_retried_with_backoff_until_timeout():
    s = Stack(b"tcp_syn_retries=3")
    k = s.socket.py_open(PID, SOCK_TCP)
    s.socket.py_connect(PID, k, ip_int(PEER), 9)
    syn = s.segments()[0]
    Conn(s, syn[TCP].sport, 9).send("RA", seq=0, ack=syn[TCP].seq + 1)
    assert s.socket.py_connect(PID, k, ip_int(PEER), 9) == E["E_CONNREFUSED"] and k in s.socket.py_woken()
    assert s.socket.py_readable(k) and s.socket.py_writable(k)
    assert s.socket.py_tcp_recv(PID, k) == E["E_CONNREFUSED"]
    assert s.socket.py_close(PID, k) == 0 and s.tcp.py_count() == 0

    k = s.socket.py_open(PID, SOCK_TCP)
    s.socket.py_connect(PID, k, ip_int(PEER), 9)
    first = s.segments()[0]
    times = []
    for _ in range(2000):
        s.tick()
        for p in s.segments():
            assert flags(p) == "S" and p[TCP].seq == first[TCP].seq
            times.append(s.ms)
        if s.socket.py_connect(PID, k, ip_int(PEER), 9) != E["E_AGAIN"]:
            break
    assert times == [1000, 3000, 7000]                          # 1 s, doubled each time
    assert s.ms == 15000 and s.socket.py_connect(PID, k, ip_int(PEER), 9) == E["E_TIMEDOUT"]
    assert k in s.socket.py_woken()


def test_a_lost_syn_ack_is_sent_again_and_a_half_open_connection_ends_after_its_retries():
    s = Stack(b"tcp_synack_retries=2")
    listener(s)
    c = Conn(s, 80, 40000)
    c.send("S")
    first = c.got()[0]
    c.send("S", seq=1000)                                        # the SYN again: the SYN-ACK again
    again = c.got()
    assert len(again) == 1 and flags(again[0]) == "SA" and again[0][TCP].seq == first[TCP].seq
    times = []
    for _ in range(1000):
        s.tick()
        times += [s.ms for p in c.got()]
    assert times == [1000, 3000] and s.tcp.py_half_open() == 0 and s.tcp.py_count() == 1


# ---- data --------------------------------------------------------------------------------
def test_data_both_ways_exact_bytes_and_acks():
    s = Stack()
    l, k, c = accepted(s)
    start = c.seq
    c.send("PA", b"hello, stack")
    assert c.got() == []                                        # the ACK waits for the answer (tcp_delack_ms)
    assert s.socket.py_readable(k) and k in s.socket.py_woken()
    assert s.socket.py_tcp_recv(PID, k, 5) == b"hello" and s.socket.py_tcp_recv(PID, k) == b", stack"
    assert s.socket.py_tcp_recv(PID, k) == E["E_AGAIN"] and not s.socket.py_readable(k)
    assert s.socket.py_tcp_send(PID, k, b"hello, peer") == 11
    d = c.got()
    assert len(d) == 1 and flags(d[0]) == "PA" and payload(d[0]) == b"hello, peer"
    assert d[0][TCP].seq == c.ack and d[0][TCP].ack == c.seq
    c.ack += 11
    c.send("A")
    assert c.got() == [] and s.tcp.py_check() == 0


def test_an_ack_waits_40_ms_for_an_answer_and_never_for_a_second_segment():
    s = Stack()
    l, k, c = accepted(s)
    start = c.seq
    c.send("PA", b"no answer comes")
    assert c.got() == []
    s.tick(3)                                                   # 30 ms
    assert c.got() == []
    s.tick(2)                                                   # 50 ms: past tcp_delack_ms=40
    a = c.got()
    assert len(a) == 1 and flags(a[0]) == "A" and a[0][TCP].ack == start + 15
    c.send("PA", b"one")
    c.send("PA", b"two")                                        # the second while one waits: at once
    assert [p[TCP].ack for p in c.got()] == [start + 21]
    s.tick(10)
    assert c.got() == [] and s.tcp.py_check() == 0              # nothing owed any more
    s2 = Stack(b"tcp_delack_ms=0")                              # off: every data segment at once
    l, k, c = accepted(s2)
    c.send("PA", b"x")
    assert [p[TCP].ack for p in c.got()] == [c.seq]


@pytest.mark.parametrize("isn", [None, 0xFFFFFFFF - 300000])
def test_a_mebibyte_out_through_a_small_window_the_peer_keeps(isn):
    s = Stack()
    if isn is not None:
        s.tcp.py_force_isn(isn)                                 # our numbers wrap past 2^32 on the way
    l, k, c = accepted(s, win=8192)
    data = random.Random(1).randbytes(1 << 20)
    base, sent, got = c.ack, 0, bytearray()
    for _ in range(20000):
        while sent < len(data):
            r = s.socket.py_tcp_send(PID, k, data[sent:sent + 30000])
            if r == E["E_AGAIN"]:
                break
            assert r > 0
            sent += r
        segs = c.got()
        for p in segs:
            off = (p[TCP].seq - base) & 0xFFFFFFFF
            assert off == len(got), "in order: nothing was lost"
            assert off + len(payload(p)) <= ((c.ack - base) & 0xFFFFFFFF) + c.win, "past the peer's window"
            assert len(payload(p)) <= 1460
            got += payload(p)
        if segs:
            c.ack = (base + len(got)) & 0xFFFFFFFF
            c.send("A")
        elif len(got) == len(data):
            break
        else:
            s.tick()
    assert bytes(got) == data


@pytest.mark.parametrize("isn", [1000, 0xFFFFFFFF - 300000])
def test_a_mebibyte_in_through_the_window_the_stack_advertises(isn):
    s = Stack()
    l, k, c = accepted(s, isn=isn)                              # the peer's wrap past 2^32
    data = random.Random(2).randbytes(1 << 20)
    sent, acked, wnd, out = 0, 0, 65535, bytearray()
    base = c.seq
    rng = random.Random(3)
    while len(out) < len(data):
        while sent < len(data) and sent + 1 <= acked + wnd:
            n = min(1460, len(data) - sent, acked + wnd - sent)
            c.send("PA", data[sent:sent + n], seq=(base + sent) & 0xFFFFFFFF)
            sent += n
        for p in c.got():
            acked = (p[TCP].ack - base) & 0xFFFFFFFF
            wnd = p[TCP].window
        r = s.socket.py_tcp_recv(PID, k, rng.choice([100, 4000, 65536]))
        if isinstance(r, bytes):
            out += r
        for p in c.got():                                       # window updates
            acked = (p[TCP].ack - base) & 0xFFFFFFFF
            wnd = p[TCP].window
    assert bytes(out) == data


def test_a_full_receive_buffer_closes_the_window_and_reading_opens_it():
    s = Stack(b"tcp_rcvbuf=4096")
    l, k, c = accepted(s)
    syn_wnd = 4096
    for n in (1460, 1460, 1176):
        c.send("PA", b"x" * n)
    acks = c.got()                                               # the first ACK waits, the second does not,
    assert [p[TCP].window for p in acks] == [syn_wnd - 2920, 0]  # and a closed window is news at once
    c.send("PA", b"y")                                           # no room: not taken
    a = c.got()
    assert len(a) == 1 and a[0][TCP].ack == c.seq - 1 and a[0][TCP].window == 0
    c.seq -= 1
    c.send("A")                                                  # a zero window still takes an ACK
    assert s.socket.py_tcp_recv(PID, k, 1000) == b"x" * 1000
    assert c.got() == []                                         # 1000 < an MSS: no window update yet
    assert len(s.socket.py_tcp_recv(PID, k, 5000)) == 3096
    upd = c.got()
    assert len(upd) == 1 and upd[0][TCP].window == 4096 and upd[0][TCP].ack == c.seq


def test_the_peers_mss_is_honoured():
    s = Stack()
    l, k, c = accepted(s, mss=536)
    assert s.socket.py_tcp_send(PID, k, bytes(2000)) == 2000
    assert [len(payload(p)) for p in c.got()] == [536, 536, 536, 392]


def test_a_zero_window_is_probed_with_backoff_until_it_opens():
    s = Stack()
    l, k, c = accepted(s)
    c.send("A", win=0)
    assert s.socket.py_tcp_send(PID, k, b"abcdef") == 6
    assert c.got() == []
    times, probes = [], []
    for _ in range(200):
        s.tick()
        for p in c.got():
            times.append(s.ms)
            probes.append(p)
            c.send("A", win=0)                                  # still shut: the byte is not taken
    assert times == [200, 600, 1400] and all(payload(p) == b"a" and p[TCP].seq == c.ack for p in probes)
    c.send("A", win=1000)
    d = c.got()
    assert len(d) == 1 and payload(d[0]) == b"abcdef" and d[0][TCP].seq == c.ack


# ---- loss ----------------------------------------------------------------------------------
def test_retransmission_doubles_the_rto_and_gives_up_with_e_timedout():
    s = Stack(b"tcp_retries=4")
    l, k, c = accepted(s)                                       # the handshake's RTT: 0, so RTO = 200 ms
    assert s.socket.py_tcp_send(PID, k, b"lost" * 100) == 400
    first = c.got()[0]
    times = []
    for _ in range(3000):
        s.tick()
        for p in c.got():
            assert p[TCP].seq == first[TCP].seq and payload(p) == payload(first)
            times.append(s.ms)
        if s.socket.py_tcp_recv(PID, k) == E["E_TIMEDOUT"]:
            break
    assert times == [200, 600, 1400, 3000]                      # +200, +400, +800, +1600
    assert s.ms == 6200
    assert s.socket.py_tcp_recv(PID, k) == E["E_TIMEDOUT"] and k in s.socket.py_woken()
    assert s.socket.py_readable(k) and s.socket.py_writable(k)
    s.socket.py_close(PID, k)
    assert s.tcp.py_count() == 1 and s.tcp.py_check() == 0      # the listener


def test_an_ack_after_a_retransmission_resets_the_backoff_and_no_rtt_is_taken_from_it():
    s = Stack()
    l, k, c = accepted(s)
    s.socket.py_tcp_send(PID, k, b"a" * 100)
    c.got()
    s.tick(20)                                                  # RTO: again
    assert len(c.got()) == 1
    c.ack += 100
    c.send("A")
    s.socket.py_tcp_send(PID, k, b"b" * 100)
    c.got()
    s.tick(20)
    assert len(c.got()) == 1                                    # 200 ms again, not 400


def test_three_duplicate_acks_resend_the_lost_segment_at_once():
    s = Stack()
    l, k, c = accepted(s)
    assert s.socket.py_tcp_send(PID, k, bytes(range(256)) * 30) == 7680
    segs = c.got()
    assert [len(payload(p)) for p in segs] == [1460] * 5 + [380]
    c.ack = segs[1][TCP].seq                                     # the first arrived, the second was lost
    c.send("A")
    c.send("A")
    c.send("A")
    assert c.got() == []
    c.send("A")                                                  # the third duplicate
    r = c.got()
    assert len(r) == 1 and r[0][TCP].seq == segs[1][TCP].seq and payload(r[0]) == payload(segs[1])
    c.ack = segs[2][TCP].seq                                     # a partial ACK: the next hole (NewReno)
    c.send("A")
    r = c.got()
    assert r[0][TCP].seq == segs[2][TCP].seq
    c.ack = (segs[5][TCP].seq + 380) & 0xFFFFFFFF
    c.send("A")
    s.tick(100)
    assert c.got() == []                                         # all acknowledged: no timer


def test_segments_out_of_order_are_kept_and_delivered_in_order():
    s = Stack()
    l, k, c = accepted(s)
    start = c.seq
    c.send("PA", b"world", seq=start + 5)
    c.send("PA", b"!!", seq=start + 12)
    a = c.got()
    assert [p[TCP].ack for p in a] == [start, start]             # duplicate ACKs: a hole
    assert s.socket.py_tcp_recv(PID, k) == E["E_AGAIN"]
    c.send("PA", b"hello", seq=start)
    assert c.got()[0][TCP].ack == start + 10
    c.send("PA", b"xy", seq=start + 10)
    assert c.got()[0][TCP].ack == start + 14
    assert s.socket.py_tcp_recv(PID, k) == b"helloworldxy!!"


def test_bytes_a_peer_puts_past_its_own_fin_are_dropped():
    """Found by the fuzzer: out-of-order bytes kept past where the FIN then came."""
    s = Stack()
    l, k, c = accepted(s)
    start = c.seq
    c.send("PA", b"zz", seq=start + 5)
    c.send("FPA", b"abcd", seq=start)                           # its FIN takes start + 4
    assert c.got()[-1][TCP].ack == start + 5 and s.tcp.py_check() == 0
    assert s.socket.py_tcp_recv(PID, k) == b"abcd" and s.socket.py_tcp_recv(PID, k) == b""


def test_out_of_window_old_duplicate_and_overlapping_segments():
    s = Stack()
    l, k, c = accepted(s)
    start = c.seq
    c.send("PA", b"far", seq=start + 70000)                     # past the window: ignored, ACKed
    c.send("PA", b"old", seq=start - 100)                       # before it: the same
    a = c.got()
    assert [(p[TCP].ack, payload(p)) for p in a] == [(start, b""), (start, b"")]
    c.send("PA", b"hello", seq=start)
    c.send("PA", b"hello", seq=start)                           # a duplicate
    c.send("PA", b"llo, world", seq=start + 2)                  # overlaps
    # the first waits (delayed ACK), the duplicate is acknowledged at once
    # (covering the first), and so is the overlap, which carried old bytes
    assert [p[TCP].ack for p in c.got()] == [start + 5, start + 12]
    assert s.socket.py_tcp_recv(PID, k) == b"hello, world"
    c.send("A", ack=c.ack + 5000)                               # acknowledges what was never sent
    assert [p[TCP].ack for p in c.got()] == [start + 12]
    assert s.socket.py_tcp_state(k) == ST["ESTABLISHED"] and s.tcp.py_check() == 0


# ---- closing ----------------------------------------------------------------------------------
def test_the_peer_closes_first_eof_then_our_fin_and_last_ack():
    s = Stack()
    l, k, c = accepted(s)
    c.send("FPA", b"bye")
    a = c.got()
    assert a[0][TCP].ack == c.seq and s.socket.py_tcp_state(k) == ST["CLOSE_WAIT"]
    assert s.socket.py_tcp_recv(PID, k) == b"bye" and s.socket.py_tcp_recv(PID, k) == b""
    assert s.socket.py_readable(k)
    assert s.socket.py_tcp_send(PID, k, b"still") == 5          # half-close: we may still send
    c.got()
    c.ack += 5
    s.socket.py_close(PID, k)
    f = c.got()
    assert len(f) == 1 and flags(f[0]) == "FA" and f[0][TCP].seq == c.ack
    assert s.tcp.py_states() == {"LISTEN": 1, "LAST_ACK": 1}
    c.ack += 1
    c.send("A")
    assert s.tcp.py_states() == {"LISTEN": 1}


def test_we_close_first_fin_wait_then_time_wait_until_2_msl():
    s = Stack(b"tcp_msl=500")
    k, c = connected(s)
    assert s.socket.py_close(PID, k) == 0
    f = c.got()
    assert flags(f[0]) == "FA" and f[0][TCP].seq == c.ack
    assert s.tcp.py_states() == {"FIN_WAIT_1": 1}
    c.ack += 1
    c.send("A")
    assert s.tcp.py_states() == {"FIN_WAIT_2": 1}
    c.send("FA")
    a = c.got()
    assert flags(a[0]) == "A" and a[0][TCP].ack == c.seq
    assert s.tcp.py_states() == {"TIME_WAIT": 1}
    s.tick(50)
    c.send("FA", seq=c.seq - 1)                                 # its FIN again: ACKed, 2 MSL again
    assert c.got()[0][TCP].ack == c.seq
    s.tick(99)
    assert s.tcp.py_states() == {"TIME_WAIT": 1}
    s.tick(1)
    assert s.tcp.py_count() == 0 and heap_sound()


def test_simultaneous_close_goes_through_closing():
    s = Stack(b"tcp_msl=100")
    k, c = connected(s)
    s.socket.py_close(PID, k)
    ours = c.got()[0]
    c.send("FA")                                                 # its FIN crosses ours
    a = c.got()
    assert flags(a[0]) == "A" and a[0][TCP].ack == c.seq
    assert s.tcp.py_states() == {"CLOSING": 1}
    c.ack = ours[TCP].seq + 1
    c.send("A")
    assert s.tcp.py_states() == {"TIME_WAIT": 1}
    s.tick(20)
    assert s.tcp.py_count() == 0


def test_unsent_data_goes_before_the_fin_and_a_lost_fin_is_sent_again():
    s = Stack(b"tcp_msl=100")
    k, c = connected(s, win=1000)
    base = c.ack
    assert s.socket.py_tcp_send(PID, k, b"q" * 3000) == 3000
    assert s.socket.py_close(PID, k) == 0                       # 2000 bytes still wait for the window
    out, fins = bytearray(), []
    for _ in range(300):
        segs = c.got()
        for p in segs:
            off = (p[TCP].seq - base) & 0xFFFFFFFF
            assert off <= len(out) and off + len(payload(p)) <= ((c.ack - base) & 0xFFFFFFFF) + c.win
            out[off:off + len(payload(p))] = payload(p)
            if "F" in flags(p):
                assert off + len(payload(p)) == 3000
                fins.append(s.ms)
        if segs:
            c.ack = (base + len(out) + (len(fins) >= 2)) & 0xFFFFFFFF   # the first FIN is "lost"
            c.send("A")
        s.tick()
    assert bytes(out) == b"q" * 3000 and len(fins) == 2 and fins[1] - fins[0] == 200
    assert s.tcp.py_states() == {"FIN_WAIT_2": 1}


def test_a_rst_resets_the_connection_and_a_rst_out_of_place_gets_a_challenge_ack():
    s = Stack()
    l, k, c = accepted(s)
    c.send("R", seq=c.seq + 100)                                 # in the window, not exact
    a = c.got()
    assert len(a) == 1 and flags(a[0]) == "A" and a[0][TCP].ack == c.seq
    c.send("R", seq=c.seq + 100000)                              # outside: nothing
    assert c.got() == [] and s.socket.py_tcp_state(k) == ST["ESTABLISHED"]
    s.socket.py_woken()
    c.send("R")
    assert c.got() == [] and s.socket.py_woken() == [k]
    assert s.socket.py_tcp_recv(PID, k) == E["E_CONNRESET"]
    assert s.socket.py_tcp_send(PID, k, b"x") == E["E_CONNRESET"]
    assert s.socket.py_readable(k) and s.socket.py_writable(k)
    s.socket.py_close(PID, k)
    assert s.tcp.py_states() == {"LISTEN": 1}


def test_closing_with_unread_data_resets_and_a_closed_listener_resets_its_children():
    s = Stack()
    l, k, c = accepted(s)
    c.send("PA", b"unread")
    c.got()
    s.socket.py_close(PID, k)
    r = c.got()
    assert len(r) == 1 and flags(r[0]) == "RA" and r[0][TCP].seq == c.ack
    c2 = Conn(s, 80, 40001)
    c2.open_passive()                                            # established, never accepted
    c3 = Conn(s, 80, 40002)
    c3.send("S")                                                 # half-open
    c3.got()
    s.socket.py_close(PID, l)
    r = c2.got()
    assert len(r) == 1 and flags(r[0]) == "RA"
    assert s.tcp.py_count() == 0 and heap_sound()


def test_what_closed_sockets_leave_to_send_is_capped_past_that_they_are_reset():
    s = Stack(b"tcp_orphan_mem=5000")
    k1, c1 = connected(s, win=0)
    assert s.socket.py_tcp_send(PID, k1, b"a" * 4000) == 4000
    s.socket.py_close(PID, k1)
    assert s.tcp.py_orphan_bytes() == 4000 and c1.got() == []   # kept: a zero window
    k2, c2 = connected(s, port=7778, win=0)
    assert s.socket.py_tcp_send(PID, k2, b"b" * 4000) == 4000
    s.socket.py_close(PID, k2)
    assert [flags(p) for p in c2.got()] == ["RA"]                # 8000 > 5000: reset
    assert s.tcp.py_orphan_bytes() == 4000 and s.tcp.py_check() == 0


def test_a_full_table_takes_the_oldest_time_wait_and_an_orphan_waits_in_fin_wait_2_only_so_long():
    s = Stack(b"tcp_conns=3 tcp_fin_timeout=1000")
    l = listener(s)
    for port in (40001, 40002):
        c = Conn(s, 80, port)
        c.open_passive()
        k = s.socket.py_accept(PID, l)[0]
        s.socket.py_close(PID, k)
        c.got()
        c.ack += 1
        c.send("FA")
        c.got()
    assert s.tcp.py_states() == {"LISTEN": 1, "TIME_WAIT": 2}
    c3 = Conn(s, 80, 40003)
    c3.open_passive()                                           # the table is full: 40001's TIME_WAIT goes
    k3 = s.socket.py_accept(PID, l)[0]
    assert s.tcp.py_states() == {"LISTEN": 1, "TIME_WAIT": 1, "ESTABLISHED": 1}
    s.socket.py_close(PID, k3)
    c3.ack += 1
    c3.send("A")                                                # our FIN acknowledged; the peer's never comes
    assert s.tcp.py_states() == {"LISTEN": 1, "TIME_WAIT": 1, "FIN_WAIT_2": 1}
    s.tick(99)
    assert "FIN_WAIT_2" in s.tcp.py_states()
    s.tick(1)
    assert s.tcp.py_states() == {"LISTEN": 1, "TIME_WAIT": 1}


def test_data_after_we_closed_is_answered_with_a_rst():
    s = Stack()
    k, c = connected(s)
    s.socket.py_close(PID, k)
    c.got()
    c.send("PA", b"late")
    r = c.got()
    assert len(r) == 1 and flags(r[0]) == "RA" and s.tcp.py_count() == 0


# ---- closed ports and bad segments ------------------------------------------------------------
def tcp_raw(sport=1234, dport=80, seq=1, ack=0, flag_bits=0x02, doff=None, options=b"", data=b"", csum=None):
    """A TCP header byte by byte (scapy would correct what we want wrong)."""
    hlen = 20 + len(options)
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, ((doff if doff is not None else hlen // 4) << 4),
                    flag_bits, 65535, 0, 0) + options + data
    if csum is None:
        csum = internet_checksum(struct.pack("!4s4sBBH", bytes(map(int, PEER.split("."))),
                                             bytes(map(int, ME.split("."))), 0, 6, len(h)) + h)
    return h[:16] + struct.pack("!H", csum) + h[18:]


def internet_checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def test_a_segment_to_a_closed_port_gets_the_rfc_793_rst_and_a_rst_gets_nothing():
    s = Stack()
    peer = Conn(s, 9, 1234)
    peer.send("S", seq=777)
    r = peer.got()
    assert len(r) == 1 and flags(r[0]) == "RA" and r[0][TCP].seq == 0 and r[0][TCP].ack == 778
    peer.send("PA", b"data", seq=50, ack=999)
    r = peer.got()
    assert len(r) == 1 and flags(r[0]) == "R" and r[0][TCP].seq == 999
    peer.send("S", b"syndata", seq=10)
    assert peer.got()[0][TCP].ack == 10 + 1 + 7
    peer.send("R", seq=5)
    peer.send("RA", seq=5, ack=6)
    assert peer.got() == []
    assert s.drops()["tcp-no-port"] == 5 and s.stats()["tcp_in"] == 5


BAD = {
    "checksum": dict(csum=0x1234),
    "data offset under 5": dict(doff=4),
    "data offset past the segment": dict(doff=15),
    "an option past the header": dict(options=b"\x01\x01\x08\x0a"),
    "a kind without its length": dict(options=b"\x01\x01\x01\x02"),
    "an option of length 0": dict(options=b"\x03\x00\x00\x00"),
    "an option of length 1": dict(options=b"\x04\x01\x00\x00"),
    "MSS of length 3": dict(options=b"\x02\x03\x05\x00"),
    "MSS of length 6": dict(options=b"\x02\x06\x05\xb4\x00\x00\x00\x00"),
    "SYN+FIN": dict(flag_bits=0x03),
    "SYN+RST": dict(flag_bits=0x06),
    "FIN+RST": dict(flag_bits=0x15),
    "no flags": dict(flag_bits=0x00),
    "FIN without ACK": dict(flag_bits=0x01),
    "PSH+URG+FIN (xmas)": dict(flag_bits=0x29),
    "source port 0": dict(sport=0),
}


@pytest.mark.parametrize("why", sorted(BAD))
def test_a_malformed_segment_is_dropped_counted_and_not_answered(why):
    s = Stack()
    listener(s)
    before = s.stats()
    s.feed_raw_tcp(tcp_raw(**BAD[why]))
    assert s.take() == []
    assert s.drops().get("tcp-bad") == 1 and s.stats()["tcp_in"] == before["tcp_in"]
    assert s.tcp.py_count() == 1
    s.feed_raw_tcp(tcp_raw(options=b"\x01\x01\x02\x04\x05\xb4\x00\x00"))   # well-formed: answered
    assert len(s.segments()) == 1


def test_a_segment_shorter_than_a_header_is_dropped_as_short():
    s = Stack()
    s.feed_raw_tcp(tcp_raw()[:19])
    assert s.take() == [] and s.drops().get("short") == 1


# ---- many: floods, thousands of connections, accounts ----------------------------------------------
def test_a_syn_flood_keeps_memory_bounded_and_a_real_connection_still_works():
    from kwe.mm import heap
    s = Stack()
    l = listener(s, backlog=8)
    rng = random.Random(4)
    before = heap.py_stats()["bytes_in_use"]
    for i in range(10000):
        s.feed(IP(src=PEER, dst=ME) / TCP(sport=rng.randrange(1024, 65536), dport=80, flags="S",
                                          seq=rng.randrange(1 << 32)))
        if i % 500 == 0:
            s.netif.py_sent()
    s.netif.py_sent()
    assert s.tcp.py_half_open() <= 16 and s.tcp.py_count() <= 17
    assert heap.py_stats()["bytes_in_use"] - before < 64 << 10
    assert s.drops()["tcp-full"] >= 10000 - 16 - 200
    c = Conn(s, 80, 1000)                                       # a port the flood did not use
    c.open_passive()
    k = s.socket.py_accept(PID, l)[0]
    c.send("PA", b"still here")
    assert s.socket.py_tcp_recv(PID, k) == b"still here" and s.tcp.py_check() == 0


def test_a_thousand_connections_at_once():
    from kwecli.hosted import MiB
    s = Stack(b"tcp_sndbuf=2048 tcp_rcvbuf=2048", ram=64 * MiB)
    l = listener(s, backlog=1024)
    conns = [Conn(s, 80, 10000 + i, isn=i * 100000) for i in range(1000)]
    for c in conns:
        c.send("S")
    for p in s.segments():
        c = conns[p[TCP].dport - 10000]
        assert flags(p) == "SA"
        c.ack = p[TCP].seq + 1
    for c in conns:
        c.send("A")
    socks = {}
    while True:
        r = s.socket.py_accept(PID, l)
        if r == E["E_AGAIN"]:
            break
        socks[r[2]] = r[0]
    assert len(socks) == 1000 and s.tcp.py_count() == 1001
    for c in conns:
        c.send("PA", b"n%d" % c.pport)
    s.take()
    for port, k in socks.items():
        assert s.socket.py_tcp_recv(PID, k) == b"n%d" % port
        assert s.socket.py_tcp_send(PID, k, b"N%d" % port) == len(b"N%d" % port)
    got = {p[TCP].dport: payload(p) for p in s.segments()}
    assert got == {c.pport: b"N%d" % c.pport for c in conns}
    assert s.tcp.py_check() == 0
    assert s.socket.py_close_all(PID) == 1001
    s.take()
    assert s.tcp.py_states() == {"FIN_WAIT_1": 1000}


def test_a_process_that_ends_with_connections_open_gives_every_byte_back():
    from kwe.mm import account
    s = Stack(b"quota_sockets=3 tcp_msl=100")
    a = account.py_create(7)
    ptr = account.py_pointer(a)
    pid = 7
    l = s.socket.py_open(pid, SOCK_TCP, ptr)
    s.socket.py_bind(pid, l, 80)
    s.socket.py_listen(pid, l, 8)
    c1, c2, c3 = Conn(s, 80, 40001), Conn(s, 80, 40002), Conn(s, 80, 40003)
    c1.open_passive()
    c2.open_passive()
    used = account.py_used(a)[0]
    assert used[account.RESOURCES["sockets"]] == 3                # the listener and two connections
    assert used[account.RESOURCES["heap"]] >= 4 * 65536            # their buffers
    c3.send("S")
    r = c3.got()
    assert len(r) == 1 and flags(r[0]) == "RA" and s.drops()["tcp-full"] == 1    # at its quota: refused
    k1 = s.socket.py_accept(pid, l)[0]
    assert s.socket.py_tcp_send(pid, k1, b"w" * 5000) == 5000      # not acknowledged: it lingers
    c1.got()
    c2.send("PA", b"unread")                                        # never accepted, never read
    c2.got()
    assert s.socket.py_close_all(pid) == 2
    assert account.py_used(a) == ([0] * len(used), 0)
    assert account.py_close(a) and account.py_leaked() == 0
    assert [flags(p) for p in c2.got()] == ["RA"]
    assert s.tcp.py_states() == {"FIN_WAIT_1": 1}                  # the kernel's now
    out = bytearray()
    for _ in range(50):
        for p in c1.got():
            out += payload(p)
            c1.ack = (p[TCP].seq + len(payload(p)) + ("F" in flags(p))) & 0xFFFFFFFF
            c1.send("A")
        s.tick()
    assert bytes(out) == b"w" * 5000 and s.tcp.py_states() == {"FIN_WAIT_2": 1}
    c1.send("FA")
    s.tick(30)
    assert s.tcp.py_count() == 0 and heap_sound()


def test_accepts_are_refused_past_the_heap_quota():
    from kwe.mm import account
    s = Stack(b"quota_heap=200000")
    a = account.py_create(3)
    l = s.socket.py_open(3, SOCK_TCP, account.py_pointer(a))
    s.socket.py_bind(3, l, 80)
    s.socket.py_listen(3, l, 8)
    Conn(s, 80, 40001).open_passive()                              # 128 KiB of buffers
    c = Conn(s, 80, 40002)
    c.send("S")
    c.ack = c.got()[0][TCP].seq + 1
    c.send("A")                                                     # another 128 KiB: no
    assert [flags(p) for p in c.got()] == ["RA"] and s.drops()["tcp-full"] == 1
    s.socket.py_close_all(3)
    assert account.py_close(a)


# ---- the socket layer ---------------------------------------------------------------------------
def test_socket_calls_check_owner_type_and_state():
    s = Stack()
    so = s.socket
    u = so.py_open(PID, SOCK_UDP)
    t = so.py_open(PID, SOCK_TCP)
    assert so.py_listen(2, t, 1) == E["E_BADF"] and so.py_tcp_send(2, t, b"x") == E["E_BADF"]
    assert so.py_listen(PID, u, 1) == E["E_INVAL"] and so.py_tcp_recv(PID, u) == E["E_INVAL"]
    assert so.py_listen(PID, t, 1) == E["E_INVAL"]                  # not bound
    assert so.py_tcp_send(PID, t, b"x") == E["E_NOTCONN"] and so.py_tcp_recv(PID, t) == E["E_NOTCONN"]
    assert so.py_accept(PID, t) == E["E_INVAL"]
    assert so.py_connect(PID, t, 0, 80) == E["E_INVAL"] and so.py_connect(PID, t, ip_int(PEER), 0) == E["E_INVAL"]
    assert so.py_connect(PID, t, 0xFFFFFFFF, 80) == E["E_INVAL"] and so.py_connect(PID, t, ip_int("224.0.0.1"), 80) == E["E_INVAL"]
    assert so.py_connect(PID, t, ip_int(ME), 80) == E["E_NOTSUP"]
    assert so.py_bind(PID, t, 80) == 80 and so.py_bind(PID, u, 80) == 80      # UDP and TCP ports apart
    t2 = so.py_open(PID, SOCK_TCP)
    assert so.py_bind(PID, t2, 80) == E["E_EXIST"]
    assert so.py_listen(PID, t, 0) == 0 and so.py_listen(PID, t, 4) == E["E_INVAL"]
    assert so.py_connect(PID, t, ip_int(PEER), 80) == E["E_INVAL"]
    assert so.py_tcp_send(PID, t, b"x") == E["E_NOTCONN"] and so.py_tcp_recv(PID, t) == E["E_INVAL"]
    assert so.py_send(PID, t, ip_int(PEER), 5, b"x") == E["E_INVAL"]      # udp_send on TCP


def test_the_udp_half_still_works_beside_tcp():
    from scapy.all import UDP
    s = Stack()
    u = s.socket.py_open(PID, SOCK_UDP)
    t = listener(s, port=7)
    assert s.socket.py_bind(PID, u, 7) == 7
    s.feed(IP(src=PEER, dst=ME) / UDP(sport=5555, dport=7) / b"ping")
    assert s.socket.py_recv(PID, u)[0] == b"ping" and s.socket.py_woken() == [u]
    assert not s.socket.py_readable(t)


def test_backlog_full_drops_the_syn_without_an_answer():
    s = Stack()
    l = listener(s, backlog=1)
    Conn(s, 80, 40001).open_passive()
    c = Conn(s, 80, 40002)
    c.send("S")
    assert c.got() == [] and s.drops()["tcp-full"] == 1
    s.socket.py_accept(PID, l)
    c.send("S", seq=1000)
    assert flags(c.got()[0]) == "SA"


def test_a_new_syn_in_time_wait_starts_a_new_connection():
    s = Stack(b"tcp_msl=10000")
    l, k, c = accepted(s)
    s.socket.py_close(PID, k)
    c.got()
    c.ack += 1
    c.send("FA")
    c.got()
    assert s.tcp.py_states() == {"LISTEN": 1, "TIME_WAIT": 1}
    c2 = Conn(s, 80, 40000, isn=c.seq + 100000)
    c2.open_passive()
    assert s.tcp.py_states() == {"LISTEN": 1, "ESTABLISHED": 1}
    assert s.socket.py_accept(PID, l)[2] == 40000


# ---- properties ------------------------------------------------------------------------------------
segment_ops = st.lists(st.tuples(
    st.sampled_from(["S", "A", "PA", "FA", "R", "RA", "SA", "F", "U", "FPA", "AE"]),
    st.one_of(st.sampled_from([0, 0, 0, 1, -1, 1460, 2920, 4095, 4096]), st.integers(-50, 4200),
              st.integers(-3000, 70000), st.integers(0, (1 << 32) - 1)),     # seq, from the peer's next
    st.one_of(st.sampled_from([0, 0, 700, 1460, 3000]), st.integers(-3000, 3000),
              st.integers(0, (1 << 32) - 1)),                                # ack, from what it saw
    st.integers(0, 1600),
    st.sampled_from([[], [("MSS", 0)], [("MSS", 65535)], [("NOP", None), ("WScale", 14)],
                     [("Timestamp", (1, 2))], [("SAckOK", b"")]]),
    st.integers(0, 65535),
    st.sampled_from(["none", "tick", "read", "write", "close", "tick50"])), max_size=40)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(segment_ops)
def test_random_segments_never_break_the_connection_table(ops):
    s = Stack(b"tcp_rcvbuf=4096 tcp_sndbuf=4096 tcp_msl=50 tcp_retries=3 tcp_fin_timeout=500")
    l, k, c = accepted(s)
    s.socket.py_tcp_send(PID, k, b"x" * 3000)
    closed = False
    for fl, seq, ack, n, opts, win, act in ops:
        seq = (c.seq + seq) & 0xFFFFFFFF if seq < 70001 else seq
        ack = (c.ack + ack) & 0xFFFFFFFF if -3000 <= ack <= 3000 else ack
        c.send(fl, bytes(n), seq=seq, ack=ack, win=win, options=opts)
        if seq == c.seq and "S" not in fl and "R" not in fl:
            c.seq = (c.seq + n + ("F" in fl)) & 0xFFFFFFFF      # taken in order: the peer moves on
        if act == "tick":
            s.tick()
        elif act == "tick50":
            s.tick(50)
        elif act == "read" and not closed:
            s.socket.py_tcp_recv(PID, k)
        elif act == "write" and not closed:
            s.socket.py_tcp_send(PID, k, b"y" * 700)
        elif act == "close" and not closed:
            s.socket.py_close(PID, k)
            closed = True
        s.take()
        assert s.tcp.py_check() == 0
    s.socket.py_close_all(PID)
    for _ in range(12):
        s.tick(100)
        s.take()
    assert s.tcp.py_count() == 0 and s.tcp.py_check() == 0 and heap_sound()
