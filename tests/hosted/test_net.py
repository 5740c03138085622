"""The stack below TCP, hosted: Ethernet, ARP, IPv4, ICMP and UDP against
frames scapy builds, and what the stack sends read back by scapy."""
import struct
from hypothesis import given, settings, strategies as st, HealthCheck
from netutil import (Ether, ARP, IP, ICMP, UDP, TCP, Raw, raw, stack, send, learn_peer, drops,
                     ticks, to_me, ip_int, ME_MAC, ME_IP, PEER_MAC, PEER_IP)
from kwe.net import netif, socket, inet, arp
from kwe.common import netnames
from kwecli.abi import E_EXIST, E_BADF, E_AGAIN, E_TOOBIG, E_INVAL, E_NOTSUP

UDP_SOCK, TCP_SOCK = 1, 2


def test_checksum_and_addresses_agree_with_the_rfc():
    # RFC 1071's example: 0001 f203 f4f5 f6f7 sums to ddf2, checksum 220d
    assert inet.py_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D
    assert inet.py_checksum(b"\x01") == 0xFEFF                  # an odd byte is padded
    assert netnames.py_parse_ip(b"10.0.2.15") == 0x0A00020F
    assert netnames.py_format_ip(0x0A00020F) == "10.0.2.15"
    for bad in [b"", b"1.2.3", b"1.2.3.4.5", b"256.1.1.1", b"1.2.3.4x", b"1..2.3", b"1234.1.1.1", b"a.b.c.d"]:
        assert netnames.py_parse_ip(bad) is None, bad


def test_arp_request_for_us_is_answered_and_the_asker_learned():
    stack()
    out = learn_peer()
    assert len(out) == 1
    a = out[0]
    assert a.dst == PEER_MAC and a.src == ME_MAC and a[ARP].op == 2
    assert (a[ARP].hwsrc, a[ARP].psrc, a[ARP].hwdst, a[ARP].pdst) == (ME_MAC, ME_IP, PEER_MAC, PEER_IP)
    assert len(raw(a)) == 60                                    # padded to the minimum frame
    assert arp.py_lookup(ip_int(PEER_IP)) == bytes.fromhex(PEER_MAC.replace(":", ""))


def test_arp_for_another_host_is_not_answered_nor_learned():
    stack()
    out = send(Ether(src=PEER_MAC, dst="ff:ff:ff:ff:ff:ff") /
               ARP(op=1, hwsrc=PEER_MAC, psrc=PEER_IP, pdst="10.0.2.99"))
    assert out == [] and arp.py_lookup(ip_int(PEER_IP)) is None


def test_ping_is_answered_with_the_same_identifier_sequence_and_data():
    stack()
    learn_peer()
    data = bytes(range(256)) * 4
    out = send(to_me(ICMP(type=8, id=0x1234, seq=77) / data))
    assert len(out) == 1
    r = out[0]
    assert r[IP].src == ME_IP and r[IP].dst == PEER_IP and r[ICMP].type == 0
    assert (r[ICMP].id, r[ICMP].seq, bytes(r[ICMP].payload)) == (0x1234, 77, data)
    # scapy recomputes both checksums: they must be what we sent
    again = Ether(raw(r))
    del again[IP].chksum, again[ICMP].chksum
    again = Ether(raw(again))
    assert (again[IP].chksum, again[ICMP].chksum) == (r[IP].chksum, r[ICMP].chksum)


def test_a_reply_to_an_unknown_peer_waits_for_arp_then_goes():
    stack()
    out = send(to_me(ICMP(type=8, id=1, seq=1) / b"x"))
    assert len(out) == 1 and out[0][ARP].op == 1 and out[0][ARP].pdst == PEER_IP
    assert out[0].dst == "ff:ff:ff:ff:ff:ff"
    out = send(Ether(src=PEER_MAC, dst=ME_MAC) / ARP(op=2, hwsrc=PEER_MAC, psrc=PEER_IP,
                                                     hwdst=ME_MAC, pdst=ME_IP))
    assert len(out) == 1 and out[0][ICMP].type == 0 and out[0].dst == PEER_MAC


def test_unanswered_arp_is_retried_then_the_packet_dropped_and_counted():
    stack()
    send(to_me(ICMP(type=8) / b"x"))
    retries = []
    for _ in range(500):                        # 5 s of 10 ms ticks
        ticks(1)
        retries += [f for f in (Ether(x) for x in netif.py_sent()) if ARP in f]
    assert len(retries) == 2                    # three requests in all: the first went at once
    assert drops().get("arp-unresolved") == 1


def test_arp_cache_entries_expire():
    stack()
    learn_peer()
    assert arp.py_lookup(ip_int(PEER_IP)) is not None
    ticks(60 * 100 + 1)
    assert arp.py_lookup(ip_int(PEER_IP)) is None


def udp_socket(port=7, pid=1):
    s = socket.py_open(pid, UDP_SOCK)
    assert s > 0 and socket.py_bind(pid, s, port) == port
    return s


def test_udp_datagrams_reach_the_bound_socket_and_replies_carry_a_right_checksum():
    stack()
    learn_peer()
    s = udp_socket()
    assert send(to_me(UDP(sport=5555, dport=7) / b"ping")) == []
    assert socket.py_recv(1, s) == (b"ping", 4, ip_int(PEER_IP), 5555)
    assert socket.py_recv(1, s) == E_AGAIN
    assert socket.py_send(1, s, ip_int(PEER_IP), 5555, b"pong") == 4
    r = netif.py_sent()
    assert len(r) == 1
    f = Ether(r[0])
    assert (f[UDP].sport, f[UDP].dport, f[Raw].load) == (7, 5555, b"pong")
    again = Ether(r[0])
    del again[UDP].chksum
    assert Ether(raw(again))[UDP].chksum == f[UDP].chksum != 0


def test_udp_without_checksum_is_accepted_and_a_wrong_one_dropped():
    stack()
    s = udp_socket()
    send(to_me(UDP(sport=1, dport=7, chksum=0) / b"no sum"))
    send(to_me(UDP(sport=1, dport=7, chksum=0x1234) / b"bad sum"))
    assert socket.py_recv(1, s)[0] == b"no sum"
    assert socket.py_recv(1, s) == E_AGAIN
    assert drops() == {"udp-checksum": 1}


def test_udp_to_a_port_nobody_bound_is_counted():
    stack()
    send(to_me(UDP(sport=1, dport=9) / b"x"))
    assert drops() == {"udp-no-port": 1}


def test_udp_socket_rules():
    stack()
    s = udp_socket(7)
    t = socket.py_open(1, UDP_SOCK)
    assert socket.py_bind(1, t, 7) == E_EXIST
    assert socket.py_bind(2, t, 8) == E_BADF                  # another process's socket
    assert socket.py_bind(1, t, 0) >= 49152                   # an ephemeral port
    assert socket.py_send(1, s, ip_int(PEER_IP), 1, b"x" * 1473) == E_TOOBIG
    assert socket.py_send(1, s, ip_int(PEER_IP), 0, b"x") == E_INVAL
    assert socket.py_open(1, 99) == E_INVAL
    assert socket.py_close(1, s) == 0
    assert socket.py_close(1, s) == E_BADF
    u = socket.py_open(1, UDP_SOCK)
    assert u != s and socket.py_recv(1, s) == E_BADF          # a closed id stays invalid
    assert socket.py_close_all(1) == 2


def test_udp_queue_is_bounded_and_counted():
    stack()
    s = udp_socket()
    for i in range(300):
        send(to_me(UDP(sport=1, dport=7) / (b"%04d" % i + bytes(1020))))
    got = 0
    while socket.py_recv(1, s) != E_AGAIN:
        got += 1
    assert got == 256 and drops() == {"udp-full": 300 - 256}


def test_other_hosts_frames_and_packets_are_dropped_and_counted():
    stack()
    send(Ether(src=PEER_MAC, dst="52:54:00:99:99:99") / IP(src=PEER_IP, dst=ME_IP) / ICMP())
    send(to_me(ICMP(), dst="10.0.2.16"))
    send(to_me(ICMP(), src="127.0.0.1"))
    send(to_me(ICMP(), src=ME_IP))
    send(raw(Ether(src=PEER_MAC, dst=ME_MAC, type=0x86DD)) + b"\x60" + bytes(60))
    assert drops() == {"not-us": 2, "ip-source": 2, "ethertype": 1}


def test_malformed_ip_headers_are_dropped_with_their_reason():
    stack()
    learn_peer()
    good = raw(IP(src=PEER_IP, dst=ME_IP) / ICMP() / b"abcd")
    eth = raw(Ether(src=PEER_MAC, dst=ME_MAC, type=0x0800))
    cases = {
        "short": good[:19],
        "ip-header": bytes([0x65]) + good[1:],                 # version 6
        "ip-checksum": good[:10] + b"\x00\x00" + good[12:],
    }
    for reason, pkt in cases.items():
        before = drops().get(reason, 0)
        assert send(eth + pkt) == []
        assert drops().get(reason, 0) == before + 1, reason
    for ihl, total in [(4, len(good)), (15, len(good)), (5, 19), (5, len(good) + 1), (5, 0xFFFF)]:
        p = IP(raw(good))
        p.ihl, p.len = ihl, total
        del p.chksum
        assert send(eth + raw(p)[:len(good)]) == []
    assert drops().get("ip-header", 0) + drops().get("ip-checksum", 0) >= 6
    frag = IP(src=PEER_IP, dst=ME_IP, flags="MF") / ICMP() / b"x"
    assert send(Ether(src=PEER_MAC, dst=ME_MAC) / frag) == [] and drops()["ip-fragment"] == 1
    assert send(to_me(ICMP(type=8) / b"x", dst="10.0.2.255")) == []
    assert drops()["icmp-type"] == 1                           # a broadcast ping is not answered


def test_truncated_and_lying_udp_and_icmp_are_dropped():
    stack()
    udp_socket()
    p = raw(IP(src=PEER_IP, dst=ME_IP) / UDP(sport=1, dport=7) / b"12345678")
    eth = raw(Ether(src=PEER_MAC, dst=ME_MAC, type=0x0800))
    lying = bytearray(p)
    lying[24:26] = struct.pack(">H", 200)                        # UDP length past the packet
    send(eth + bytes(lying))
    lying[24:26] = struct.pack(">H", 4)                          # shorter than its header
    send(eth + bytes(lying))
    send(to_me(ICMP(chksum=1) / b"x"))
    assert drops() == {"udp-bad": 2, "icmp-bad": 1}


def test_padding_after_the_ip_packet_is_ignored():
    stack()
    s = udp_socket()
    send(raw(to_me(UDP(sport=1, dport=7) / b"hi")) + b"\xAA" * 30)
    assert socket.py_recv(1, s)[0] == b"hi"


def test_configuration_from_the_command_line_form():
    stack()
    assert netif.py_configure("192.168.7.2", 24, "192.168.7.1")
    assert not netif.py_configure("192.168.7.2", 24, "10.0.0.1")      # gateway off the subnet
    netif.py_configure(ME_IP, 24, PEER_IP)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=1600))
def test_any_bytes_as_a_frame_never_crash_and_are_counted(data):
    stack()
    before = netif.py_stats()
    netif.py_input(data)
    after = netif.py_stats()
    assert after["rx_frames"] == before["rx_frames"] + 1
    netif.py_sent()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=1500), st.integers(0, 255))
def test_any_bytes_after_valid_headers_never_crash(data, proto):
    stack()
    udp_socket()
    hdr = raw(Ether(src=PEER_MAC, dst=ME_MAC) / IP(src=PEER_IP, dst=ME_IP, proto=proto, len=20 + len(data)))
    netif.py_input(hdr + data)
    netif.py_sent()


def test_drop_reasons_have_one_name_in_the_kernel_the_programs_and_the_docs():
    import re
    from pathlib import Path
    from kwe.common import netnames
    root = Path(__file__).resolve().parents[2]
    enum = re.findall(r"^\s+DROP_([A-Z0-9_]+) = (\d+)", (root / "pyx/kwe/net/netif.pxd").read_text(), re.M)
    names = [n.lower().replace("_", "-") for n, i in enum if n != "COUNT"]
    assert [int(i) for n, i in enum if n != "COUNT"] == list(range(len(names)))
    assert [netnames.py_drop_name(i) for i in range(len(names))] == names
    assert netnames.py_drop_name(len(names)) == "?"
    doc = re.findall(r"^\| `([a-z0-9-]+)` \| (\d+) \|", (root / "docs/net.md").read_text(), re.M)
    assert doc == [(n, str(i)) for i, n in enumerate(names)]
