# See arp.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset
from kwe.base cimport cmdline
from kwe.mm cimport heap
from kwe.net cimport inet, netif, ether

cdef enum:
    ARP_LEN = 28
    OP_REQUEST = 1
    OP_REPLY = 2
    FREE = 0
    PENDING = 1
    RESOLVED = 2
    DEFAULT_CACHE = 64
    CACHE_MAX = 65536
    DEFAULT_TTL_MS = 60000

cdef struct Queued:
    Queued* next
    uint32_t n
    uint8_t data[1]

cdef struct Entry:
    uint32_t ip
    uint8_t mac[6]
    uint8_t state
    uint8_t requests            # sent so far while PENDING
    uint64_t expires            # RESOLVED: when it goes; PENDING: next request
    uint64_t used               # last lookup (the eviction order)
    Queued* queue
    uint32_t queued

cdef Entry* cache = NULL
cdef uint32_t cache_size = 0
cdef uint64_t ttl_ms = 0

cdef void init() noexcept nogil:
    global cache, cache_size, ttl_ms
    cache_size = <uint32_t>cmdline.get_u64(b"arp_cache", DEFAULT_CACHE)
    if cache_size < 1 or cache_size > CACHE_MAX:
        cache_size = DEFAULT_CACHE
    ttl_ms = cmdline.get_u64(b"arp_ttl", DEFAULT_TTL_MS)
    cache = <Entry*>heap.kzalloc(cache_size * sizeof(Entry))
    if cache == NULL:
        cache_size = 0

cdef void flush_queue(Entry* e, bint send) noexcept nogil:
    cdef Queued* q = e.queue
    cdef Queued* next
    while q != NULL:
        next = q.next
        if send:
            ether.output(e.mac, ether.TYPE_IPV4, q.data, q.n)
        else:
            netif.drop(netif.DROP_ARP_UNRESOLVED)
        heap.kfree(q)
        q = next
    e.queue = NULL
    e.queued = 0

cdef void forget(Entry* e) noexcept nogil:
    flush_queue(e, False)
    memset(e, 0, sizeof(Entry))

cdef Entry* find(uint32_t ip) noexcept nogil:
    cdef uint32_t i
    for i in range(cache_size):
        if cache[i].state != FREE and cache[i].ip == ip:
            return &cache[i]
    return NULL

cdef Entry* take_slot(uint32_t ip, uint64_t now) noexcept nogil:
    """A free entry for ip, or the one used longest ago, emptied."""
    cdef Entry* oldest = NULL
    cdef uint32_t i
    for i in range(cache_size):
        if cache[i].state == FREE:
            oldest = &cache[i]
            break
        if oldest == NULL or cache[i].used < oldest.used:
            oldest = &cache[i]
    if oldest != NULL:
        forget(oldest)
        oldest.ip = ip
        oldest.used = now
    return oldest

cdef void learn(Entry* e, const uint8_t* mac, uint64_t now) noexcept nogil:
    memcpy(e.mac, mac, 6)
    e.state = RESOLVED
    e.expires = now + ttl_ms
    flush_queue(e, True)

cdef void send_arp(uint16_t op, const uint8_t* to_mac, const uint8_t* target_mac,
                   uint32_t target_ip) noexcept nogil:
    cdef uint8_t p[ARP_LEN]
    cdef netif.NetConfig* c = netif.config()
    inet.put16(p, 1)                    # Ethernet
    inet.put16(p + 2, ether.TYPE_IPV4)
    p[4] = 6
    p[5] = 4
    inet.put16(p + 6, op)
    memcpy(p + 8, c.mac, 6)
    inet.put32(p + 14, c.ip)
    memcpy(p + 18, target_mac, 6)
    inet.put32(p + 24, target_ip)
    ether.output(to_mac, ether.TYPE_ARP, p, ARP_LEN)

cdef void request(Entry* e, uint64_t now) noexcept nogil:
    cdef uint8_t zero[6]
    memset(zero, 0, 6)
    e.requests += 1
    e.expires = now + RETRY_MS
    send_arp(OP_REQUEST, ether.broadcast_mac(), zero, e.ip)

cdef bint well_formed(const uint8_t* p, uint32_t n) noexcept nogil:
    cdef uint16_t op
    if n < ARP_LEN:
        netif.drop(netif.DROP_SHORT)
        return False
    op = inet.get16(p + 6)
    if (inet.get16(p) != 1 or inet.get16(p + 2) != ether.TYPE_IPV4 or p[4] != 6 or p[5] != 4
            or (op != OP_REQUEST and op != OP_REPLY) or (p[8] & 1)):
        netif.drop(netif.DROP_ARP_BAD)          # p[8] & 1: a group address as the sender
        return False
    return True

cdef void input(const uint8_t* p, uint32_t n) noexcept nogil:
    cdef uint32_t sender, target
    cdef Entry* e
    cdef uint64_t now = netif.now_ms()
    cdef netif.NetConfig* c = netif.config()
    if not well_formed(p, n):
        return
    netif.stats().arp_in += 1
    sender = inet.get32(p + 14)
    target = inet.get32(p + 24)
    if sender == c.ip or netif.is_broadcast(sender) or not netif.on_link(sender):
        if target != c.ip or sender != 0:       # sender 0: a probe, answered below
            netif.drop(netif.DROP_IP_SOURCE)
            return
    e = find(sender) if sender != 0 else NULL
    if e == NULL and target == c.ip and sender != 0:
        e = take_slot(sender, now)
    if e != NULL:
        learn(e, p + 8, now)
    if inet.get16(p + 6) == OP_REQUEST and target == c.ip and c.ip != 0:
        send_arp(OP_REPLY, p + 8, p + 8, sender)

cdef int enqueue(Entry* e, const uint8_t* packet, uint32_t n) noexcept nogil:
    cdef Queued* q = <Queued*>heap.kmalloc(sizeof(Queued) + n)
    cdef Queued* first
    cdef Queued** tail = &e.queue
    if q == NULL:
        netif.drop(netif.DROP_ARP_UNRESOLVED)
        return -1
    if e.queued >= QUEUE_MAX:           # the oldest goes: the newest is the most useful
        first = e.queue
        e.queue = first.next
        heap.kfree(first)
        e.queued -= 1
        netif.drop(netif.DROP_ARP_UNRESOLVED)
    q.next = NULL
    q.n = n
    memcpy(q.data, packet, n)
    while tail[0] != NULL:
        tail = &tail[0].next
    tail[0] = q
    e.queued += 1
    return 0

cdef bint fresh_entry(Entry* e, uint64_t now) noexcept nogil:
    """e is resolved and not expired; it counts as used now."""
    if e == NULL or e.state != RESOLVED or now >= e.expires:
        return False
    e.used = now
    return True

cdef int send_ipv4(uint32_t next_hop, const uint8_t* packet, uint32_t n) noexcept nogil:
    cdef uint64_t now = netif.now_ms()
    cdef Entry* e
    if netif.is_broadcast(next_hop):
        return ether.output(ether.broadcast_mac(), ether.TYPE_IPV4, packet, n)
    e = find(next_hop)
    if fresh_entry(e, now):
        return ether.output(e.mac, ether.TYPE_IPV4, packet, n)
    if e == NULL:
        e = take_slot(next_hop, now)
        if e == NULL:
            netif.drop(netif.DROP_ARP_UNRESOLVED)
            return -1
    if e.state != PENDING:
        e.state = PENDING
        e.requests = 0
        request(e, now)
    return enqueue(e, packet, n)

cdef bint lookup(uint32_t ip, uint8_t* mac) noexcept nogil:
    cdef Entry* e = find(ip)
    if not fresh_entry(e, netif.now_ms()):
        return False
    memcpy(mac, e.mac, 6)
    return True

cdef void tick(uint64_t now) noexcept nogil:
    cdef uint32_t i
    cdef Entry* e
    for i in range(cache_size):
        e = &cache[i]
        if e.state == FREE or now < e.expires:
            continue
        if e.state == PENDING and e.requests < REQUESTS:
            request(e, now)
        else:
            forget(e)

cdef void drop_waiting() noexcept nogil:
    cdef uint32_t i
    for i in range(cache_size):
        if cache[i].state == PENDING:
            forget(&cache[i])

cdef uint32_t entries() noexcept nogil:
    cdef uint32_t i, n = 0
    for i in range(cache_size):
        n += cache[i].state != FREE
    return n

def py_lookup(uint32_t ip):
    cdef uint8_t mac[6]
    return mac[:6] if lookup(ip, mac) else None

def py_entries():
    return entries()
