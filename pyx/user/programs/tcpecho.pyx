# tcpecho [PORT [COUNT]]: the TCP echo service (RFC 862, port 7 by
# default): each connection gets back every byte it sends until it closes.
# One connection at a time; with COUNT (tests), exits 0 after COUNT.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from user cimport sdk, net

cdef enum:
    CHUNK = 65536

cdef uint8_t buf[CHUNK]

cdef int64_t echo(int64_t conn) noexcept nogil:
    """Bytes echoed until the peer closed, or the E_* code that ended it."""
    cdef int64_t n, total = 0, sent
    while True:
        n = net.recv(conn, buf, CHUNK)
        if n <= 0:
            return total if n == 0 else n
        sent = net.send(conn, buf, <uint32_t>n)
        if sent < 0:
            return sent
        total += n

cdef public int umain() noexcept nogil:
    cdef uint16_t port = <uint16_t>sdk.arg_u64(0, 7)
    cdef uint64_t count = sdk.arg_u64(1, 0), served = 0
    cdef int64_t l = net.tcp_listener(port, 16), conn, r
    cdef uint32_t ip = 0
    cdef uint16_t from_port = 0
    if l < 0:
        sdk.printf(b"tcpecho: cannot listen on TCP port %u: %e\n", port, <uint64_t>l)
        return 1
    sdk.printf(b"tcpecho: listening on TCP port %u\n", port)
    while count == 0 or served < count:
        conn = net.accept(l, &ip, &from_port)
        if conn < 0:
            sdk.printf(b"tcpecho: accept: %e\n", <uint64_t>conn)
            return 1
        r = echo(conn)
        net.close(conn)
        served += 1
        if r < 0:
            sdk.printf(b"tcpecho: connection %u: %e\n", served, <uint64_t>r)
        else:
            sdk.printf(b"tcpecho: connection %u: %u bytes\n", served, <uint64_t>r)
    sdk.printf(b"tcpecho: served %u connections\n", served)
    return 0
