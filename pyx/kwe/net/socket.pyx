# See socket.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy, memset
from kwe.common cimport abi
from kwe.base cimport cmdline
from kwe.mm cimport heap, account
from kwe.mm.account cimport Account
from kwe.net cimport netif, udp

cdef struct Datagram:
    Datagram* next
    uint32_t src
    uint16_t sport
    uint32_t n
    uint8_t data[1]

cdef struct Socket:
    uint32_t id
    uint32_t pid
    Account* account
    uint8_t type
    uint16_t port               # 0: not bound
    Datagram* head
    Datagram* tail
    uint64_t queued             # bytes waiting

cdef Socket** table = NULL
cdef uint32_t table_size = 0
cdef uint32_t generation = 0
cdef uint32_t open_count = 0
cdef uint64_t queue_limit = 0
cdef uint16_t next_ephemeral = 0
cdef Wake wake = NULL

cdef void init() noexcept nogil:
    global table, table_size, queue_limit, next_ephemeral, open_count
    table_size = <uint32_t>cmdline.get_u64(b"socket_table", DEFAULT_TABLE)
    if table_size < 1 or table_size > 65535:
        table_size = DEFAULT_TABLE
    queue_limit = cmdline.get_u64(b"udp_queue", DEFAULT_UDP_QUEUE)
    table = <Socket**>heap.kzalloc(table_size * sizeof(Socket*))
    if table == NULL:
        table_size = 0
    next_ephemeral = EPHEMERAL_FIRST
    open_count = 0

cdef void set_wake(Wake w) noexcept nogil:
    global wake
    wake = w

cdef Socket* get(uint32_t pid, uint32_t id) noexcept nogil:
    cdef uint32_t slot = (id & 0xFFFF) - 1
    cdef Socket* s
    if slot >= table_size:
        return NULL
    s = table[slot]
    if s == NULL or s.id != id or s.pid != pid:
        return NULL
    return s

cdef int64_t open(uint32_t pid, Account* a, int type) noexcept nogil:
    global generation, open_count
    cdef uint32_t i
    cdef Socket* s
    if type != abi.SOCK_UDP:
        return abi.E_NOTSUP if type == abi.SOCK_TCP else abi.E_INVAL
    for i in range(table_size):
        if table[i] == NULL:
            break
    else:
        return abi.E_QUOTA
    if not account.take(a, account.RES_SOCKETS, 1):
        return abi.E_QUOTA
    s = <Socket*>heap.kzalloc_for(a, sizeof(Socket))
    if s == NULL:
        account.give(a, account.RES_SOCKETS, 1)
        return abi.E_NOMEM
    generation = (generation + 1) & 0x7FFF
    s.id = ((generation + 1) << 16) | (i + 1)
    s.pid = pid
    s.account = a
    s.type = <uint8_t>type
    table[i] = s
    open_count += 1
    return s.id

cdef Socket* bound(uint16_t port) noexcept nogil:
    cdef uint32_t i
    for i in range(table_size):
        if table[i] != NULL and table[i].port == port:
            return table[i]
    return NULL

cdef uint16_t free_port() noexcept nogil:
    global next_ephemeral
    cdef uint32_t tries
    for tries in range(65536 - EPHEMERAL_FIRST):
        next_ephemeral = next_ephemeral + 1 if next_ephemeral < 65535 else EPHEMERAL_FIRST
        if bound(next_ephemeral) == NULL:
            return next_ephemeral
    return 0

cdef int64_t bind(uint32_t pid, uint32_t sock, uint16_t port) noexcept nogil:
    cdef Socket* s = get(pid, sock)
    if s == NULL:
        return abi.E_BADF
    if s.port != 0:
        return abi.E_INVAL                  # bound already
    if port == 0:
        port = free_port()
        if port == 0:
            return abi.E_BUSY
    elif bound(port) != NULL:
        return abi.E_EXIST
    s.port = port
    return port

cdef int64_t udp_send(uint32_t pid, uint32_t sock, uint32_t ip, uint16_t port,
                      const uint8_t* data, uint32_t n) noexcept nogil:
    cdef Socket* s = get(pid, sock)
    cdef int64_t r
    if s == NULL:
        return abi.E_BADF
    if n > udp.DATA_MAX:
        return abi.E_TOOBIG
    if port == 0 or ip == 0 or ip == 0xFFFFFFFFU:
        return abi.E_INVAL
    if s.port == 0:
        r = bind(pid, sock, 0)
        if r < 0:
            return r
    if udp.output(s.port, ip, port, data, n) != 0:
        return abi.E_AGAIN
    return n

cdef int64_t udp_recv(uint32_t pid, uint32_t sock, uint8_t* out, uint32_t cap,
                      uint32_t* full, uint32_t* ip, uint16_t* port) noexcept nogil:
    cdef Socket* s = get(pid, sock)
    cdef Datagram* d
    cdef uint32_t n
    if s == NULL:
        return abi.E_BADF
    d = s.head
    if d == NULL:
        return abi.E_AGAIN
    s.head = d.next
    if s.head == NULL:
        s.tail = NULL
    s.queued -= d.n
    n = d.n if d.n < cap else cap
    memcpy(out, d.data, n)
    full[0] = d.n
    ip[0] = d.src
    port[0] = d.sport
    heap.kfree(d)
    return n

cdef bint readable(uint32_t sock) noexcept nogil:
    cdef uint32_t slot = (sock & 0xFFFF) - 1
    return slot < table_size and table[slot] != NULL and table[slot].id == sock and table[slot].head != NULL

cdef void free_socket(uint32_t slot) noexcept nogil:
    global open_count
    cdef Socket* s = table[slot]
    cdef Datagram* d = s.head
    cdef Datagram* next
    while d != NULL:
        next = d.next
        heap.kfree(d)
        d = next
    table[slot] = NULL
    account.give(s.account, account.RES_SOCKETS, 1)
    heap.kfree(s)
    open_count -= 1

cdef int64_t close(uint32_t pid, uint32_t sock) noexcept nogil:
    cdef Socket* s = get(pid, sock)
    if s == NULL:
        return abi.E_BADF
    free_socket((sock & 0xFFFF) - 1)
    if wake != NULL:
        wake(sock)                          # its waiting reads end
    return 0

cdef uint32_t close_all(uint32_t pid) noexcept nogil:
    cdef uint32_t i, n = 0
    for i in range(table_size):
        if table[i] != NULL and table[i].pid == pid:
            free_socket(i)
            n += 1
    return n

cdef uint32_t count() noexcept nogil:
    return open_count

cdef void udp_deliver(uint16_t port, uint32_t src, uint16_t sport, const uint8_t* data, uint32_t n) noexcept nogil:
    cdef Socket* s = bound(port)
    cdef Datagram* d
    if s == NULL or s.type != abi.SOCK_UDP:
        netif.drop(netif.DROP_UDP_NO_PORT)
        return
    if s.queued + n > queue_limit:
        netif.drop(netif.DROP_UDP_FULL)
        return
    d = <Datagram*>heap.kmalloc_for(s.account, sizeof(Datagram) + n)
    if d == NULL:
        netif.drop(netif.DROP_UDP_FULL)
        return
    d.next = NULL
    d.src = src
    d.sport = sport
    d.n = n
    memcpy(d.data, data, n)
    if s.tail != NULL:
        s.tail.next = d
    else:
        s.head = d
    s.tail = d
    s.queued += n
    if wake != NULL:
        wake(s.id)

# ---- hosted ----------------------------------------------------------------
def py_init():
    init()

def py_open(uint32_t pid, int type):
    return open(pid, NULL, type)

def py_bind(uint32_t pid, uint32_t sock, uint16_t port):
    return bind(pid, sock, port)

def py_send(uint32_t pid, uint32_t sock, uint32_t ip, uint16_t port, bytes data):
    return udp_send(pid, sock, ip, port, data, <uint32_t>len(data))

def py_recv(uint32_t pid, uint32_t sock, uint32_t cap=2048):
    cdef uint8_t buf[2048]
    cdef uint32_t full = 0, ip = 0
    cdef uint16_t port = 0
    cdef int64_t r = udp_recv(pid, sock, buf, cap if cap < 2048 else 2048, &full, &ip, &port)
    if r < 0:
        return r
    return buf[:r], full, ip, port

def py_close(uint32_t pid, uint32_t sock):
    return close(pid, sock)

def py_close_all(uint32_t pid):
    return close_all(pid)

def py_count():
    return count()
