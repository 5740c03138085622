# Sockets: the ends of network conversations that processes hold.
#
# A socket belongs to the process that opened it (others get E_BADF) and
# is charged to its account: the socket itself (RES_SOCKETS, and its heap
# bytes) and every datagram waiting in it (heap bytes), so a process that
# never reads fills its own quota, not the kernel.  A socket's waiting
# datagrams are capped at udp_queue= bytes (default 256 KiB; past it they
# are dropped and counted, DROP_UDP_FULL).  When a process ends, its
# sockets close.  Socket ids carry a generation, so a closed id stays
# invalid after its slot is reused.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from kwe.mm.account cimport Account

cdef enum:
    EPHEMERAL_FIRST = 49152
    DEFAULT_UDP_QUEUE = 262144
    DEFAULT_TABLE = 4096

# Called when a socket may now be read (a datagram or a connection came,
# or it closed), so whoever waits on it can be answered.
ctypedef void (*Wake)(uint32_t sock) noexcept nogil

cdef void init() noexcept nogil     # once per machine: boot, or a hosted test's fresh one
cdef void set_wake(Wake w) noexcept nogil
# A new socket of `type` (abi.SOCK_UDP / SOCK_TCP) for pid; its id (> 0) or E_INVAL / E_QUOTA / E_NOMEM.
cdef int64_t open(uint32_t pid, Account* a, int type) noexcept nogil
# Bind to port (0: a free ephemeral one); the port, or E_EXIST / E_INVAL / E_BADF.
cdef int64_t bind(uint32_t pid, uint32_t sock, uint16_t port) noexcept nogil
# Send one datagram; bytes sent, or E_TOOBIG / E_BADF / E_AGAIN (not sent).
cdef int64_t udp_send(uint32_t pid, uint32_t sock, uint32_t ip, uint16_t port,
                      const uint8_t* data, uint32_t n) noexcept nogil
# The next waiting datagram (cut to cap; *full gets its real length), its
# sender in *ip and *port; E_AGAIN when none waits.
cdef int64_t udp_recv(uint32_t pid, uint32_t sock, uint8_t* out, uint32_t cap,
                      uint32_t* full, uint32_t* ip, uint16_t* port) noexcept nogil
cdef bint readable(uint32_t sock) noexcept nogil
cdef int64_t close(uint32_t pid, uint32_t sock) noexcept nogil
# pid ended: every socket it held closes; returns how many.
cdef uint32_t close_all(uint32_t pid) noexcept nogil
cdef uint32_t count() noexcept nogil
# From udp.input: a checked datagram for port (dropped and counted if
# nobody bound it or its queue is full).
cdef void udp_deliver(uint16_t port, uint32_t src, uint16_t sport, const uint8_t* data, uint32_t n) noexcept nogil
