"""The stack in the booted kernel, from outside.  Over -netdev dgram
(127.0.0.1 both ends) a test plays the other host with scapy: ARP, ping,
UDP echo, and malformed frames dropped and counted while the kernel keeps
serving; tshark reads the session's capture.  (UDP cannot be tested through
QEMU's user networking: with restrict=on, libslirp drops every UDP datagram
the guest sends, DHCP and TFTP aside -- docs/net.md.)  Nothing leaves this host."""
import logging
import re
import socket
import subprocess
import time

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import Ether, ARP, IP, ICMP, UDP, Raw, raw     # noqa: E402
from netwire import Wire, MAC, LOOPBACK                       # noqa: E402
from kwecli import qemu                                      # noqa: E402

ME, PEER_IP, PEER_MAC = "10.0.2.15", "10.0.2.2", "02:aa:bb:cc:dd:ee"


class Peer:
    """The host at the other end of the wire, speaking through scapy."""

    def __init__(self, wire):
        self.wire = wire

    def ask(self, frame, match, timeout=20):
        """Send frame; the first frame back that match() accepts (others are skipped)."""
        self.wire.send(raw(frame))
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.wire.sock.settimeout(max(0.05, end - time.monotonic()))
            try:
                got = Ether(self.wire.recv())
            except socket.timeout:
                break
            if match(got):
                return got
        return None

    def quiet(self, frame, seconds=0.5):
        """Send frame and collect whatever comes back for a while."""
        self.wire.send(frame if isinstance(frame, bytes) else raw(frame))
        out, end = [], time.monotonic() + seconds
        while time.monotonic() < end:
            self.wire.sock.settimeout(max(0.01, end - time.monotonic()))
            try:
                out.append(Ether(self.wire.recv()))
            except socket.timeout:
                break
        return out

    def ip(self, payload, **kw):
        return Ether(src=PEER_MAC, dst=MAC) / IP(src=PEER_IP, dst=ME, **kw) / payload


def is_arp_reply(f):
    return ARP in f and f[ARP].op == 2 and f[ARP].psrc == ME


def is_echo_reply(ident):
    return lambda f: ICMP in f and f[ICMP].type == 0 and f[ICMP].id == ident


def is_udp_from(port):
    return lambda f: UDP in f and f[UDP].sport == port


def serve(wire, datagrams, capture):
    """A kernel whose init is udpecho, ending after `datagrams` datagrams;
    everything on the wire is captured to `capture` (pcap)."""
    net = wire.net() + ["-object", f"filter-dump,id=cap,netdev=n0,file={capture}"]
    return qemu.Session(f"run=init init=udpecho args=7,{datagrams}", net=net)


def tshark_problems(capture, mac):
    """Frames from mac that tshark, checksums checked, calls malformed or in error."""
    out = subprocess.run(["tshark", "-r", str(capture), "-o", "ip.check_checksum:TRUE",
                          "-o", "udp.check_checksum:TRUE", "-Y",
                          f"eth.src == {mac} && (_ws.malformed || _ws.expert.severity == error)",
                          "-T", "fields", "-e", "frame.number"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_arp_ping_udp_echo_and_malformed_frames_over_a_raw_link(tmp_path):
    wire = Wire()
    capture = tmp_path / "session.pcap"
    with serve(wire, 3, capture) as s:
        s.wait_for("udpecho: listening on UDP port 7", timeout=60)
        peer = Peer(wire)
        a = peer.ask(Ether(src=PEER_MAC, dst="ff:ff:ff:ff:ff:ff") /
                     ARP(op=1, hwsrc=PEER_MAC, psrc=PEER_IP, pdst=ME), is_arp_reply)
        assert a is not None, s.log
        assert a.src == MAC and a[ARP].hwsrc == MAC and a[ARP].pdst == PEER_IP
        data = bytes(range(200))
        r = peer.ask(peer.ip(ICMP(type=8, id=0x4B57, seq=1) / data), is_echo_reply(0x4B57))
        assert r is not None and r[ICMP].seq == 1 and r[Raw].load == data
        check = Ether(raw(r))
        del check[IP].chksum, check[ICMP].chksum
        check = Ether(raw(check))
        assert (check[IP].chksum, check[ICMP].chksum) == (r[IP].chksum, r[ICMP].chksum)
        good = raw(peer.ip(ICMP(type=8, id=9, seq=9) / b"x"))
        bad = {
            "ip-checksum": good[:24] + b"\x00\x00" + good[26:],
            "ip-header": good[:14] + b"\x4f" + good[15:],              # IHL 60 bytes: past the packet
            "ip-fragment": raw(peer.ip(ICMP(type=8) / b"x", flags="MF")),
            "udp-checksum": raw(peer.ip(UDP(sport=5, dport=7, chksum=0xBAD) / b"bad")),
            "udp-bad": raw(peer.ip(UDP(sport=5, dport=7, len=400) / b"lying length")),
            "icmp-bad": raw(peer.ip(ICMP(type=8, chksum=1) / b"x")),
            "ethertype": raw(Ether(src=PEER_MAC, dst=MAC, type=0x88B5)) + bytes(50),
        }
        for name, frame in bad.items():
            assert [f for f in peer.quiet(frame, 0.3) if IP in f] == [], name
        # cut inside the IP header: the card pads it to 60 bytes, so what is
        # left reads as an IP header with a wrong checksum or length
        assert [f for f in peer.quiet(good[:14 + 12], 0.3) if IP in f] == []
        for i in range(3):                                     # still serving: the echoes end udpecho
            payload = b"echo %d " % i + bytes(range(256)) * 4
            r = peer.ask(peer.ip(UDP(sport=4000 + i, dport=7) / payload), is_udp_from(7))
            assert r is not None, s.log
            assert r[UDP].dport == 4000 + i and r[Raw].load == payload
        b = s.finish(timeout=60)
    wire.close()
    assert b.ok, b.log
    assert "udpecho: served 3 datagrams" in b.log
    counted = dict((k, int(v)) for k, v in re.findall(r" ([a-z-]+) (\d+)",
                                                     re.search(r"^net: rx .*$", b.log, re.M).group(0)))
    for name in bad:
        assert counted.get(name, 0) >= 1, (name, counted)
    assert counted["ip-checksum"] + counted["ip-header"] >= 3, counted
    # tshark, a dissector nobody here wrote, finds nothing wrong in what KWE
    # sent -- and does find the test's own broken frames, so it was looking
    assert tshark_problems(capture, MAC) == []
    assert len(tshark_problems(capture, PEER_MAC)) >= 3


def test_tcp_echo_through_qemu_user_networking_from_127_0_0_1():
    """Python's socket (the host's TCP, through QEMU's user network) against
    tcpecho: a MiB round trip checked by SHA-256, then a client that leaves
    in the middle, then one more that must still be served."""
    import hashlib
    port = qemu.free_port()
    net = ["-netdev", f"user,id=n0,restrict=on,hostfwd=tcp:{LOOPBACK}:{port}-:7",
           "-device", f"e1000,netdev=n0,mac={MAC}"]
    data = hashlib.sha256(b"kwe").digest() * (1 << 15)       # 1 MiB
    with qemu.Session("run=init init=tcpecho args=7,3", net=net) as s:
        s.wait_for("tcpecho: listening on TCP port 7", timeout=60)
        c = socket.create_connection((LOOPBACK, port), timeout=60)
        back = bytearray()

        def reader():
            while len(back) < len(data):
                chunk = c.recv(65536)
                if not chunk:
                    break
                back.extend(chunk)

        import threading
        t = threading.Thread(target=reader)
        t.start()
        c.sendall(data)
        t.join(120)
        c.close()
        assert hashlib.sha256(back).digest() == hashlib.sha256(data).digest(), (len(back), s.log)
        rude = socket.create_connection((LOOPBACK, port), timeout=60)
        rude.sendall(bytes(200000))
        rude.close()                                      # leaves with its echo unread
        last = socket.create_connection((LOOPBACK, port), timeout=60)
        last.sendall(b"still there?")
        assert last.recv(100) == b"still there?"
        last.close()
        b = s.finish(timeout=60)
    assert b.ok, b.log
    assert f"tcpecho: connection 1: {len(data)} bytes" in b.log
    assert "tcpecho: served 3 connections" in b.log


def test_tcp_over_a_raw_link_survives_a_syn_flood_and_bogus_segments():
    """scapy as the other host: 300 SYNs that never complete (the listener's
    half-open queue stays bounded, the excess dropped and counted), segments
    with a bad checksum, impossible flags and a header past the packet
    (dropped and counted), then a real handshake whose bytes are echoed."""
    from scapy.all import TCP
    wire = Wire()
    with qemu.Session("run=init init=tcpecho args=7,1", net=wire.net()) as s:
        s.wait_for("tcpecho: listening on TCP port 7", timeout=60)
        peer = Peer(wire)
        assert peer.ask(Ether(src=PEER_MAC, dst="ff:ff:ff:ff:ff:ff") /
                        ARP(op=1, hwsrc=PEER_MAC, psrc=PEER_IP, pdst=ME), is_arp_reply) is not None
        for i in range(300):
            wire.send(raw(peer.ip(TCP(sport=20000 + i, dport=7, flags="S", seq=i))))
        good = raw(peer.ip(TCP(sport=5555, dport=7, flags="S", seq=1)))
        bogus = {"checksum": good[:50] + b"\xde\xad" + good[52:],
                 "syn-fin": raw(peer.ip(TCP(sport=5556, dport=7, flags="SF", seq=1))),
                 "offset": good[:46] + b"\xf0" + good[47:]}           # a 60-byte header in 20
        for name, frame in bogus.items():
            assert [f for f in peer.quiet(frame, 0.3) if TCP in f and f[TCP].dport in (5555, 5556)] == [], name
        mine = lambda f: TCP in f and f[TCP].dport == 40000           # noqa: E731
        sa = peer.ask(peer.ip(TCP(sport=40000, dport=7, flags="S", seq=1000, options=[("MSS", 1460)])),
                      lambda f: mine(f) and f[TCP].flags == "SA")
        assert sa is not None and sa[TCP].ack == 1001, s.log
        ack = sa[TCP].seq + 1
        wire.send(raw(peer.ip(TCP(sport=40000, dport=7, flags="A", seq=1001, ack=ack))))
        data = b"through the flood " * 20
        back = peer.ask(peer.ip(TCP(sport=40000, dport=7, flags="PA", seq=1001, ack=ack) / data),
                        lambda f: mine(f) and Raw in f)
        assert back is not None and back[Raw].load == data, s.log
        fin = peer.ask(peer.ip(TCP(sport=40000, dport=7, flags="FA", seq=1001 + len(data), ack=ack + len(data))),
                       lambda f: mine(f) and "F" in str(f[TCP].flags))
        assert fin is not None, s.log
        wire.send(raw(peer.ip(TCP(sport=40000, dport=7, flags="A", seq=1002 + len(data), ack=fin[TCP].seq + 1))))
        b = s.finish(timeout=60)
    wire.close()
    assert b.ok, b.log
    assert f"tcpecho: connection 1: {len(data)} bytes" in b.log
    counted = dict((k, int(v)) for k, v in re.findall(r" ([a-z-]+) (\d+)",
                                                     re.search(r"^net: rx .*$", b.log, re.M).group(0)))
    assert counted.get("tcp-bad", 0) >= 3 and counted.get("tcp-full", 0) >= 1, counted
