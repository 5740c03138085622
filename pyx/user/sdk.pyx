# See sdk.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy, memset
from kwe.common cimport abi, ring, kstr
from kwe.common.abi cimport EventSlot, Completion, UserInfo, CapSet, ProcInfo, SysStat
from kwe.common.format cimport format_buf

cdef extern from *:
    """
    int umain(void);                        /* each program defines it */
    """
    int umain() nogil                       # the program's entry
    void __builtin_trap() nogil
    uint64_t __builtin_ia32_rdtsc() nogil

cdef enum:
    KEPT_MAX = 1024                         # completions kept while call() waits for another
    PRINTF_MAX = 1024

cdef ring.Ring events
cdef ring.Ring results
cdef uint64_t next_id = 0
cdef EventSlot* open_slot = NULL
cdef Completion kept[KEPT_MAX]
cdef uint32_t kept_first = 0, kept_count = 0
cdef bint overflowed = False
cdef ResultHandler handler = NULL

cdef void on_result(ResultHandler h) noexcept nogil:
    global handler
    handler = h

cdef UserInfo* info() noexcept nogil:
    return <UserInfo*>abi.USER_INFO

cdef public void kwe_user_start() noexcept nogil:
    cdef UserInfo* u = info()
    ring.attach_producer(&events, <void*>u.event_ring, u.event_ring_size, abi.SLOT_SIZE)
    ring.attach_consumer(&results, <void*>u.result_ring, u.result_ring_size, abi.COMPLETION_SIZE)
    exit(umain())

# ---- events ----------------------------------------------------------------------
cdef int deck_of(uint16_t opcode) noexcept nogil:
    return opcode >> 8

cdef EventSlot* event(uint16_t opcode) noexcept nogil:
    global next_id, open_slot
    cdef EventSlot* e = <EventSlot*>ring.produce_slot(&events)
    while e == NULL:                        # full: let the kernel take what is there
        make_room()
        e = <EventSlot*>ring.produce_slot(&events)
    memset(&e.h, 0, sizeof(e.h))
    next_id += 1
    e.h.event_id = next_id
    e.h.opcode = opcode
    if deck_of(opcode) == abi.DECK_EXECUTION:
        e.h.route[0] = abi.DECK_EXECUTION
        e.h.route_len = 1
    else:
        e.h.route[0] = deck_of(opcode)
        e.h.route[1] = abi.DECK_EXECUTION
        e.h.route_len = 2
    open_slot = e
    return e

cdef void set_route(EventSlot* e, const uint8_t* route, uint8_t n) noexcept nogil:
    memcpy(e.h.route, route, n if n <= abi.ROUTE_MAX else abi.ROUTE_MAX)
    e.h.route_len = n

cdef void set_input(EventSlot* e, const void* data, uint32_t n) noexcept nogil:
    cdef abi.InputPointer* ptr = <abi.InputPointer*>e.payload
    if n <= abi.PAYLOAD_MAX:
        memcpy(e.payload, data, n)
        e.h.payload_len = n
    else:
        e.h.flags |= abi.EVF_INPUT_PTR
        ptr.address = <uint64_t>data
        ptr.length = n

cdef void set_output(EventSlot* e, void* buf, uint64_t cap) noexcept nogil:
    e.h.flags |= abi.EVF_OUTPUT_PTR
    e.h.arg[2] = <uint64_t>buf
    e.h.arg[3] = cap

cdef void commit() noexcept nogil:
    global open_slot
    if open_slot != NULL:
        ring.produce(&events)
        open_slot = NULL

cdef void make_room() noexcept nogil:
    """The EventRing is full.  Offer it to the kernel; if it takes none,
    the ResultRing is short of room: reap completions, or wait for them."""
    if kernel_notify(0, abi.NOTIFY_SUBMIT) > 0:
        return
    if ring.pending(&results) > 0:
        reap()
    else:
        await_completion()

cdef void await_completion() noexcept nogil:
    """Nothing to read: block for a completion if the kernel promised one,
    else (events refused by a quota, answers not asked for) let others run."""
    if results.hdr.reserved > 0:
        kernel_notify(0, abi.NOTIFY_SUBMIT | abi.NOTIFY_WAIT)
    else:
        kernel_notify(0, abi.NOTIFY_SUBMIT | abi.NOTIFY_YIELD)

cdef uint32_t unsent() noexcept nogil:
    return ring.pending(&events)

cdef int64_t submit() noexcept nogil:
    return kernel_notify(0, abi.NOTIFY_SUBMIT)

cdef int64_t wait(uint32_t workflow_id) noexcept nogil:
    return kernel_notify(workflow_id, abi.NOTIFY_WAIT)

cdef void yield_cpu() noexcept nogil:
    kernel_notify(0, abi.NOTIFY_YIELD)

# ---- results ---------------------------------------------------------------------
cdef void keep(Completion* r) noexcept nogil:
    global kept_count, overflowed
    if handler != NULL:
        handler(r)
        return
    if overflowed:                          # on our way out
        return
    if kept_count == KEPT_MAX:              # dropping one would break the ABI's promise
        overflowed = True
        puts(b"sdk: more than 1024 completions kept unread; set sdk.on_result or read them\n")
        exit(abi.E_TOOBIG)
    memcpy(&kept[(kept_first + kept_count) % KEPT_MAX], r, sizeof(Completion))
    kept_count += 1

cdef void keep_result(Completion* r) noexcept nogil:
    keep(r)

cdef bint take(Completion* out) noexcept nogil:
    cdef Completion* r = <Completion*>ring.consume_slot(&results)
    if r == NULL:
        return False
    memcpy(out, r, sizeof(Completion))
    ring.consume(&results)
    return True

cdef bint next_result(Completion* out) noexcept nogil:
    global kept_first, kept_count
    if kept_count:
        memcpy(out, &kept[kept_first], sizeof(Completion))
        kept_first = (kept_first + 1) % KEPT_MAX
        kept_count -= 1
        return True
    return take(out)

cdef void wait_result(Completion* out) noexcept nogil:
    while not next_result(out):
        await_completion()

cdef void reap() noexcept nogil:
    cdef Completion c
    while take(&c):
        keep(&c)

cdef uint32_t run_done(Completion* c) noexcept nogil:
    return <uint32_t>(c.value & 0xFFFF)

cdef uint32_t run_failed(Completion* c) noexcept nogil:
    return <uint32_t>((c.value >> 16) & 0xFFFF)

cdef uint32_t run_cancelled(Completion* c) noexcept nogil:
    return <uint32_t>((c.value >> 32) & 0xFFFF)

cdef int call(EventSlot* e, Completion* out) noexcept nogil:
    cdef uint64_t id = e.h.event_id
    commit()
    kernel_notify(0, abi.NOTIFY_SUBMIT)
    while True:
        if not take(out):         # SUBMIT again: e may still wait for room
            await_completion()
            continue
        if out.event_id == id and not (out.flags & (abi.RF_NODE | abi.RF_CHILD_EXIT)):
            return out.status
        keep(out)

# ---- conveniences ------------------------------------------------------------------
cdef EventSlot* event_args(uint16_t opcode, uint64_t a0, uint64_t a1) noexcept nogil:
    cdef EventSlot* e = event(opcode)
    e.h.arg[0], e.h.arg[1] = a0, a1
    return e

cdef int64_t call_value(EventSlot* e) noexcept nogil:
    cdef Completion r
    if call(e, &r) < 0:
        return r.status
    return <int64_t>r.value

cdef void write(const char* s, size_t n) noexcept nogil:
    cdef EventSlot* e
    cdef size_t take
    while n:
        take = n if n < abi.PAYLOAD_MAX else abi.PAYLOAD_MAX
        e = event(abi.OP_CONSOLE_WRITE)
        e.h.flags |= abi.EVF_NO_RESULT
        set_input(e, s, <uint32_t>take)
        commit()
        s += take
        n -= take
    submit()

cdef void puts(const char* s) noexcept nogil:
    write(s, kstr.length(s))

cdef void printf(const char* fmt, uint64_t a0=0, uint64_t a1=0, uint64_t a2=0,
                 uint64_t a3=0, uint64_t a4=0, uint64_t a5=0, uint64_t a6=0,
                 uint64_t a7=0) noexcept nogil:
    cdef char buf[PRINTF_MAX]
    cdef uint64_t args[8]
    cdef size_t n
    args[0], args[1], args[2], args[3] = a0, a1, a2, a3
    args[4], args[5], args[6], args[7] = a4, a5, a6, a7
    n = format_buf(buf, PRINTF_MAX, fmt, args, 8)
    write(buf, n if n < PRINTF_MAX else PRINTF_MAX - 1)

cdef int64_t spawn(const char* command, uint32_t event_ring, uint32_t result_ring,
                   uint32_t stack_pages) noexcept nogil:
    cdef Completion r
    cdef EventSlot* e = event(abi.OP_SPAWN)
    set_input(e, command, <uint32_t>kstr.length(command))
    e.h.arg[0] = event_ring | (<uint64_t>result_ring << 32)
    e.h.arg[1] = stack_pages
    if call(e, &r) < 0:
        return r.status
    return <int64_t>r.value

cdef int64_t spawn_with(const char* command, uint32_t event_ring, uint32_t result_ring,
                        uint32_t stack_pages, const CapSet* caps) noexcept nogil:
    cdef uint8_t input[abi.PAYLOAD_MAX]
    cdef Completion r
    cdef size_t n = kstr.length(command)
    cdef EventSlot* e
    if n + 1 + sizeof(CapSet) > abi.PAYLOAD_MAX:
        return abi.E_TOOBIG
    memcpy(input, command, n + 1)                   # the command, its NUL, then the CapSet
    memcpy(input + n + 1, caps, sizeof(CapSet))
    e = event(abi.OP_SPAWN)
    set_input(e, input, <uint32_t>(n + 1 + sizeof(CapSet)))
    e.h.arg[0] = event_ring | (<uint64_t>result_ring << 32)
    e.h.arg[1] = stack_pages
    if call(e, &r) < 0:
        return r.status
    return <int64_t>r.value

cdef int caps_get(CapSet* out) noexcept nogil:
    cdef Completion r
    cdef EventSlot* e = event(abi.OP_CAPS_GET)
    set_output(e, out, sizeof(CapSet))
    return call(e, &r)

cdef int caps_limit(const CapSet* limit) noexcept nogil:
    cdef Completion r
    cdef EventSlot* e = event(abi.OP_CAPS_LIMIT)
    set_input(e, limit, sizeof(CapSet))
    return call(e, &r)

cdef void caps_sandbox(CapSet* c) noexcept nogil:
    if caps_get(c) != abi.E_OK:
        memset(c, 0, sizeof(CapSet))            # unknown: the least
    c.flags &= ~<uint64_t>abi.CAP_SYSTEM
    c.files &= ~(<uint64_t>0xFF << (8 * abi.FILE_SYSTEM))
    c.files |= <uint64_t>abi.RIGHT_READ << (8 * abi.FILE_SYSTEM)

cdef void exit(int status) noexcept nogil:
    cdef EventSlot* e = event(abi.OP_EXIT)
    e.h.arg[0] = <uint64_t><int64_t>status
    commit()
    while True:                             # the kernel ends us once the Guide reaches it
        kernel_notify(0, abi.NOTIFY_SUBMIT | abi.NOTIFY_WAIT)

cdef int64_t console_read(void* buf, uint32_t cap) noexcept nogil:
    cdef Completion r
    cdef EventSlot* e = event(abi.OP_CONSOLE_READ)
    e.h.arg[0] = cap
    set_output(e, buf, cap)
    if call(e, &r) < 0:
        return r.status
    return <int64_t>r.value

cdef int simple(uint16_t opcode, uint64_t a0) noexcept nogil:
    cdef Completion r
    cdef EventSlot* e = event(opcode)
    e.h.arg[0] = a0
    return call(e, &r)

cdef int console_give(uint32_t pid) noexcept nogil:
    return simple(abi.OP_CONSOLE_GIVE, pid)

cdef int kill(uint32_t pid) noexcept nogil:
    return simple(abi.OP_KILL, pid)

cdef int trace(uint32_t command) noexcept nogil:
    return simple(abi.OP_TRACE, command)

cdef int64_t ps(ProcInfo* out, uint32_t cap) noexcept nogil:
    cdef Completion r
    cdef EventSlot* e = event(abi.OP_PS)
    set_output(e, out, <uint64_t>cap * sizeof(ProcInfo))
    if call(e, &r) < 0:
        return r.status
    return r.length / sizeof(ProcInfo)

cdef int sysstat(SysStat* out) noexcept nogil:
    cdef Completion r
    cdef EventSlot* e = event(abi.OP_SYSSTAT)
    set_output(e, out, sizeof(SysStat))
    return call(e, &r)

cdef uint64_t tsc() noexcept nogil:
    return __builtin_ia32_rdtsc()

cdef uint64_t now_ms() noexcept nogil:
    cdef uint64_t hz = info().tsc_hz
    return tsc() / (hz / 1000) if hz >= 1000 else 0

cdef void sort_u64(uint64_t* v, uint32_t n) noexcept nogil:
    cdef uint32_t i, j
    cdef uint64_t x
    for i in range(1, n):
        x = v[i]
        j = i
        while j > 0 and v[j - 1] > x:
            v[j] = v[j - 1]
            j -= 1
        v[j] = x

cdef long arg(int n, char* buf, size_t cap) noexcept nogil:
    cdef const char* s = info().args
    cdef size_t i
    while True:
        while s[0] == c' ':
            s += 1
        if s[0] == 0:
            return -1
        i = 0
        while s[i] and s[i] != c' ':
            i += 1
        if n == 0:
            kstr.copy(buf, s, i + 1 if i + 1 < cap else cap)
            return <long>i
        s += i
        n -= 1

cdef uint64_t arg_u64(int n, uint64_t default) noexcept nogil:
    cdef char buf[32]
    cdef long len = arg(n, buf, sizeof(buf))
    cdef uint64_t v
    if len <= 0 or len >= <long>sizeof(buf) or not kstr.parse_u64(buf, <size_t>len, &v):
        return default
    return v
