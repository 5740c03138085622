"""A hosted network stack (kwe.net) and a TCP peer played with scapy: the
test builds the frames the stack receives and parses, with a TCP/IP
implementation nobody here wrote, the frames it sends."""
import logging

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import ARP, IP, TCP, Ether, Raw, raw  # noqa: E402

from kwe.base import cmdline  # noqa: E402
from kwecli.hosted import MiB, fresh  # noqa: E402

ME = "10.0.2.15"
ME_MAC = "52:54:00:12:34:56"
PEER = "10.0.2.2"
PEER_MAC = "52:55:0a:00:02:02"
E = {"E_INVAL": -1, "E_NOMEM": -5, "E_AGAIN": -7, "E_NOTSUP": -8, "E_EXIST": -11, "E_QUOTA": -15,
     "E_BADF": -17, "E_CONNREFUSED": -24, "E_CONNRESET": -25, "E_TIMEDOUT": -26, "E_NOTCONN": -27}
SOCK_UDP, SOCK_TCP = 1, 2
ST = {name: i for i, name in enumerate(["CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED",
                                         "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING",
                                         "LAST_ACK", "TIME_WAIT"])}


def ip_int(s):
    a, b, c, d = map(int, s.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


class Stack:
    """A fresh simulated machine with the stack up; the clock at 100 Hz."""

    def __init__(self, line=b"", ram=16 * MiB):
        from kwe.dev import pit
        from kwe.net import netif, socket, tcp
        cmdline.py_set_line(b"arp_ttl=1000000000 " + line)
        fresh(ram=ram)
        pit.py_init(100)
        netif.py_init()
        socket.py_init()
        cmdline.py_set_line(b"")
        self.pit, self.netif, self.socket, self.tcp = pit, netif, socket, tcp
        self.ms = 0
        self.outbox = []                    # frames sent, not yet taken by a test
        self.netif.py_input(raw(Ether(dst="ff:ff:ff:ff:ff:ff", src=PEER_MAC) /
                                ARP(op=1, hwsrc=PEER_MAC, psrc=PEER, pdst=ME)))
        self.netif.py_sent()                # the ARP reply

    def tick(self, n=1):
        for _ in range(n):
            self.pit.py_tick()
            self.netif.py_poll()
            self.ms += 10

    def drops(self):
        return self.netif.py_stats()["drops"]

    def stats(self):
        return self.netif.py_stats()

    def take(self):
        """IP packets (scapy) the stack sent since the last call; ARP requests
        for the peer are answered, as a real peer would."""
        out = []
        for f in self.netif.py_sent():
            e = Ether(f)
            if ARP in e:
                if e[ARP].op == 1:
                    self.netif.py_input(raw(Ether(dst=ME_MAC, src=PEER_MAC) /
                                            ARP(op=2, hwsrc=PEER_MAC, psrc=e[ARP].pdst, hwdst=ME_MAC, pdst=ME)))
                    out += [Ether(g)[IP] for g in self.netif.py_sent() if IP in Ether(g)]
                continue
            out.append(e[IP])
        for p in out:
            check_checksums(p)
        return out

    def segments(self):
        return [p for p in self.take() if TCP in p]

    def feed(self, seg, src=PEER):
        """One IP packet (scapy, from IP up) in a frame to us."""
        self.netif.py_input(raw(Ether(dst=ME_MAC, src=PEER_MAC) / seg))

    def feed_raw_tcp(self, tcp_bytes, src=PEER):
        """A TCP header + data as given (its checksum as it is)."""
        self.netif.py_input(raw(Ether(dst=ME_MAC, src=PEER_MAC) / IP(src=src, dst=ME, proto=6) / tcp_bytes))


def check_checksums(p):
    """scapy recomputes the IP and TCP checksums: ours must match."""
    q = IP(raw(p))
    del q.chksum
    if TCP in q:
        del q[TCP].chksum
    q = IP(raw(q))
    assert q.chksum == p.chksum, "IP checksum"
    if TCP in p:
        assert q[TCP].chksum == p[TCP].chksum, "TCP checksum"


class Conn:
    """One TCP connection's peer end: its numbers, what it has seen."""

    def __init__(self, stack, lport, pport, ip=PEER, isn=1000, win=65535):
        self.s, self.lport, self.pport, self.ip = stack, lport, pport, ip
        self.seq = isn                      # next byte the peer sends (modulo 2^32)
        self.ack = 0                        # next byte the peer expects from the stack
        self.win = win

    seq = property(lambda self: self._seq, lambda self, v: setattr(self, "_seq", v & 0xFFFFFFFF))
    ack = property(lambda self: self._ack, lambda self, v: setattr(self, "_ack", v & 0xFFFFFFFF))

    def send(self, flags="A", data=b"", seq=None, ack=None, win=None, options=None):
        t = TCP(sport=self.pport, dport=self.lport, flags=flags,
                seq=self.seq if seq is None else seq & 0xFFFFFFFF, ack=self.ack if ack is None else ack & 0xFFFFFFFF,
                window=self.win if win is None else win, options=options or [])
        self.s.feed(IP(src=self.ip, dst=ME) / t / data)
        if seq is None:
            self.seq += len(data) + ("S" in flags) + ("F" in flags)

    def mine(self, pkts):
        return [p for p in pkts if TCP in p and p[TCP].dport == self.pport and p[TCP].sport == self.lport]

    def got(self):
        return self.mine(self.s.take())

    def open_passive(self, mss=1460):
        """SYN to a listener, its SYN-ACK, our ACK: established."""
        self.send("S", options=[("MSS", mss)])
        synack = self.got()
        assert len(synack) == 1 and synack[0][TCP].flags == "SA", synack
        self.ack = synack[0][TCP].seq + 1
        self.send("A")
        return synack[0]


def flags(p):
    return str(p[TCP].flags)


def payload(p):
    return bytes(p[Raw].load) if Raw in p else b""
