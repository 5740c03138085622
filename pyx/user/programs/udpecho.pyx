# udpecho [PORT [COUNT]]: the UDP echo service (RFC 862, port 7 by
# default): every datagram goes back to its sender as it came.  Runs until
# killed, or (COUNT given: tests) exits 0 after COUNT datagrams.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from user cimport sdk, net
from kwe.common cimport abi

cdef uint8_t buf[2048]

cdef public int umain() noexcept nogil:
    cdef uint16_t port = <uint16_t>sdk.arg_u64(0, 7)
    cdef uint64_t count = sdk.arg_u64(1, 0), served = 0
    cdef int64_t sock = net.socket(abi.SOCK_UDP)
    cdef int64_t n, err = sock
    cdef uint32_t ip = 0
    cdef uint16_t from_port = 0
    if sock >= 0:
        err = net.bind(sock, port)
    if err < 0:
        sdk.printf(b"udpecho: cannot bind UDP port %u: %e\n", port, <uint64_t>err)
        return 1
    sdk.printf(b"udpecho: listening on UDP port %u\n", port)
    while count == 0 or served < count:
        n = net.recv_from(sock, buf, sizeof(buf), &ip, &from_port)
        if n < 0:
            sdk.printf(b"udpecho: recv: %e\n", <uint64_t>n)
            return 1
        net.send_to(sock, ip, from_port, buf, <uint32_t>n)
        served += 1
    sdk.printf(b"udpecho: served %u datagrams\n", served)
    return 0
