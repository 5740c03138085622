# See netif.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset
from kwe.base cimport cmdline
from kwe.common cimport netnames, kstr
from kwe.base.console cimport kprintf
from kwe.dev cimport pit
from kwe.mm cimport heap
from kwe.net cimport inet, ether, arp, tcp

cdef enum:
    DEFAULT_IP = 0x0A00020F         # 10.0.2.15: QEMU user networking's guest
    DEFAULT_PREFIX = 24
    DEFAULT_GATEWAY = 0x0A000202    # 10.0.2.2
    SENT_CAP = 1 << 20              # hosted: transmitted frames kept for the test

cdef NetConfig cfg
cdef NetStats counters
cdef TxFn card_tx
cdef RxFn card_rx
cdef uint8_t rx_buf[ETH_FRAME_MAX + 2]

cdef bint parse_address(const char* s, uint32_t* ip, uint32_t* prefix) noexcept nogil:
    """A.B.C.D/N: the address and its prefix length (N defaults to 24)."""
    cdef char part[20]
    cdef uint64_t n = DEFAULT_PREFIX
    cdef size_t i = 0
    while s[i] != 0 and s[i] != c'/' and i < sizeof(part) - 1:
        part[i] = s[i]
        i += 1
    part[i] = 0
    if s[i] == c'/' and not kstr.parse_u64(s + i + 1, kstr.length(s + i + 1), &n):
        return False
    prefix[0] = <uint32_t>n
    return n >= 1 and n <= 30 and netnames.parse_ip(part, ip)

cdef bint init() noexcept nogil:
    cdef char word[40]
    cdef uint32_t ip = DEFAULT_IP, prefix = DEFAULT_PREFIX, gw = DEFAULT_GATEWAY
    cdef bint ok = True
    memset(&counters, 0, sizeof(counters))
    detach()
    if cmdline.get(b"ip", word, sizeof(word)) >= 0 and not parse_address(word, &ip, &prefix):
        kprintf(b"net: ip=%s is not A.B.C.D/PREFIX (1..30); using 10.0.2.15/24\n", <uint64_t>word)
        ip, prefix, ok = DEFAULT_IP, DEFAULT_PREFIX, False
    if cmdline.get(b"gw", word, sizeof(word)) >= 0 and not netnames.parse_ip(word, &gw):
        kprintf(b"net: gw=%s is not A.B.C.D; using 10.0.2.2\n", <uint64_t>word)
        gw, ok = DEFAULT_GATEWAY, False
    if not configure(ip, prefix, gw):
        kprintf(b"net: gateway is not on the interface's subnet; no gateway\n")
        ok = False
    arp.init()
    return ok

cdef bint configure(uint32_t ip, uint32_t prefix_len, uint32_t gateway) noexcept nogil:
    cfg.ip = ip
    cfg.mask = <uint32_t>(0xFFFFFFFFU << (32 - prefix_len)) if 0 < prefix_len <= 32 else 0
    cfg.gateway = gateway
    if gateway != 0 and not on_link(gateway):
        cfg.gateway = 0
        return False
    return True

cdef void attach(const uint8_t* mac, TxFn tx, RxFn rx) noexcept nogil:
    global card_tx, card_rx
    memcpy(cfg.mac, mac, 6)
    card_tx = tx
    card_rx = rx

cdef void detach() noexcept nogil:
    global card_tx, card_rx
    card_tx = NULL
    card_rx = NULL

cdef bint up() noexcept nogil:
    return card_tx != NULL

cdef NetConfig* config() noexcept nogil:
    return &cfg

cdef uint32_t prefix_length() noexcept nogil:
    return netnames.prefix_length(cfg.mask)

cdef bint is_broadcast(uint32_t ip) noexcept nogil:
    return ip == 0xFFFFFFFFU or (cfg.mask != 0 and ip == (cfg.ip | ~cfg.mask))

cdef bint is_ours(uint32_t ip) noexcept nogil:
    return cfg.ip != 0 and (ip == cfg.ip or is_broadcast(ip))

cdef bint on_link(uint32_t ip) noexcept nogil:
    return cfg.ip != 0 and (ip & cfg.mask) == (cfg.ip & cfg.mask)

cdef uint32_t poll(uint32_t budget) noexcept nogil:
    cdef uint32_t taken = 0
    cdef int n
    while card_rx != NULL and (budget == 0 or taken < budget):
        n = card_rx(rx_buf, sizeof(rx_buf))
        if n <= 0:
            break
        input(rx_buf, <uint32_t>n)
        taken += 1
    arp.tick(now_ms())
    tcp.tick(now_ms())
    return taken

cdef void input(const uint8_t* frame, uint32_t n) noexcept nogil:
    counters.rx_frames += 1
    counters.rx_bytes += n
    if n > ETH_FRAME_MAX:
        drop(DROP_TOO_BIG)
        return
    ether.input(frame, n)

cdef int transmit(const uint8_t* frame, uint32_t n) noexcept nogil:
    if card_tx == NULL:
        drop(DROP_NO_ROUTE)
        return -1
    if card_tx(frame, n) != 0:
        drop(DROP_TX_FULL)
        return -1
    counters.tx_frames += 1
    counters.tx_bytes += n
    return 0

cdef void quiesce() noexcept nogil:
    tcp.abort_unheld()
    arp.drop_waiting()

cdef void drop(int reason) noexcept nogil:
    counters.drops[reason] += 1

cdef NetStats* stats() noexcept nogil:
    return &counters

cdef const char* drop_name(int reason) noexcept nogil:
    return netnames.drop_name(reason)

cdef uint64_t now_ms() noexcept nogil:
    cdef uint64_t hz = pit.hz()
    return pit.ticks() * 1000 // (hz if hz else 100)

# ---- hosted: a test is the card -------------------------------------------
# What the stack transmitted, as [u16 length][frame] records in a heap
# buffer (no Python objects where the kernel's code calls).
cdef uint8_t* sent_buf = NULL
cdef uint32_t sent_len = 0

cdef int py_tx(const uint8_t* frame, uint32_t n) noexcept nogil:
    global sent_len
    if sent_buf == NULL or sent_len + n + 2 > SENT_CAP:
        return -1
    inet.put16(sent_buf + sent_len, <uint16_t>n)
    memcpy(sent_buf + sent_len + 2, frame, n)
    sent_len += n + 2
    return 0

def py_init(bytes mac=b"\x52\x54\x00\x12\x34\x56"):
    """A fresh stack with the test as its card."""
    ok = init()
    py_attach(mac)
    return ok

def py_attach(bytes mac=b"\x52\x54\x00\x12\x34\x56"):
    """The test becomes the card of the stack the engine started."""
    global sent_buf, sent_len
    sent_buf = <uint8_t*>heap.kmalloc(SENT_CAP)  # on this machine's heap (a reset drops the last)
    sent_len = 0
    attach(mac, py_tx, NULL)

def py_input(bytes frame):
    input(frame, <uint32_t>len(frame))

def py_sent():
    """The frames the stack transmitted since the last call."""
    global sent_len
    cdef uint32_t at = 0, n
    out = []
    while at < sent_len:
        n = inet.get16(sent_buf + at)
        out.append(sent_buf[at + 2:at + 2 + n])
        at += n + 2
    sent_len = 0
    return out

def py_stats():
    s = {"rx_frames": counters.rx_frames, "tx_frames": counters.tx_frames,
         "arp_in": counters.arp_in, "ip_in": counters.ip_in, "icmp_in": counters.icmp_in,
         "udp_in": counters.udp_in, "tcp_in": counters.tcp_in}
    s["drops"] = {drop_name(i).decode(): counters.drops[i] for i in range(DROP_COUNT) if counters.drops[i]}
    return s

def py_configure(str ip, uint32_t prefix, str gw):
    cdef uint32_t a = 0, g = 0
    netnames.parse_ip(ip.encode(), &a)
    netnames.parse_ip(gw.encode(), &g)
    return configure(a, prefix, g)

def py_poll():
    return poll(0)
