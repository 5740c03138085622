# See tcp.pxd; docs/net.md, TCP.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t, int64_t
from libc.string cimport memcpy, memmove, memset
from kwe.common cimport abi
cimport kwe.common.list as lists
from kwe.common.list cimport ListNode, List
from kwe.base cimport cmdline, hal
from kwe.dev cimport pit
from kwe.mm cimport heap, account
from kwe.mm.account cimport Account
from kwe.lib cimport hashmap
from kwe.lib.hashmap cimport HashMap
from kwe.net cimport inet, netif, ipv4

cdef enum:
    OPT_END = 0
    OPT_NOP = 1
    OPT_MSS = 2
    BUF_MIN = 1024
    SNDBUF_MAX = 4 << 20
    RCVBUF_MAX = 65536          # more than a window can say
    DEFAULT_BUF = 65536
    DEFAULT_RTO_MIN = 200
    DEFAULT_RTO_MAX = 60000
    DEFAULT_RTO_INIT = 1000
    DEFAULT_MSL = 30000         # TIME_WAIT is 2 MSL: 60 s, as Linux
    DEFAULT_FIN_TIMEOUT = 60000
    DEFAULT_CONNS = 4096
    DEFAULT_SYNQ = 1024
    DEFAULT_ORPHAN_MEM = 4 << 20
    DEFAULT_DELACK_MS = 40      # an ACK for in-order data waits this long for an answer to ride on (Linux's least)
    DEFAULT_SYN_RETRIES = 6
    DEFAULT_SYNACK_RETRIES = 5
    DEFAULT_RETRIES = 15
    RETRIES_MAX = 100
    BACKLOG_MAX = 1024
    BACKOFF_MAX = 16
    CWND_MAX = 0x3FFFFFFF
    RTT_MAX = 600000
    ISN_PER_MS = 250            # RFC 9293's 4 us clock

cdef struct Config:
    uint32_t sndbuf
    uint32_t rcvbuf
    uint32_t rto_min
    uint32_t rto_max
    uint32_t rto_init
    uint32_t msl
    uint32_t fin_timeout
    uint32_t conns
    uint32_t synq
    uint32_t syn_retries
    uint32_t synack_retries
    uint32_t retries
    uint32_t orphan_mem
    uint32_t delack_ms

cdef struct Seg:                # a received segment, checked
    uint32_t seq
    uint32_t ack
    uint32_t len                # data bytes
    uint16_t sport
    uint16_t dport
    uint16_t wnd
    uint16_t mss                # 0: no MSS option
    uint8_t flags
    const uint8_t* data

cdef Config cfg
cdef HashMap table              # (local port, remote ip, remote port) -> Tcb; listeners: (port, 0, 0)
cdef List timed                 # Tcbs with a timer armed
cdef List everyone
cdef List time_wait             # oldest first: the first to go when the table is full
cdef uint32_t half_open_total
cdef uint64_t orphan_bytes      # unsent data the kernel holds for closed sockets
cdef uint64_t key_salt          # so a peer cannot aim its keys at one bucket
cdef uint64_t isn_secret
cdef Notify notify
cdef bint isn_forced
cdef uint32_t isn_value
cdef uint32_t wakes[WAKES_MAX]
cdef uint32_t nwakes
cdef uint8_t hdr[HEADER + 4]
cdef uint8_t scratch[MSS]       # a segment's data where it wraps around its ring

# ---- set-up ---------------------------------------------------------------------------
cdef uint32_t setting(const char* key, uint64_t default, uint64_t lo, uint64_t hi) noexcept nogil:
    cdef uint64_t v = cmdline.get_u64(key, default)
    return <uint32_t>(v if lo <= v <= hi else default)

cdef void read_config() noexcept nogil:
    cfg.sndbuf = setting(b"tcp_sndbuf", DEFAULT_BUF, BUF_MIN, SNDBUF_MAX)
    cfg.rcvbuf = setting(b"tcp_rcvbuf", DEFAULT_BUF, BUF_MIN, RCVBUF_MAX)
    cfg.rto_min = setting(b"tcp_rto_min", DEFAULT_RTO_MIN, 1, 60000)
    cfg.rto_max = setting(b"tcp_rto_max", DEFAULT_RTO_MAX, cfg.rto_min, 600000)
    cfg.rto_init = setting(b"tcp_rto_init", DEFAULT_RTO_INIT, cfg.rto_min, cfg.rto_max)
    cfg.msl = setting(b"tcp_msl", DEFAULT_MSL, 1, 600000)
    cfg.fin_timeout = setting(b"tcp_fin_timeout", DEFAULT_FIN_TIMEOUT, 1, 3600000)
    cfg.conns = setting(b"tcp_conns", DEFAULT_CONNS, 1, 1 << 20)
    cfg.synq = setting(b"tcp_synq", DEFAULT_SYNQ, 1, 1 << 20)
    cfg.syn_retries = setting(b"tcp_syn_retries", DEFAULT_SYN_RETRIES, 0, RETRIES_MAX)
    cfg.synack_retries = setting(b"tcp_synack_retries", DEFAULT_SYNACK_RETRIES, 0, RETRIES_MAX)
    cfg.retries = setting(b"tcp_retries", DEFAULT_RETRIES, 1, RETRIES_MAX)
    cfg.orphan_mem = setting(b"tcp_orphan_mem", DEFAULT_ORPHAN_MEM, 0, 1 << 30)
    cfg.delack_ms = setting(b"tcp_delack_ms", DEFAULT_DELACK_MS, 0, 500)

cdef void init() noexcept nogil:
    global half_open_total, orphan_bytes, key_salt, isn_secret, nwakes
    read_config()
    memset(&table, 0, sizeof(table))        # a new machine: nothing to free
    hashmap.init(&table, 64)
    lists.init(&timed)
    lists.init(&everyone)
    lists.init(&time_wait)
    half_open_total = 0
    orphan_bytes = 0
    nwakes = 0
    key_salt = hashmap.mix(hal.rdtsc() ^ 0x5443504B4559U)
    isn_secret = hashmap.mix(key_salt ^ hal.rdtsc())

cdef void set_notify(Notify f) noexcept nogil:
    global notify
    notify = f

cdef inline uint64_t tuple_of(uint16_t lport, uint32_t rip, uint16_t rport) noexcept nogil:
    return (<uint64_t>lport << 48) | (<uint64_t>rport << 32) | rip

cdef inline uint64_t key_of(uint16_t lport, uint32_t rip, uint16_t rport) noexcept nogil:
    return tuple_of(lport, rip, rport) ^ key_salt

cdef uint32_t new_isn(uint16_t lport, uint32_t rip, uint16_t rport) noexcept nogil:
    """RFC 6528: a secret hash of the connection plus a clock."""
    global isn_forced
    if isn_forced:                          # hosted tests: the numbers across 2^32
        isn_forced = False
        return isn_value
    return <uint32_t>hashmap.mix(isn_secret ^ tuple_of(lport, rip, rport)) + <uint32_t>(netif.now_ms() * ISN_PER_MS)

# ---- wakes: after the segment or the timer, never in the middle of one ---------------
cdef void wake_later(Tcb* t) noexcept nogil:
    global nwakes
    cdef uint32_t i
    if t.sock == 0 or notify == NULL:
        return
    for i in range(nwakes):
        if wakes[i] == t.sock:
            return
    if nwakes < WAKES_MAX:
        wakes[nwakes] = t.sock
        nwakes += 1

cdef void flush_wakes() noexcept nogil:
    global nwakes
    cdef uint32_t sock
    while nwakes > 0:
        nwakes -= 1
        sock = wakes[nwakes]
        notify(sock)

# ---- rings ------------------------------------------------------------------------------
cdef void ring_write(Ring* r, uint32_t off, const uint8_t* p, uint32_t n) noexcept nogil:
    """n bytes at off from the first byte (inside cap; len is the caller's)."""
    cdef uint32_t pos, first
    if n == 0:
        return
    pos = (r.head + off) % r.cap
    first = n if n < r.cap - pos else r.cap - pos
    memcpy(r.buf + pos, p, first)
    memcpy(r.buf, p + first, n - first)

cdef void ring_read(Ring* r, uint32_t off, uint8_t* out, uint32_t n) noexcept nogil:
    cdef uint32_t pos, first
    if n == 0:
        return
    pos = (r.head + off) % r.cap
    first = n if n < r.cap - pos else r.cap - pos
    memcpy(out, r.buf + pos, first)
    memcpy(out + first, r.buf, n - first)

cdef const uint8_t* ring_peek(Ring* r, uint32_t off, uint32_t n) noexcept nogil:
    """n (<= MSS) bytes at off, in place if they do not wrap."""
    cdef uint32_t pos
    if n == 0:
        return r.buf
    pos = (r.head + off) % r.cap
    if pos + n <= r.cap:
        return r.buf + pos
    ring_read(r, off, scratch, n)
    return scratch

cdef void ring_drop(Ring* r, uint32_t n) noexcept nogil:
    if n == 0:
        return
    r.head = (r.head + n) % r.cap
    r.len -= n

# ---- Tcbs: the table, the lists, the memory --------------------------------------------
cdef inline Tcb* linked(ListNode* n) noexcept nogil:
    return (<Link*>n).tcb if n != NULL else NULL

cdef Tcb* new_tcb() noexcept nogil:
    cdef Tcb* t
    if everyone.count >= cfg.conns and lists.empty(&time_wait):
        return NULL
    if everyone.count >= cfg.conns:
        free_tcb(linked(time_wait.head))    # the oldest TIME_WAIT makes room (RFC 6191's spirit)
    t = <Tcb*>heap.kzalloc(sizeof(Tcb))
    if t == NULL:
        return NULL
    t.q.tcb = t
    t.every.tcb = t
    lists.push_back(&everyone, &t.every.node)
    t.rto = cfg.rto_init
    t.snd.cap = cfg.sndbuf
    t.rcv.cap = cfg.rcvbuf
    return t

cdef bint hash_in(Tcb* t) noexcept nogil:
    if not hashmap.put_in(&table, key_of(t.lport, t.rip, t.rport), t, &t.hashed):
        return False
    t.flags |= T_HASHED
    return True

cdef void hash_out(Tcb* t) noexcept nogil:
    if t.flags & T_HASHED:
        hashmap.remove(&table, key_of(t.lport, t.rip, t.rport))
        t.flags &= ~T_HASHED

cdef void enqueue(List* l, Tcb* t) noexcept nogil:
    global half_open_total
    t.qlist = l
    lists.push_back(l, &t.q.node)
    if t.listener != NULL and l == &t.listener.half_open:
        half_open_total += 1

cdef void unqueue(Tcb* t) noexcept nogil:
    global half_open_total
    if t.qlist == NULL:
        return
    if t.listener != NULL and t.qlist == &t.listener.half_open:
        half_open_total -= 1
    lists.remove(t.qlist, &t.q.node)
    t.qlist = NULL

cdef void free_tcb(Tcb* t) noexcept nogil:
    hash_out(t)
    unqueue(t)
    lists.remove(&timed, &t.timed)
    lists.remove(&everyone, &t.every.node)
    drop_send_buffer(t)
    heap.kfree(t.rcv.buf)
    if t.flags & T_CHARGED:
        account.give(t.account, account.RES_SOCKETS, 1)
    heap.kfree(t)

cdef bint buffers(Tcb* t) noexcept nogil:
    """The send and receive buffers, charged to the owner."""
    t.snd.buf = <uint8_t*>heap.kmalloc_for(t.account, t.snd.cap)
    t.rcv.buf = <uint8_t*>heap.kmalloc_for(t.account, t.rcv.cap)
    if t.snd.buf != NULL and t.rcv.buf != NULL:
        return True
    heap.kfree(t.snd.buf)
    heap.kfree(t.rcv.buf)
    t.snd.buf = t.rcv.buf = NULL
    return False

cdef void drop_send_buffer(Tcb* t) noexcept nogil:
    global orphan_bytes
    if (t.flags & T_ORPHAN) and t.snd.buf != NULL:
        orphan_bytes -= t.snd.cap
    heap.kfree(t.snd.buf)
    t.snd.buf = NULL
    t.snd.len = t.snd.cap = t.snd.head = 0

cdef bint rehome(Tcb* t) noexcept nogil:
    """The application let go: what is left to send moves to kernel memory
    (at most tcp_orphan_mem= over all such connections), the receive buffer
    goes (nobody will read it).  False: no room, reset it."""
    global orphan_bytes
    cdef uint8_t* copy = NULL
    heap.kfree(t.rcv.buf)
    t.rcv.buf = NULL
    t.rcv.len = t.rcv.head = 0
    t.nooo = 0
    t.flags &= ~T_FIN_LATE
    if t.snd.len > 0:
        if orphan_bytes + t.snd.len > cfg.orphan_mem:
            return False
        copy = <uint8_t*>heap.kmalloc(t.snd.len)
        if copy == NULL:
            return False
        ring_read(&t.snd, 0, copy, t.snd.len)
    heap.kfree(t.snd.buf)
    t.snd.buf = copy
    t.snd.cap = t.snd.len
    t.snd.head = 0
    t.account = NULL
    t.flags |= T_ORPHAN
    orphan_bytes += t.snd.cap
    return True

# ---- timers -----------------------------------------------------------------------------
cdef void arm(Tcb* t) noexcept nogil:
    if not lists.is_linked(&timed, &t.timed):
        lists.push_back(&timed, &t.timed)

cdef uint64_t current_rto(Tcb* t) noexcept nogil:
    cdef uint64_t r = <uint64_t>t.rto << t.backoff
    return r if r < cfg.rto_max else cfg.rto_max

cdef void set_rexmt(Tcb* t, uint64_t now) noexcept nogil:
    t.rexmt_at = now + current_rto(t)
    arm(t)

cdef void start_timing(Tcb* t, uint32_t seq, uint64_t now) noexcept nogil:
    if not (t.flags & T_TIMING):
        t.flags |= T_TIMING
        t.rtt_seq = seq
        t.rtt_start = now

cdef void rtt_sample(Tcb* t, uint64_t now) noexcept nogil:
    """RFC 6298 (2.2, 2.3): SRTT, RTTVAR and the RTO from one measurement."""
    cdef uint64_t r = now - t.rtt_start
    cdef uint32_t g = 1000 // (pit.hz() if pit.hz() else 100), d, v
    t.flags &= ~T_TIMING
    if r > RTT_MAX:
        r = RTT_MAX
    if not (t.flags & T_HAVE_RTT):
        t.srtt = <uint32_t>r
        t.rttvar = <uint32_t>(r // 2)
        t.flags |= T_HAVE_RTT
    else:
        d = <uint32_t>(t.srtt - r if t.srtt > r else r - t.srtt)
        t.rttvar = (3 * t.rttvar + d) // 4
        t.srtt = <uint32_t>((7 * t.srtt + r) // 8)
    v = 4 * t.rttvar
    t.rto = t.srtt + (v if v > g else g)
    if t.rto < cfg.rto_min:
        t.rto = cfg.rto_min
    if t.rto > cfg.rto_max:
        t.rto = cfg.rto_max

# ---- sending ------------------------------------------------------------------------------
cdef int xmit(uint16_t lport, uint32_t rip, uint16_t rport, uint32_t seq, uint32_t ack, uint8_t flags,
              uint16_t wnd, const uint8_t* data, uint32_t n) noexcept nogil:
    """One segment; a SYN carries our MSS option."""
    cdef uint32_t hlen = HEADER + (4 if flags & F_SYN else 0)
    cdef uint32_t acc
    inet.put16(hdr, lport)
    inet.put16(hdr + 2, rport)
    inet.put32(hdr + 4, seq)
    inet.put32(hdr + 8, ack)
    hdr[12] = <uint8_t>((hlen // 4) << 4)
    hdr[13] = flags
    inet.put16(hdr + 14, wnd)
    inet.put32(hdr + 16, 0)                 # checksum and urgent pointer
    if flags & F_SYN:
        hdr[20] = OPT_MSS
        hdr[21] = 4
        inet.put16(hdr + 22, MSS)
    acc = inet.pseudo_sum(netif.config().ip, rip, ipv4.PROTO_TCP, hlen + n)
    inet.put16(hdr + 16, inet.sum_fold(inet.sum_add(inet.sum_add(acc, hdr, hlen), data, n)))
    return ipv4.output2(rip, ipv4.PROTO_TCP, hdr, hlen, data, n)

cdef inline uint32_t rcv_room(Tcb* t) noexcept nogil:
    cdef uint32_t room = t.rcv.cap - t.rcv.len
    return room if room < WINDOW_MAX else WINDOW_MAX

cdef inline uint32_t sws_step(Tcb* t) noexcept nogil:
    """RFC 1122 4.2.3.3: the window opens by at least this much, or not at all."""
    return t.rcv.cap // 2 if t.rcv.cap // 2 < MSS else MSS

cdef uint16_t advertise(Tcb* t) noexcept nogil:
    """The window to send: never less than the one promised, and opened only
    by a useful step."""
    cdef uint32_t room = rcv_room(t), old = 0
    if seq_gt(t.rcv_adv, t.rcv_nxt):
        old = t.rcv_adv - t.rcv_nxt
    if room < old or room - old < sws_step(t):
        room = old
    t.rcv_adv = t.rcv_nxt + room
    return <uint16_t>room

cdef void send_seg(Tcb* t, uint32_t seq, uint8_t flags, uint32_t off, uint32_t n) noexcept nogil:
    """A segment of the connection: n bytes at off in the send buffer."""
    cdef uint16_t wnd = advertise(t)
    if flags & F_ACK:
        t.delack_at = 0                     # this one acknowledges it all
    xmit(t.lport, t.rip, t.rport, seq, t.rcv_nxt if flags & F_ACK else 0, flags, wnd,
         ring_peek(&t.snd, off, n), n)

cdef void send_ack(Tcb* t) noexcept nogil:
    send_seg(t, t.snd_nxt, F_ACK, 0, 0)

cdef void send_syn(Tcb* t) noexcept nogil:
    send_seg(t, t.iss, F_SYN if t.state == SYN_SENT else F_SYN | F_ACK, 0, 0)

cdef void send_rst(Tcb* t) noexcept nogil:
    xmit(t.lport, t.rip, t.rport, t.snd_nxt, t.rcv_nxt, F_RST | F_ACK, 0, NULL, 0)

cdef inline uint32_t seg_len(Seg* s) noexcept nogil:
    return s.len + (1 if s.flags & F_SYN else 0) + (1 if s.flags & F_FIN else 0)

cdef void reset_reply(uint32_t src, Seg* s) noexcept nogil:
    """RFC 9293 3.10.7.1: the RST for a segment that has no connection."""
    if s.flags & F_ACK:
        xmit(s.dport, src, s.sport, s.ack, 0, F_RST, 0, NULL, 0)
    else:
        xmit(s.dport, src, s.sport, 0, s.seq + seg_len(s), F_RST | F_ACK, 0, NULL, 0)

cdef bint can_send_data(Tcb* t) noexcept nogil:
    return t.state == ESTABLISHED or t.state == CLOSE_WAIT or t.state == FIN_WAIT_1 \
        or t.state == CLOSING or t.state == LAST_ACK

cdef uint32_t output(Tcb* t, uint64_t now) noexcept nogil:
    """Send what the windows allow from snd_nxt on, then the FIN; returns
    the segments sent.  Sender SWS avoidance and Nagle are not done: what
    fits goes at once."""
    cdef uint32_t sent = 0, off, avail, wnd, usable, n
    cdef bint fin
    while can_send_data(t):
        off = t.snd_nxt - t.snd_una
        if off > t.snd.len:
            break                           # the FIN is out
        avail = t.snd.len - off
        wnd = t.snd_wnd if t.snd_wnd < t.cwnd else t.cwnd
        usable = wnd - off if wnd > off else 0
        n = avail if avail < usable else usable
        if n > t.mss:
            n = t.mss
        fin = (t.flags & T_FIN_QUEUED) != 0 and off + n == t.snd.len
        if n == 0 and not fin:
            break
        send_seg(t, t.snd_nxt, F_ACK | (F_PSH if n and off + n == t.snd.len else 0) | (F_FIN if fin else 0),
                 off, n)
        if n and seq_ge(t.snd_nxt, t.snd_max):
            start_timing(t, t.snd_nxt + n, now)
        t.snd_nxt += n + (1 if fin else 0)
        if seq_gt(t.snd_nxt, t.snd_max):
            t.snd_max = t.snd_nxt
        t.persist_at = 0
        if t.rexmt_at == 0:
            set_rexmt(t, now)
        sent += 1
        if fin:
            break
    arm_persist(t, now)
    return sent

cdef void arm_persist(Tcb* t, uint64_t now) noexcept nogil:
    """A zero window with data waiting and nothing in flight: probe it."""
    if (t.snd_wnd == 0 and t.snd.len > 0 and t.snd_nxt == t.snd_una and t.rexmt_at == 0
            and t.persist_at == 0 and can_send_data(t)):
        t.persist_at = now + current_rto(t)
        arm(t)

cdef void resend_first(Tcb* t) noexcept nogil:
    """The oldest unacknowledged segment again (fast retransmit)."""
    cdef uint32_t sent = t.snd_max - t.snd_una
    cdef uint32_t n = t.snd.len if t.snd.len < t.mss else t.mss
    cdef bint fin
    if n > sent:
        n = sent
    fin = (t.flags & T_FIN_QUEUED) != 0 and n == t.snd.len and sent == t.snd.len + 1
    if n or fin:
        send_seg(t, t.snd_una, F_ACK | (F_FIN if fin else 0), 0, n)

# ---- receiving: checks ----------------------------------------------------------------------
cdef bint flags_possible(uint8_t f) noexcept nogil:
    if (f & F_SYN) and (f & (F_FIN | F_RST)):
        return False
    if (f & F_FIN) and (f & F_RST):
        return False
    return (f & (F_SYN | F_ACK | F_RST)) != 0   # anything else must carry an ACK

cdef bint options(const uint8_t* o, uint32_t n, Seg* s) noexcept nogil:
    """Walk the options; False if one runs past the header or MSS is malformed."""
    cdef uint32_t i = 0, size
    while i < n:
        if o[i] == OPT_END:
            break
        if o[i] == OPT_NOP:
            i += 1
            continue
        if i + 1 >= n:
            return False
        size = o[i + 1]
        if size < 2 or size > n - i:
            return False
        if o[i] == OPT_MSS:
            if size != 4:
                return False
            s.mss = inet.get16(o + i + 2)
            if s.mss < MSS_MIN:
                s.mss = MSS_MIN
        i += size
    return True

cdef bint parse(uint32_t src, uint32_t dst, const uint8_t* p, uint32_t n, Seg* s) noexcept nogil:
    cdef uint32_t doff = (p[12] >> 4) * 4U
    if doff < HEADER or doff > n:
        return False
    if inet.sum_fold(inet.sum_add(inet.pseudo_sum(src, dst, ipv4.PROTO_TCP, n), p, n)) != 0:
        return False
    s.sport = inet.get16(p)
    s.dport = inet.get16(p + 2)
    s.seq = inet.get32(p + 4)
    s.ack = inet.get32(p + 8)
    s.flags = p[13] & 0x3F
    s.wnd = inet.get16(p + 14)
    s.mss = 0
    s.data = p + doff
    s.len = n - doff
    return s.sport != 0 and s.dport != 0 and flags_possible(s.flags) and options(p + HEADER, doff - HEADER, s)

cdef void input(uint32_t src, uint32_t dst, const uint8_t* p, uint32_t n) noexcept nogil:
    cdef Seg s
    if n < HEADER:
        netif.drop(netif.DROP_SHORT)
        return
    if not parse(src, dst, p, n, &s):
        netif.drop(netif.DROP_TCP_BAD)
        return
    if dst != netif.config().ip:
        netif.drop(netif.DROP_NOT_US)       # a broadcast: TCP is one to one
        return
    netif.stats().tcp_in += 1
    dispatch(src, &s)
    flush_wakes()

cdef void dispatch(uint32_t src, Seg* s) noexcept nogil:
    cdef Tcb* t = <Tcb*>hashmap.get(&table, key_of(s.dport, src, s.sport))
    cdef Tcb* l
    if (t != NULL and t.state == TIME_WAIT and (s.flags & (F_SYN | F_ACK)) == F_SYN
            and seq_gt(s.seq, t.rcv_nxt)):
        free_tcb(t)                         # a new connection on the old one's numbers
        t = NULL
    if t != NULL:
        arrives(t, s)
        return
    l = <Tcb*>hashmap.get(&table, key_of(s.dport, 0, 0))
    if l != NULL:
        listener_input(l, src, s)
        return
    netif.drop(netif.DROP_TCP_NO_PORT)
    if not (s.flags & F_RST):               # never a RST for a RST
        reset_reply(src, s)

# ---- passive open -----------------------------------------------------------------------------
cdef void peer_mss(Tcb* t, uint16_t mss) noexcept nogil:
    """The segment size, and the initial window (RFC 6928) that follows from it."""
    cdef uint32_t w
    t.mss = MSS_DEFAULT if mss == 0 else (mss if mss < MSS else MSS)
    w = 2 * t.mss if 2 * t.mss > 14600 else 14600
    t.cwnd = 10 * t.mss if 10 * t.mss < w else w
    t.ssthresh = CWND_MAX

cdef bint half_open_room(Tcb* l) noexcept nogil:
    """Under the listener's and the global cap, or the listener's oldest
    half-open connection gives way (a SYN flood cannot grow memory)."""
    if l.half_open.count < 2 * l.backlog and half_open_total < cfg.synq:
        return True
    if lists.empty(&l.half_open):
        return False
    netif.drop(netif.DROP_TCP_FULL)
    free_tcb(linked(l.half_open.head))
    return True

cdef void listener_input(Tcb* l, uint32_t src, Seg* s) noexcept nogil:
    cdef Tcb* t
    if s.flags & F_RST:
        return
    if s.flags & F_ACK:                     # for a connection that is not (or no longer) here
        netif.drop(netif.DROP_TCP_NO_PORT)
        reset_reply(src, s)
        return
    if l.accepted.count >= l.backlog:
        netif.drop(netif.DROP_TCP_FULL)     # the peer will try again
        return
    if not account.room(l.account, account.RES_SOCKETS, 1):
        netif.drop(netif.DROP_TCP_FULL)     # its owner is at its quota: refused
        reset_reply(src, s)
        return
    if not half_open_room(l):
        netif.drop(netif.DROP_TCP_FULL)
        return
    t = new_tcb()
    if t == NULL:
        netif.drop(netif.DROP_TCP_FULL)
        return
    child_from_syn(t, l, src, s)
    if not hash_in(t):
        free_tcb(t)
        netif.drop(netif.DROP_TCP_FULL)
        return
    enqueue(&l.half_open, t)
    send_syn(t)
    set_rexmt(t, netif.now_ms())
    start_timing(t, t.snd_nxt, netif.now_ms())

cdef void child_from_syn(Tcb* t, Tcb* l, uint32_t src, Seg* s) noexcept nogil:
    t.state = SYN_RECEIVED
    t.lport = l.lport
    t.rip = src
    t.rport = s.sport
    t.listener = l
    t.account = l.account
    t.irs = s.seq
    t.rcv_nxt = t.rcv_adv = s.seq + 1
    t.iss = new_isn(t.lport, t.rip, t.rport)
    t.snd_una = t.iss
    t.snd_nxt = t.snd_max = t.iss + 1
    t.snd_wnd = s.wnd
    t.snd_wl1 = s.seq
    peer_mss(t, s.mss)

cdef bint established(Tcb* t, Seg* s, uint64_t now) noexcept nogil:
    """SYN_RECEIVED and our SYN acknowledged.  A child now costs its
    listener's owner a socket and its buffers, or is refused."""
    cdef Tcb* l = t.listener
    if l != NULL:
        if l.accepted.count >= l.backlog:
            netif.drop(netif.DROP_TCP_FULL) # stays half-open; the ACK will come again
            return False
        if not account.take(t.account, account.RES_SOCKETS, 1):
            refuse(t)
            return False
        t.flags |= T_CHARGED
        if not buffers(t):
            refuse(t)
            return False
        unqueue(t)
        enqueue(&l.accepted, t)
        wake_later(l)
    t.snd_una = t.iss + 1
    if t.flags & T_TIMING:
        rtt_sample(t, now)
    t.rexmt_at = 0
    t.retries = t.backoff = 0
    t.state = ESTABLISHED
    t.snd_wnd = s.wnd
    t.snd_wl1 = s.seq
    t.snd_wl2 = s.ack
    wake_later(t)
    return True

cdef void refuse(Tcb* t) noexcept nogil:
    netif.drop(netif.DROP_TCP_FULL)
    send_rst(t)
    free_tcb(t)

# ---- active open --------------------------------------------------------------------------------
cdef void syn_sent_input(Tcb* t, Seg* s, uint64_t now) noexcept nogil:
    """RFC 9293 3.10.7.3."""
    cdef bint acked = False
    if s.flags & F_ACK:
        if seq_le(s.ack, t.iss) or seq_gt(s.ack, t.snd_max):
            if not (s.flags & F_RST):
                xmit(t.lport, t.rip, t.rport, s.ack, 0, F_RST, 0, NULL, 0)
            return
        acked = True
    if s.flags & F_RST:
        if acked:
            enter_closed(t, abi.E_CONNREFUSED)
        return
    if not (s.flags & F_SYN):
        return
    t.irs = s.seq
    t.rcv_nxt = t.rcv_adv = s.seq + 1
    peer_mss(t, s.mss)
    t.snd_wnd = s.wnd
    t.snd_wl1 = s.seq
    t.snd_wl2 = s.ack
    if not acked:
        t.state = SYN_RECEIVED              # simultaneous open
        send_syn(t)
        return
    t.snd_una = s.ack
    if t.flags & T_TIMING:
        rtt_sample(t, now)
    t.rexmt_at = 0
    t.retries = t.backoff = 0
    t.state = ESTABLISHED
    send_ack(t)                             # data on the SYN-ACK is not taken: it comes again
    wake_later(t)

# ---- synchronized states ---------------------------------------------------------------------------
cdef bint acceptable(Tcb* t, Seg* s) noexcept nogil:
    """RFC 9293's acceptability test (3.10.7.4); a zero window still takes
    a FIN or an empty segment at rcv_nxt."""
    cdef uint32_t wnd = rcv_room(t), n = seg_len(s)
    if wnd == 0:
        return s.seq == t.rcv_nxt and s.len == 0
    if n == 0:
        return in_window(s.seq, t.rcv_nxt, wnd)
    return in_window(s.seq, t.rcv_nxt, wnd) or in_window(s.seq + n - 1, t.rcv_nxt, wnd)

cdef inline bint in_window(uint32_t x, uint32_t start, uint32_t wnd) noexcept nogil:
    return seq_le(start, x) and seq_lt(x, start + wnd)

cdef bint trim(Tcb* t, Seg* s) noexcept nogil:
    """Cut what is before rcv_nxt (already had) and past the window; True if
    something was cut from the front: a duplicate, to be acknowledged."""
    cdef uint32_t cut, wnd, over
    cdef bint dup = False
    if seq_lt(s.seq, t.rcv_nxt):
        dup = True
        if s.flags & F_SYN:
            s.flags &= ~F_SYN
            s.seq += 1
        cut = t.rcv_nxt - s.seq
        if seq_lt(s.seq, t.rcv_nxt):
            if cut > s.len:
                s.flags &= ~F_FIN           # that FIN is an old one too
                cut = s.len
            s.data += cut
            s.len -= cut
            s.seq = t.rcv_nxt
    wnd = rcv_room(t)
    if seq_gt(s.seq + s.len, t.rcv_nxt + wnd):
        over = (s.seq + s.len) - (t.rcv_nxt + wnd)
        s.len -= over if over < s.len else s.len
        s.flags &= ~F_FIN
    return dup

cdef void arrives(Tcb* t, Seg* s) noexcept nogil:
    """RFC 9293 3.10.7: a segment for a connection."""
    cdef uint64_t now = netif.now_ms()
    cdef bint ack_now
    cdef int r
    if t.state == LISTEN:
        return                              # never hashed as a connection
    if t.state == SYN_SENT:
        syn_sent_input(t, s, now)
        return
    if t.state == SYN_RECEIVED and (s.flags & (F_SYN | F_ACK)) == F_SYN and s.seq == t.irs:
        send_syn(t)                         # our SYN-ACK was lost
        return
    if not acceptable(t, s):
        if s.flags & F_RST:
            return
        if t.state == TIME_WAIT and (s.flags & F_FIN):
            t.timeout_at = now + 2 * <uint64_t>cfg.msl     # its FIN again: our ACK was lost
        if s.seq == t.rcv_nxt and (s.flags & (F_ACK | F_SYN)) == F_ACK:
            if not ack_input(t, s, now):    # a zero window still takes ACKs
                return
            if output(t, now):
                return
        send_ack(t)
        return
    if s.flags & F_RST:
        rst_input(t, s)
        return
    ack_now = trim(t, s)
    if s.flags & F_SYN:
        send_ack(t)                         # RFC 5961 4.2: a challenge ACK
        return
    if not (s.flags & F_ACK):
        return
    if not ack_input(t, s, now):
        return
    r = text_input(t, s, now)
    if r < 0:
        return
    if output(t, now) == 0 and (ack_now or r == 1 or (r == 2 and not delay_ack(t, now))):
        send_ack(t)

cdef bint delay_ack(Tcb* t, uint64_t now) noexcept nogil:
    """RFC 9293 3.8.6.3: the ACK of in-order data may wait (tcp_delack_ms) for
    the answer it can ride on -- a request's response -- but not twice: the
    second segment while one waits is acknowledged at once, and so is one that
    leaves less room than a segment."""
    if cfg.delack_ms == 0 or t.delack_at != 0 or rcv_room(t) < t.mss:
        return False                        # (a window too small for a segment is news at once)
    t.delack_at = now + cfg.delack_ms
    arm(t)
    return True

cdef void rst_input(Tcb* t, Seg* s) noexcept nogil:
    """RFC 5961 3.2: only a RST exactly at rcv_nxt resets; one elsewhere in
    the window gets a challenge ACK."""
    if s.seq != t.rcv_nxt:
        send_ack(t)
        return
    if t.state == SYN_RECEIVED and t.listener != NULL:
        free_tcb(t)                         # back to the listener, which never knew it
    elif t.state == SYN_RECEIVED:
        enter_closed(t, abi.E_CONNREFUSED)
    elif t.state == ESTABLISHED or t.state == FIN_WAIT_1 or t.state == FIN_WAIT_2 or t.state == CLOSE_WAIT:
        enter_closed(t, abi.E_CONNRESET)
    else:
        enter_closed(t, 0)

cdef bint ack_input(Tcb* t, Seg* s, uint64_t now) noexcept nogil:
    """The ACK field (RFC 9293 3.10.7.4, fifth); False if t is gone or the
    segment is done with."""
    if t.state == SYN_RECEIVED:
        if s.ack != t.iss + 1:
            xmit(t.lport, t.rip, t.rport, s.ack, 0, F_RST, 0, NULL, 0)
            return False
        if not established(t, s, now):
            return False
    if seq_gt(s.ack, t.snd_max):
        send_ack(t)                         # acknowledges what was never sent
        return False
    if seq_lt(s.ack, t.snd_una):
        return True                         # an old ACK: its data may still be new
    if seq_gt(s.ack, t.snd_una):
        new_ack(t, s, now)
    else:
        dup_ack(t, s, now)
    update_window(t, s)
    return fin_acked(t, now)

cdef void new_ack(Tcb* t, Seg* s, uint64_t now) noexcept nogil:
    cdef uint32_t acked = s.ack - t.snd_una, data = acked
    if data > t.snd.len:
        data = t.snd.len
        if t.flags & T_FIN_QUEUED:
            t.flags |= T_FIN_ACKED
    ring_drop(&t.snd, data)
    t.snd_una = s.ack
    if seq_lt(t.snd_nxt, t.snd_una):
        t.snd_nxt = t.snd_una
    if (t.flags & T_TIMING) and seq_ge(s.ack, t.rtt_seq):
        rtt_sample(t, now)
    t.retries = t.backoff = 0
    t.dupacks = 0
    congestion_ack(t, s.ack, data)
    if t.snd_una == t.snd_max:
        t.rexmt_at = 0
    else:
        set_rexmt(t, now)                   # RFC 6298 (5.3)
    if data:
        wake_later(t)

cdef void congestion_ack(Tcb* t, uint32_t ack, uint32_t data) noexcept nogil:
    """RFC 5681: slow start, congestion avoidance; NewReno's partial ACKs (RFC 6582)."""
    cdef uint32_t step
    if t.flags & T_RECOVERY:
        if seq_ge(ack, t.recover):
            t.flags &= ~T_RECOVERY
            t.cwnd = t.ssthresh
        else:
            resend_first(t)
        return
    if t.cwnd < t.ssthresh:
        step = data if data < t.mss else t.mss
    else:
        step = <uint32_t>t.mss * t.mss // t.cwnd
        if step == 0:
            step = 1
    t.cwnd = t.cwnd + step if t.cwnd + step < CWND_MAX else CWND_MAX

cdef void dup_ack(Tcb* t, Seg* s, uint64_t now) noexcept nogil:
    """RFC 5681's duplicate ACK: the third starts a fast retransmit."""
    if (s.len or (s.flags & (F_SYN | F_FIN)) or s.wnd != t.snd_wnd or s.wnd == 0
            or t.snd_max == t.snd_una):
        return
    if t.dupacks < 255:
        t.dupacks += 1
    if t.dupacks == 3 and not (t.flags & T_RECOVERY):
        t.ssthresh = flight_half(t)
        t.recover = t.snd_max
        t.flags |= T_RECOVERY
        t.flags &= ~T_TIMING                # Karn: no sample from a resent segment
        resend_first(t)
        t.cwnd = t.ssthresh + 3 * t.mss
    elif t.dupacks > 3 and (t.flags & T_RECOVERY):
        t.cwnd += t.mss                     # each one is a segment that left the network

cdef uint32_t flight_half(Tcb* t) noexcept nogil:
    cdef uint32_t half = (t.snd_max - t.snd_una) // 2
    return half if half > 2 * t.mss else 2 * t.mss

cdef void update_window(Tcb* t, Seg* s) noexcept nogil:
    """RFC 9293's SND.WL1/WL2 rule: only a newer segment moves the window."""
    if seq_lt(t.snd_wl1, s.seq) or (t.snd_wl1 == s.seq and seq_le(t.snd_wl2, s.ack)):
        if t.snd_wnd == 0 and s.wnd != 0:
            t.persist_at = 0
            if t.rexmt_at == 0:
                t.backoff = 0
        t.snd_wnd = s.wnd
        t.snd_wl1 = s.seq
        t.snd_wl2 = s.ack

cdef bint fin_acked(Tcb* t, uint64_t now) noexcept nogil:
    """Our FIN acknowledged: the closing states move on; False if t is gone."""
    if not (t.flags & T_FIN_ACKED):
        return True
    if t.state == FIN_WAIT_1:
        t.state = FIN_WAIT_2
        t.timeout_at = now + cfg.fin_timeout    # an orphan does not wait for ever
        arm(t)
    elif t.state == CLOSING:
        enter_time_wait(t, now)
    elif t.state == LAST_ACK:
        enter_closed(t, 0)
        return False
    return True

cdef int text_input(Tcb* t, Seg* s, uint64_t now) noexcept nogil:
    """The data and the FIN: -1 if t is gone, 1 if they need an ACK now, 2 if
    it may wait (data in order, no FIN, no hole left)."""
    if s.len == 0 and not (s.flags & F_FIN):
        return 0
    if t.state != ESTABLISHED and t.state != FIN_WAIT_1 and t.state != FIN_WAIT_2:
        return 1                            # after the peer's FIN: nothing more comes
    if s.len and (t.flags & T_ORPHAN):
        send_rst(t)                         # nobody will read it (as Linux)
        enter_closed(t, 0)
        return -1
    if s.flags & F_FIN:
        t.flags |= T_FIN_LATE
        t.rcv_fin = s.seq + s.len
    if s.seq == t.rcv_nxt:
        append(t, s)
    else:
        keep_out_of_order(t, s)
    if (t.flags & T_FIN_LATE) and t.rcv_fin == t.rcv_nxt:
        fin_input(t, now)
    if s.seq + s.len == t.rcv_nxt and not (s.flags & F_FIN) and t.nooo == 0:
        return 2
    return 1

cdef void append(Tcb* t, Seg* s) noexcept nogil:
    if s.len == 0 or t.rcv.buf == NULL:
        return
    ring_write(&t.rcv, t.rcv.len, s.data, s.len)
    t.rcv.len += s.len
    t.rcv_nxt += s.len
    absorb_out_of_order(t)
    wake_later(t)

cdef void absorb_out_of_order(Tcb* t) noexcept nogil:
    """Ranges that rcv_nxt has reached are in order now: their bytes are in place."""
    while t.nooo > 0 and seq_le(t.ooo[0].start, t.rcv_nxt):
        if seq_gt(t.ooo[0].end, t.rcv_nxt):
            t.rcv.len += t.ooo[0].end - t.rcv_nxt
            t.rcv_nxt = t.ooo[0].end
        t.nooo -= 1
        memmove(&t.ooo[0], &t.ooo[1], t.nooo * sizeof(Range))

cdef void keep_out_of_order(Tcb* t, Seg* s) noexcept nogil:
    """Bytes past a hole go where they belong in the receive buffer (inside
    the window, so no memory is added); at most OOO_MAX ranges, else dropped."""
    if s.len == 0 or t.rcv.buf == NULL:
        return
    if ooo_add(t, s.seq, s.seq + s.len):
        ring_write(&t.rcv, t.rcv.len + (s.seq - t.rcv_nxt), s.data, s.len)

cdef bint ooo_add(Tcb* t, uint32_t start, uint32_t end) noexcept nogil:
    """Add [start, end), merged with the ranges it touches; kept in order."""
    cdef uint32_t i = 0, j, gone
    while i < t.nooo and seq_lt(t.ooo[i].end, start):
        i += 1
    j = i
    while j < t.nooo and seq_le(t.ooo[j].start, end):
        if seq_lt(t.ooo[j].start, start):
            start = t.ooo[j].start
        if seq_gt(t.ooo[j].end, end):
            end = t.ooo[j].end
        j += 1
    gone = j - i
    if gone == 0:
        if t.nooo == OOO_MAX:
            return False
        memmove(&t.ooo[i + 1], &t.ooo[i], (t.nooo - i) * sizeof(Range))
        t.nooo += 1
    elif gone > 1:
        memmove(&t.ooo[i + 1], &t.ooo[j], (t.nooo - j) * sizeof(Range))
        t.nooo -= gone - 1
    t.ooo[i].start = start
    t.ooo[i].end = end
    return True

cdef void fin_input(Tcb* t, uint64_t now) noexcept nogil:
    t.flags &= ~T_FIN_LATE
    t.flags |= T_FIN_IN
    t.rcv_nxt += 1
    t.nooo = 0                              # bytes a peer put past its own FIN are nothing
    if t.state == ESTABLISHED:
        t.state = CLOSE_WAIT
    elif t.state == FIN_WAIT_1:
        if t.flags & T_FIN_ACKED:
            enter_time_wait(t, now)
        else:
            t.state = CLOSING
    elif t.state == FIN_WAIT_2:
        enter_time_wait(t, now)
    wake_later(t)

cdef void enter_time_wait(Tcb* t, uint64_t now) noexcept nogil:
    t.state = TIME_WAIT
    t.rexmt_at = t.persist_at = 0
    drop_send_buffer(t)                     # everything was acknowledged
    t.timeout_at = now + 2 * <uint64_t>cfg.msl
    arm(t)
    unqueue(t)
    enqueue(&time_wait, t)

cdef void enter_closed(Tcb* t, int64_t err) noexcept nogil:
    """The connection is over; a Tcb nobody holds goes at once, a socket's
    stays (unhashed, so the numbers are free again) until it is closed."""
    if t.error == 0:
        t.error = <int32_t>err
    t.state = CLOSED
    hash_out(t)
    unqueue(t)
    t.rexmt_at = t.persist_at = t.timeout_at = t.delack_at = 0
    lists.remove(&timed, &t.timed)
    if t.sock == 0:
        free_tcb(t)
    else:
        wake_later(t)

# ---- timers ------------------------------------------------------------------------------------
cdef void tick(uint64_t now) noexcept nogil:
    cdef ListNode* n = timed.head
    cdef ListNode* nxt
    while n != NULL and nwakes < WAKES_MAX - 2:     # the rest next time, if many wake at once
        nxt = n.next
        run_timers(<Tcb*>n, now)
        n = nxt
    flush_wakes()

cdef void run_timers(Tcb* t, uint64_t now) noexcept nogil:
    if t.rexmt_at and now >= t.rexmt_at:
        t.rexmt_at = 0
        if not on_rexmt(t, now):
            return
    if t.persist_at and now >= t.persist_at:
        t.persist_at = 0
        if not on_persist(t, now):
            return
    if t.timeout_at and now >= t.timeout_at:
        t.timeout_at = 0
        enter_closed(t, 0)                  # TIME_WAIT over, or an orphan's FIN_WAIT_2
        return
    if t.delack_at and now >= t.delack_at:
        send_ack(t)                         # (clears delack_at)
    if t.rexmt_at == 0 and t.persist_at == 0 and t.timeout_at == 0 and t.delack_at == 0:
        lists.remove(&timed, &t.timed)

cdef bint on_rexmt(Tcb* t, uint64_t now) noexcept nogil:
    """RFC 6298 (5.4-5.7): resend the oldest, back off; give up after the retries."""
    cdef uint32_t limit = cfg.retries
    if t.state == SYN_SENT:
        limit = cfg.syn_retries
    elif t.state == SYN_RECEIVED:
        limit = cfg.synack_retries
    if t.snd_una == t.snd_max:
        return True
    if t.retries >= limit:
        enter_closed(t, abi.E_TIMEDOUT)
        return False
    t.retries += 1
    if t.backoff < BACKOFF_MAX:
        t.backoff += 1
    t.flags &= ~(T_TIMING | T_RECOVERY)     # Karn
    t.dupacks = 0
    if t.state == SYN_SENT or t.state == SYN_RECEIVED:
        send_syn(t)
        set_rexmt(t, now)
        return True
    t.ssthresh = flight_half(t)
    t.cwnd = t.mss
    t.snd_nxt = t.snd_una                   # go back: the window is one segment now
    output(t, now)
    if t.rexmt_at == 0 and t.persist_at == 0:
        set_rexmt(t, now)
    return True

cdef bint on_persist(Tcb* t, uint64_t now) noexcept nogil:
    """A zero window: one byte past it, at growing intervals (RFC 9293 3.8.6.1)."""
    if t.snd_wnd != 0 or t.snd.len == 0 or t.snd_nxt != t.snd_una or not can_send_data(t):
        output(t, now)
        return True
    if t.flags & T_ORPHAN:
        if t.retries >= cfg.retries:        # nobody waits for it: give up some time
            enter_closed(t, abi.E_TIMEDOUT)
            return False
        t.retries += 1
    send_seg(t, t.snd_una, F_ACK, 0, 1)
    if seq_gt(t.snd_una + 1, t.snd_max):
        t.snd_max = t.snd_una + 1
    if t.backoff < BACKOFF_MAX:
        t.backoff += 1
    t.persist_at = now + current_rto(t)
    arm(t)
    return True

# ---- the socket layer's side ----------------------------------------------------------------------
cdef Tcb* listen(uint16_t port, uint32_t backlog, Account* a, uint32_t sock, int64_t* err) noexcept nogil:
    cdef Tcb* t
    if hashmap.get(&table, key_of(port, 0, 0)) != NULL:
        err[0] = abi.E_EXIST
        return NULL
    t = new_tcb()
    if t == NULL:
        err[0] = abi.E_NOMEM
        return NULL
    t.state = LISTEN
    t.lport = port
    t.account = a
    t.sock = sock
    t.backlog = backlog if 0 < backlog < BACKLOG_MAX else (1 if backlog == 0 else BACKLOG_MAX)
    if not hash_in(t):
        free_tcb(t)
        err[0] = abi.E_NOMEM
        return NULL
    return t

cdef Tcb* connect(uint16_t lport, uint32_t ip, uint16_t port, Account* a, uint32_t sock,
                  int64_t* err) noexcept nogil:
    cdef Tcb* t
    cdef uint64_t now = netif.now_ms()
    if in_use(lport, ip, port):
        err[0] = abi.E_EXIST
        return NULL
    t = new_tcb()
    if t == NULL:
        err[0] = abi.E_NOMEM
        return NULL
    t.lport = lport
    t.rip = ip
    t.rport = port
    t.account = a
    t.sock = sock
    if not buffers(t) or not hash_in(t):
        free_tcb(t)
        err[0] = abi.E_NOMEM
        return NULL
    t.state = SYN_SENT
    t.iss = new_isn(lport, ip, port)
    t.snd_una = t.iss
    t.snd_nxt = t.snd_max = t.iss + 1
    peer_mss(t, 0)
    send_syn(t)
    set_rexmt(t, now)
    start_timing(t, t.snd_nxt, now)
    return t

cdef bint in_use(uint16_t lport, uint32_t ip, uint16_t port) noexcept nogil:
    return hashmap.contains(&table, key_of(lport, ip, port))

cdef Tcb* accept(Tcb* l, uint32_t sock) noexcept nogil:
    cdef Tcb* t = linked(l.accepted.head)
    if t == NULL:
        return NULL
    unqueue(t)
    t.listener = NULL
    t.sock = sock
    t.flags &= ~T_CHARGED                   # its socket holds the RES_SOCKETS charge now
    return t

cdef bint pending(Tcb* l) noexcept nogil:
    return not lists.empty(&l.accepted)

cdef int64_t connect_status(Tcb* t) noexcept nogil:
    if t.error:
        return t.error
    if t.state == SYN_SENT or t.state == SYN_RECEIVED:
        return abi.E_AGAIN
    if t.state == LISTEN:
        return abi.E_INVAL
    if t.state == CLOSED:
        return abi.E_NOTCONN
    return 0

cdef int64_t send(Tcb* t, const uint8_t* data, uint32_t n, bint more) noexcept nogil:
    cdef uint32_t room, take
    if t.error:
        return t.error
    if t.state == SYN_SENT or t.state == SYN_RECEIVED:
        return abi.E_AGAIN
    if t.state != ESTABLISHED and t.state != CLOSE_WAIT:
        return abi.E_NOTCONN
    room = t.snd.cap - t.snd.len
    take = n if n < room else room
    if n == 0:
        return 0
    if take == 0:
        return abi.E_AGAIN
    ring_write(&t.snd, t.snd.len, data, take)
    t.snd.len += take
    if not (more and take == n and t.snd.len < t.mss):
        output(t, netif.now_ms())
    return take

cdef int64_t recv(Tcb* t, uint8_t* out, uint32_t cap) noexcept nogil:
    cdef uint32_t n
    if cap == 0:
        return 0
    if t.rcv.len > 0:
        n = t.rcv.len if t.rcv.len < cap else cap
        ring_read(&t.rcv, 0, out, n)
        ring_drop(&t.rcv, n)
        window_update(t)
        return n
    if t.error:
        return t.error
    if t.flags & T_FIN_IN:
        return 0
    if t.state == LISTEN:
        return abi.E_INVAL
    if t.state == CLOSED:
        return abi.E_NOTCONN
    return abi.E_AGAIN

cdef void window_update(Tcb* t) noexcept nogil:
    """The application read: tell the peer if the window opened by a useful step."""
    if t.state != ESTABLISHED:
        return
    if seq_ge(t.rcv_nxt + rcv_room(t), t.rcv_adv + sws_step(t)):
        send_ack(t)

cdef bint readable(Tcb* t) noexcept nogil:
    if t.state == LISTEN:
        return not lists.empty(&t.accepted)
    return t.rcv.len > 0 or (t.flags & T_FIN_IN) != 0 or t.error != 0 or t.state == CLOSED

cdef bint writable(Tcb* t) noexcept nogil:
    if t.state == SYN_SENT or t.state == SYN_RECEIVED:
        return t.error != 0
    if t.state == ESTABLISHED or t.state == CLOSE_WAIT:
        return t.snd.len < t.snd.cap
    return True                             # a send fails at once: no waiting

cdef void release(Tcb* t) noexcept nogil:
    t.sock = 0
    if t.state == LISTEN:
        close_listener(t)
    elif t.state == CLOSED or t.state == SYN_SENT:
        free_tcb(t)
    elif t.rcv.len > 0 or t.state == SYN_RECEIVED:
        send_rst(t)                         # unread data: the peer must know it was lost
        free_tcb(t)
    else:
        t.state = FIN_WAIT_1 if t.state == ESTABLISHED else LAST_ACK
        t.flags |= T_FIN_QUEUED
        if not rehome(t):
            send_rst(t)
            free_tcb(t)
            return
        output(t, netif.now_ms())

cdef void close_listener(Tcb* l) noexcept nogil:
    """Half-open children just go; established ones are reset."""
    cdef Tcb* c
    while not lists.empty(&l.half_open):
        free_tcb(linked(l.half_open.head))
    while not lists.empty(&l.accepted):
        c = linked(l.accepted.head)
        send_rst(c)
        free_tcb(c)
    free_tcb(l)

cdef uint32_t count() noexcept nogil:
    return <uint32_t>everyone.count

# ---- consistency --------------------------------------------------------------------------------
cdef uint32_t abort_unheld() noexcept nogil:
    cdef ListNode* n = everyone.head
    cdef ListNode* next
    cdef Tcb* t
    cdef uint32_t gone = 0
    while n != NULL:
        next = n.next
        t = linked(n)
        if t.sock == 0 and t.listener == NULL:
            if t.state != CLOSED and t.state != TIME_WAIT:
                send_rst(t)
            free_tcb(t)
            gone += 1
        n = next
    return gone

cdef uint32_t check() noexcept nogil:
    cdef ListNode* n = everyone.head
    cdef uint32_t bad = 0, hashed = 0, half = 0
    cdef uint64_t orphaned = 0
    cdef Tcb* t
    while n != NULL:
        t = linked(n)
        bad += check_one(t)
        if t.flags & T_HASHED:
            hashed += 1
        if t.state == LISTEN:
            half += <uint32_t>t.half_open.count
        if (t.flags & T_ORPHAN) and t.snd.buf != NULL:
            orphaned += t.snd.cap
        n = n.next
    bad += (hashed != table.count) + (half != half_open_total) + (orphaned != orphan_bytes)
    return bad

cdef uint32_t check_one(Tcb* t) noexcept nogil:
    cdef uint32_t bad = 0, i
    bad += t.state >= STATE_COUNT
    bad += ((t.flags & T_HASHED) != 0) != (t.state != CLOSED)
    if t.flags & T_HASHED:
        bad += <Tcb*>hashmap.get(&table, key_of(t.lport, 0 if t.state == LISTEN else t.rip,
                                                0 if t.state == LISTEN else t.rport)) != t
    bad += t.snd.len > t.snd.cap or t.rcv.len > t.rcv.cap
    bad += (t.snd.cap != 0 and t.snd.head >= t.snd.cap) or (t.rcv.cap != 0 and t.rcv.head >= t.rcv.cap)
    if t.state > SYN_SENT:
        bad += seq_gt(t.snd_una, t.snd_nxt) or seq_gt(t.snd_nxt, t.snd_max)
        bad += t.snd_max - t.snd_una > t.snd.len + 2
    bad += t.nooo > OOO_MAX
    for i in range(t.nooo if t.nooo <= OOO_MAX else 0):
        bad += seq_le(t.ooo[i].start, t.rcv_nxt) or seq_ge(t.ooo[i].start, t.ooo[i].end)
        bad += i > 0 and seq_ge(t.ooo[i - 1].end, t.ooo[i].start)
        bad += seq_gt(t.ooo[i].end, t.rcv_nxt + (t.rcv.cap - t.rcv.len))
    bad += (t.rexmt_at + t.persist_at + t.timeout_at + t.delack_at != 0) and not lists.is_linked(&timed, &t.timed)
    if t.listener != NULL:
        bad += t.qlist != &t.listener.half_open and t.qlist != &t.listener.accepted
        bad += t.sock != 0
    bad += t.state == TIME_WAIT and t.qlist != &time_wait
    return bad

# ---- hosted ---------------------------------------------------------------------------------------
def py_count():
    return count()

def py_check():
    return check()

def py_tcbs():
    """Every Tcb's numbers and how many of check()'s tests it fails."""
    cdef ListNode* n = everyone.head
    cdef Tcb* t
    out = []
    while n != NULL:
        t = linked(n)
        out.append({"state": STATES[t.state % STATE_COUNT], "flags": t.flags, "bad": check_one(t),
                    "lport": t.lport, "rport": t.rport, "snd_una": t.snd_una, "snd_nxt": t.snd_nxt,
                    "snd_max": t.snd_max, "snd_len": t.snd.len, "snd_cap": t.snd.cap, "rcv_nxt": t.rcv_nxt,
                    "rcv_len": t.rcv.len, "rcv_cap": t.rcv.cap, "ooo": [(t.ooo[i].start, t.ooo[i].end) for i in range(t.nooo % (OOO_MAX + 1))],
                    "timers": (t.rexmt_at, t.persist_at, t.timeout_at), "sock": t.sock})
        n = n.next
    return out

def py_half_open():
    return half_open_total

def py_states():
    """{state: how many Tcbs}."""
    cdef ListNode* n = everyone.head
    cdef uint32_t counts[STATE_COUNT]
    cdef uint32_t i
    memset(counts, 0, sizeof(counts))
    while n != NULL:
        counts[linked(n).state % STATE_COUNT] += 1
        n = n.next
    return {STATES[i]: counts[i] for i in range(STATE_COUNT) if counts[i]}

def py_seed(uint64_t v):
    """Fix the hash salt and the ISN secret (a fuzzer's seeds need known numbers)."""
    global key_salt, isn_secret
    if table.count:
        raise ValueError("only before the first connection")
    key_salt = hashmap.mix(v)
    isn_secret = hashmap.mix(key_salt ^ v)

def py_force_isn(uint32_t v):
    """The next connection's initial sequence number is v."""
    global isn_forced, isn_value
    isn_forced, isn_value = True, v

def py_config():
    return {"sndbuf": cfg.sndbuf, "rcvbuf": cfg.rcvbuf, "rto_min": cfg.rto_min, "rto_max": cfg.rto_max,
            "rto_init": cfg.rto_init, "msl": cfg.msl, "fin_timeout": cfg.fin_timeout,
            "conns": cfg.conns, "synq": cfg.synq, "syn_retries": cfg.syn_retries,
            "synack_retries": cfg.synack_retries, "retries": cfg.retries, "orphan_mem": cfg.orphan_mem,
            "tcb_bytes": sizeof(Tcb)}

def py_orphan_bytes():
    return orphan_bytes

STATES = ["CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2",
          "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"]
