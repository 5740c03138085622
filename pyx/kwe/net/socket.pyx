# See socket.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy, memset
from kwe.common cimport abi
from kwe.base cimport cmdline
from kwe.mm cimport heap, account
from kwe.mm.account cimport Account
from kwe.net cimport netif, udp, tcp
from kwe.net.tcp cimport Tcb

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
    uint16_t port               # 0: not bound (an accepted connection's port is its Tcb's)
    bint implicit               # port taken by a send or connect, not by bind()
    Datagram* head
    Datagram* tail
    uint64_t queued             # bytes waiting
    Tcb* tcb                    # TCP: its listener or connection (NULL: neither yet)

cdef Socket** table = NULL
cdef uint32_t table_size = 0
cdef uint32_t generation = 0
cdef uint32_t open_count = 0
cdef uint64_t queue_limit = 0
cdef uint16_t next_ephemeral = 0
cdef Wake wake = NULL

cdef void init() noexcept nogil:
    global table, table_size, queue_limit, next_ephemeral, open_count
    tcp.init()
    tcp.set_notify(tcp_wake)
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

cdef void tcp_wake(uint32_t sock) noexcept nogil:
    if wake != NULL:
        wake(sock)

cdef Socket* get(uint32_t pid, uint32_t id) noexcept nogil:
    cdef Socket* s = lookup(id)
    if s == NULL or s.pid != pid:
        return NULL
    return s

cdef int kind(uint32_t pid, uint32_t sock) noexcept nogil:
    cdef Socket* s = get(pid, sock)
    return s.type if s != NULL else abi.E_BADF

cdef uint16_t bound_port(uint32_t pid, uint32_t sock) noexcept nogil:
    cdef Socket* s = get(pid, sock)
    return s.port if s != NULL and not s.implicit else 0

cdef Socket* lookup(uint32_t id) noexcept nogil:
    """Whoever holds it."""
    cdef uint32_t slot = (id & 0xFFFF) - 1
    cdef Socket* s
    if slot >= table_size:
        return NULL
    s = table[slot]
    if s == NULL or s.id != id:
        return NULL
    return s

cdef Socket* tcp_socket(uint32_t pid, uint32_t id, int64_t* err) noexcept nogil:
    """pid's TCP socket, or NULL with E_BADF / E_INVAL in *err."""
    cdef Socket* s = get(pid, id)
    if s == NULL:
        err[0] = abi.E_BADF
    elif s.type != abi.SOCK_TCP:
        err[0] = abi.E_INVAL
        return NULL
    return s

cdef int64_t free_slot() noexcept nogil:
    cdef uint32_t i
    for i in range(table_size):
        if table[i] == NULL:
            return i
    return abi.E_QUOTA

cdef Socket* place(int64_t slot, uint32_t pid, Account* a, int type) noexcept nogil:
    """A new socket in a free slot (its RES_SOCKETS is the caller's to charge)."""
    global generation, open_count
    cdef Socket* s = <Socket*>heap.kzalloc_for(a, sizeof(Socket))
    if s == NULL:
        return NULL
    generation = (generation + 1) & 0x7FFF
    s.id = ((generation + 1) << 16) | <uint32_t>(slot + 1)
    s.pid = pid
    s.account = a
    s.type = <uint8_t>type
    table[slot] = s
    open_count += 1
    return s

cdef int64_t open(uint32_t pid, Account* a, int type) noexcept nogil:
    cdef int64_t slot
    cdef Socket* s
    if type != abi.SOCK_UDP and type != abi.SOCK_TCP:
        return abi.E_INVAL
    slot = free_slot()
    if slot < 0:
        return slot
    if not account.take(a, account.RES_SOCKETS, 1):
        return abi.E_QUOTA
    s = place(slot, pid, a, type)
    if s == NULL:
        account.give(a, account.RES_SOCKETS, 1)
        return abi.E_NOMEM
    return s.id

cdef Socket* bound(uint16_t port, uint8_t type) noexcept nogil:
    cdef uint32_t i
    for i in range(table_size):
        if table[i] != NULL and table[i].port == port and table[i].type == type:
            return table[i]
    return NULL

cdef uint16_t free_port(uint8_t type) noexcept nogil:
    global next_ephemeral
    cdef uint32_t tries
    for tries in range(65536 - EPHEMERAL_FIRST):
        next_ephemeral = next_ephemeral + 1 if next_ephemeral < 65535 else EPHEMERAL_FIRST
        if bound(next_ephemeral, type) == NULL:
            return next_ephemeral
    return 0

cdef int64_t bind(uint32_t pid, uint32_t sock, uint16_t port) noexcept nogil:
    cdef Socket* s = get(pid, sock)
    if s == NULL:
        return abi.E_BADF
    if s.port != 0 or s.tcb != NULL:
        return abi.E_INVAL                  # bound (or connected) already
    if port == 0:
        port = free_port(s.type)
        if port == 0:
            return abi.E_BUSY
    elif bound(port, s.type) != NULL:
        return abi.E_EXIST
    s.port = port
    return port

cdef int64_t udp_send(uint32_t pid, uint32_t sock, uint32_t ip, uint16_t port,
                      const uint8_t* data, uint32_t n) noexcept nogil:
    cdef Socket* s = get(pid, sock)
    cdef int64_t r
    if s == NULL:
        return abi.E_BADF
    if s.type != abi.SOCK_UDP:
        return abi.E_INVAL
    if n > udp.DATA_MAX:
        return abi.E_TOOBIG
    if port == 0 or ip == 0 or ip == 0xFFFFFFFFU:
        return abi.E_INVAL
    if s.port == 0:
        r = bind(pid, sock, 0)
        if r < 0:
            return r
        s.implicit = True
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
    cdef Socket* s = lookup(sock)
    if s == NULL:
        return False
    if s.type == abi.SOCK_TCP:
        return s.tcb != NULL and tcp.readable(s.tcb)
    return s.head != NULL

cdef bint writable(uint32_t sock) noexcept nogil:
    cdef Socket* s = lookup(sock)
    if s == NULL or s.type != abi.SOCK_TCP or s.tcb == NULL:
        return True                         # its send fails (or goes) at once
    return tcp.writable(s.tcb)

cdef void free_socket(uint32_t slot) noexcept nogil:
    global open_count
    cdef Socket* s = table[slot]
    cdef Datagram* d = s.head
    cdef Datagram* next
    while d != NULL:
        next = d.next
        heap.kfree(d)
        d = next
    if s.tcb != NULL:
        tcp.release(s.tcb)                  # its buffers leave the account now
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
    cdef Socket* s = bound(port, abi.SOCK_UDP)
    cdef Datagram* d
    if s == NULL:
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

# ---- TCP ---------------------------------------------------------------------------------
cdef int64_t listen(uint32_t pid, uint32_t sock, uint32_t backlog) noexcept nogil:
    cdef int64_t err = 0
    cdef Socket* s = tcp_socket(pid, sock, &err)
    if s == NULL:
        return err
    if s.port == 0 or s.tcb != NULL:
        return abi.E_INVAL                  # not bound, or listening or connected already
    s.tcb = tcp.listen(s.port, backlog, s.account, s.id, &err)
    return 0 if s.tcb != NULL else err

cdef int64_t accept(uint32_t pid, uint32_t sock, uint32_t* peer_ip, uint16_t* peer_port) noexcept nogil:
    cdef int64_t err = 0, slot
    cdef Socket* s = tcp_socket(pid, sock, &err)
    cdef Socket* c
    if s == NULL:
        return err
    if s.tcb == NULL or s.tcb.state != tcp.LISTEN:
        return abi.E_INVAL
    if not tcp.pending(s.tcb):
        return abi.E_AGAIN
    slot = free_slot()
    if slot < 0:
        return slot
    c = place(slot, pid, s.account, abi.SOCK_TCP)
    if c == NULL:
        return abi.E_NOMEM
    c.tcb = tcp.accept(s.tcb, c.id)        # with the RES_SOCKETS it was charged when it came
    peer_ip[0] = c.tcb.rip
    peer_port[0] = c.tcb.rport
    return c.id

cdef bint can_be_peer(uint32_t ip) noexcept nogil:
    cdef uint32_t top = ip >> 24
    return ip != 0 and top != 0 and top != 127 and top < 224 and not netif.is_broadcast(ip)

cdef int64_t connect(uint32_t pid, uint32_t sock, uint32_t ip, uint16_t port) noexcept nogil:
    cdef int64_t err = 0
    cdef Socket* s = tcp_socket(pid, sock, &err)
    if s == NULL:
        return err
    if s.tcb != NULL:
        if s.tcb.state == tcp.LISTEN or s.tcb.rip != ip or s.tcb.rport != port:
            return abi.E_INVAL
        return tcp.connect_status(s.tcb)
    if port == 0 or not can_be_peer(ip):
        return abi.E_INVAL
    if ip == netif.config().ip:
        return abi.E_NOTSUP                 # no loopback
    if s.port == 0:
        s.implicit = True
        s.port = ephemeral_for(ip, port)
        if s.port == 0:
            return abi.E_BUSY
    s.tcb = tcp.connect(s.port, ip, port, s.account, s.id, &err)
    return abi.E_AGAIN if s.tcb != NULL else err

cdef uint16_t ephemeral_for(uint32_t ip, uint16_t port) noexcept nogil:
    """A free ephemeral port that no lingering connection to ip:port still uses."""
    cdef uint32_t tries
    cdef uint16_t p
    for tries in range(64):
        p = free_port(abi.SOCK_TCP)
        if p == 0 or not tcp.in_use(p, ip, port):
            return p
    return 0

cdef Tcb* connection(uint32_t pid, uint32_t id, int64_t* err) noexcept nogil:
    """pid's TCP socket's Tcb, or NULL with E_BADF / E_INVAL / E_NOTCONN in *err."""
    cdef Socket* s = tcp_socket(pid, id, err)
    if s != NULL and s.tcb == NULL:
        err[0] = abi.E_NOTCONN
    return s.tcb if s != NULL else NULL

cdef int64_t tcp_send(uint32_t pid, uint32_t sock, const uint8_t* data, uint32_t n, bint more) noexcept nogil:
    cdef int64_t err = 0
    cdef Tcb* t = connection(pid, sock, &err)
    return tcp.send(t, data, n, more) if t != NULL else err

cdef int64_t tcp_recv(uint32_t pid, uint32_t sock, uint8_t* out, uint32_t cap) noexcept nogil:
    cdef int64_t err = 0
    cdef Tcb* t = connection(pid, sock, &err)
    return tcp.recv(t, out, cap) if t != NULL else err

# ---- hosted ----------------------------------------------------------------
cdef uint32_t woken[1024]
cdef uint32_t nwoken = 0

cdef void py_wake(uint32_t sock) noexcept nogil:
    global nwoken
    if nwoken < 1024:
        woken[nwoken] = sock
        nwoken += 1

def py_init(bint record_wakes=True):
    """A fresh machine's sockets; wakes recorded for py_woken()."""
    global nwoken
    nwoken = 0
    init()
    set_wake(NULL)
    if record_wakes:
        set_wake(py_wake)

def py_woken():
    """The socket ids woken since the last call, in order."""
    global nwoken
    out = [woken[i] for i in range(nwoken)]
    nwoken = 0
    return out

def py_open(uint32_t pid, int type, uint64_t account_ptr=0):
    return open(pid, <Account*>account_ptr, type)

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

def py_readable(uint32_t sock):
    return readable(sock)

def py_writable(uint32_t sock):
    return writable(sock)

def py_listen(uint32_t pid, uint32_t sock, uint32_t backlog):
    return listen(pid, sock, backlog)

def py_accept(uint32_t pid, uint32_t sock):
    """(socket, peer ip, peer port), or the error."""
    cdef uint32_t ip = 0
    cdef uint16_t port = 0
    cdef int64_t r = accept(pid, sock, &ip, &port)
    if r < 0:
        return r
    return r, ip, port

def py_connect(uint32_t pid, uint32_t sock, uint32_t ip, uint16_t port):
    return connect(pid, sock, ip, port)

def py_tcp_send(uint32_t pid, uint32_t sock, bytes data):
    return tcp_send(pid, sock, data, <uint32_t>len(data), False)

def py_tcp_recv(uint32_t pid, uint32_t sock, uint32_t cap=65536):
    """bytes, or the error (0 is b"": the end of the stream)."""
    cdef uint8_t* buf = <uint8_t*>heap.kmalloc(cap if cap else 1)
    cdef int64_t r
    if buf == NULL:
        raise MemoryError()
    r = tcp_recv(pid, sock, buf, cap)
    out = buf[:r] if r >= 0 else r
    heap.kfree(buf)
    return out

def py_tcp_state(uint32_t sock):
    """The state of the socket's Tcb (tcp.STATES), or None."""
    cdef Socket* s = lookup(sock)
    if s == NULL or s.tcb == NULL:
        return None
    return s.tcb.state
