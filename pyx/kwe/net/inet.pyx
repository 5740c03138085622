# See inet.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t

cdef uint32_t sum_add(uint32_t acc, const uint8_t* p, uint32_t n) noexcept nogil:
    cdef uint64_t s = acc
    cdef uint32_t i = 0
    while i + 1 < n:
        s += (<uint32_t>p[i] << 8) | p[i + 1]
        i += 2
    if i < n:
        s += <uint32_t>p[i] << 8            # an odd last byte is padded with zero
    while s >> 32:
        s = (s & 0xFFFFFFFFU) + (s >> 32)
    return <uint32_t>s

cdef uint16_t sum_fold(uint32_t acc) noexcept nogil:
    while acc >> 16:
        acc = (acc & 0xFFFF) + (acc >> 16)
    return <uint16_t>(~acc & 0xFFFF)

cdef uint16_t checksum(const uint8_t* p, uint32_t n) noexcept nogil:
    return sum_fold(sum_add(0, p, n))

cdef uint32_t pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint32_t n) noexcept nogil:
    cdef uint64_t s = (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF)
    s += proto + (n >> 16) + (n & 0xFFFF)
    return <uint32_t>((s & 0xFFFFFFFFU) + (s >> 32))

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

def py_checksum(bytes data):
    return checksum(data, <uint32_t>len(data))

def py_parse_ip(bytes s):
    cdef uint32_t ip = 0
    return ip if parse_ip(s, &ip) else None

def py_format_ip(uint32_t ip):
    cdef char out[16]
    format_ip(ip, out)
    return out.decode()
