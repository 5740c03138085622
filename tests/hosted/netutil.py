"""A hosted network stack with the test as the card, and scapy (a stack nobody
here wrote) to build what it receives and to read what it sends."""
import logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import Ether, ARP, IP, ICMP, UDP, TCP, Raw, raw      # noqa: E402
from kwe.dev import pit                                              # noqa: E402
from kwe.net import netif, socket                                     # noqa: E402
from kwe.common import netnames                                      # noqa: E402
from memory import fresh                                             # noqa: E402

ME_MAC = "52:54:00:12:34:56"
ME_IP = "10.0.2.15"
PEER_MAC = "52:55:0a:00:02:02"
PEER_IP = "10.0.2.2"


def ip_int(s):
    return netnames.py_parse_ip(s.encode())


def stack():
    """A fresh machine and stack; returns the netif module."""
    fresh()
    pit.py_init(100)
    assert netif.py_init()
    socket.py_init()
    return netif


def to_me(payload, src=PEER_IP, dst=ME_IP, mac_src=PEER_MAC, mac_dst=ME_MAC):
    return Ether(src=mac_src, dst=mac_dst) / IP(src=src, dst=dst) / payload


def send(frame):
    """Hand the stack one frame; the frames it sent back, parsed."""
    netif.py_input(frame if isinstance(frame, bytes) else raw(frame))
    return [Ether(f) for f in netif.py_sent()]


def learn_peer():
    """The peer (the gateway) asks who we are: we learn its MAC too."""
    return send(Ether(src=PEER_MAC, dst="ff:ff:ff:ff:ff:ff") /
                ARP(op=1, hwsrc=PEER_MAC, psrc=PEER_IP, pdst=ME_IP))


def drops():
    return netif.py_stats()["drops"]


def ticks(n):
    for _ in range(n):
        pit.py_tick()
    netif.py_poll()
