# See netnames.pxd.
from libc.stdint cimport uint32_t

cdef const char* drop_name(int i) noexcept nogil:
    cdef const char* all = (b"short\0not-us\0ethertype\0arp-bad\0ip-header\0ip-checksum\0"
                            b"ip-fragment\0ip-protocol\0ip-source\0icmp-bad\0icmp-type\0udp-bad\0"
                            b"udp-checksum\0udp-no-port\0udp-full\0tcp-bad\0tcp-no-port\0tcp-full\0"
                            b"arp-unresolved\0no-route\0tx-full\0too-big\0")
    cdef int k = 0                  # one string: no table to set up at run time
    if i < 0 or i >= DROP_NAMES:
        return b"?"
    while k < i:
        while all[0] != 0:
            all += 1
        all += 1
        k += 1
    return all

cdef bint parse_ip(const char* s, uint32_t* out) noexcept nogil:
    cdef uint32_t ip = 0, part
    cdef int parts = 0, digits
    while parts < 4:
        part = 0
        digits = 0
        while s[0] >= c'0' and s[0] <= c'9' and digits < 4:
            part = part * 10 + <uint32_t>(s[0] - c'0')
            digits += 1
            s += 1
        if digits == 0 or digits > 3 or part > 255:
            return False
        ip = (ip << 8) | part
        parts += 1
        if parts < 4:
            if s[0] != c'.':
                return False
            s += 1
    if s[0] != 0:
        return False
    out[0] = ip
    return True

cdef char* put_decimal(char* o, uint32_t v) noexcept nogil:
    if v >= 100:
        o[0] = <char>(c'0' + v // 100)
        o += 1
    if v >= 10:
        o[0] = <char>(c'0' + (v // 10) % 10)
        o += 1
    o[0] = <char>(c'0' + v % 10)
    return o + 1

cdef void format_ip(uint32_t ip, char* out) noexcept nogil:
    cdef int i
    for i in range(4):
        out = put_decimal(out, (ip >> (24 - 8 * i)) & 0xFF)
        out[0] = c'.' if i < 3 else 0
        out += 1

cdef uint32_t prefix_length(uint32_t mask) noexcept nogil:
    cdef uint32_t n = 0
    while n < 32 and (mask << n) & 0x80000000U:
        n += 1
    return n

def py_drop_name(int i):
    return drop_name(i).decode()

def py_parse_ip(bytes s):
    cdef uint32_t ip = 0
    return ip if parse_ip(s, &ip) else None

def py_format_ip(uint32_t ip):
    cdef char out[16]
    format_ip(ip, out)
    return out.decode()
