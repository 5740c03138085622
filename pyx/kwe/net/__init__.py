"""net: the TCP/IP stack (docs/net.md).

Owns the byte-order and checksum helpers (inet), the interface: its address, its counters
and the card under it (netif), Ethernet (ether), ARP with its cache (arp), IPv4 (ipv4),
ICMP echo (icmp), UDP (udp) and the sockets processes hold (socket).
May use: every part before it (common .. fs).
"""
