# See net.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from user cimport sdk
from kwe.common cimport abi
from kwe.common.abi cimport EventSlot, Completion, NetStat

cdef EventSlot* ev(uint16_t op, uint64_t a0, uint64_t a1) noexcept nogil:
    cdef EventSlot* e = sdk.event(op)
    e.h.arg[0], e.h.arg[1] = a0, a1
    return e

cdef int64_t value_or_status(EventSlot* e) noexcept nogil:
    cdef Completion r
    if sdk.call(e, &r) < 0:
        return r.status
    return <int64_t>r.value

cdef int64_t socket(int type) noexcept nogil:
    return value_or_status(ev(abi.OP_NET_SOCKET, <uint64_t>type, 0))

cdef int64_t bind(uint64_t sock, uint16_t port) noexcept nogil:
    return value_or_status(ev(abi.OP_NET_BIND, sock, port))

cdef int close(uint64_t sock) noexcept nogil:
    return <int>value_or_status(ev(abi.OP_NET_CLOSE, sock, 0))

cdef int64_t send_to(uint64_t sock, uint32_t ip, uint16_t port, const void* data, uint32_t n) noexcept nogil:
    cdef EventSlot* e = ev(abi.OP_NET_SEND, sock, (<uint64_t>ip << 16) | port)
    sdk.set_input(e, data, n)
    return value_or_status(e)

cdef int64_t recv_from(uint64_t sock, void* buf, uint32_t cap, uint32_t* ip, uint16_t* port) noexcept nogil:
    cdef EventSlot* e = ev(abi.OP_NET_RECV, sock, cap)
    cdef Completion r
    sdk.set_output(e, buf, cap)
    if sdk.call(e, &r) < 0:
        return r.status
    ip[0] = <uint32_t>(r.value >> 16)
    port[0] = <uint16_t>r.value
    return r.length if r.length < cap else cap

cdef int stat(NetStat* out) noexcept nogil:
    cdef EventSlot* e = ev(abi.OP_NET_STAT, 0, 0)
    sdk.set_output(e, out, sizeof(NetStat))
    return <int>value_or_status(e)

cdef void format_ip(uint32_t ip, char* out) noexcept nogil:
    cdef int i, v
    for i in range(4):
        v = (ip >> (24 - 8 * i)) & 0xFF
        if v >= 100:
            out[0] = <char>(c'0' + v // 100)
            out += 1
        if v >= 10:
            out[0] = <char>(c'0' + (v // 10) % 10)
            out += 1
        out[0] = <char>(c'0' + v % 10)
        out[1] = c'.' if i < 3 else 0
        out += 2
