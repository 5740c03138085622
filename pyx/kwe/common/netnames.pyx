# See netnames.pxd.  One string, so no table needs setting up at run time.
cdef const char* drop_name(int i) noexcept nogil:
    cdef const char* all = (b"short\0not-us\0ethertype\0arp-bad\0ip-header\0ip-checksum\0"
                            b"ip-fragment\0ip-protocol\0ip-source\0icmp-bad\0icmp-type\0udp-bad\0"
                            b"udp-checksum\0udp-no-port\0udp-full\0tcp-bad\0tcp-no-port\0tcp-full\0"
                            b"arp-unresolved\0no-route\0tx-full\0too-big\0")
    cdef int k = 0
    if i < 0 or i >= DROP_NAMES:
        return b"?"
    while k < i:
        while all[0] != 0:
            all += 1
        all += 1
        k += 1
    return all

def py_drop_name(int i):
    return drop_name(i).decode()
