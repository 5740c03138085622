# See guide.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset
from kwe.common cimport abi, ring
from kwe.mm cimport heap, uaccess, vmm, account
from kwe.tasks cimport proc as _proc, caps

from kwe.base cimport hal, cmdline
from kwe.dev cimport pit
from kwe.debug cimport trace, stages
from kwe.common.abi cimport EventSlot, EventHeader, Completion, RingHeader
cimport kwe.common.list as lists
from kwe.common.list cimport ListNode, List
from kwe.tasks.proc cimport Process
from kwe.base.console cimport kprintf
from kwe.events cimport results

cdef enum:
    DEFAULT_MAX_INPUT = 4 << 20     # bytes of user-pointer input per event
    DEFAULT_BUDGET_US = 2000        # Guide work per kernel entry
    DEFAULT_MAX_OUTPUT = 16 << 20   # bytes of output one event may ask for (an RLE decode)
    DEFAULT_SPARES = 1024           # released small events a process keeps for its next ones (~240 KiB)
    SPARE_CAP = 64                  # inline payload a small event has room for (a NOP, a 64-byte CRC)

cdef struct Lane:                   # one process's events queued at one deck
    ListNode link                   # first: on turns[deck] while it has events
    Event* head
    Event* tail

cdef struct Lanes:                  # a process's lanes (Process.guide_lanes)
    Lane at[abi.DECK_COUNT]
    Event* spare                    # its released small events, still charged to it (a stack)
    uint32_t nspare

cdef List turns[abi.DECK_COUNT]     # per deck, the lanes with events, whose turn is next first
cdef DeckHandler handlers[abi.DECK_COUNT]
cdef uint64_t nflight = 0             # events alive (taken or made, not yet released)
cdef Event* timers = NULL           # sorted by due_tick
cdef uint64_t deck_steps[abi.DECK_COUNT]
cdef uint64_t next_id = 0, max_input = 0, max_output = 0, budget = 0
cdef uint64_t spares_max = 0        # event_spares=: the most a process keeps (0: none)
cdef const bint* tracing = NULL     # trace's on/off, tested before each trace point's call

cdef inline bint traced() noexcept nogil:
    return tracing != NULL and tracing[0]
cdef const bint* staging = NULL    # stages' on/off (stages.begin tests it)
cdef bint work_pending = False
cdef int last_refusal = 0           # why the last new_event() failed
cdef int turn = 0                   # the deck run() steps next

# ---- queues ------------------------------------------------------------------
cdef void push(int deck, Event* e) noexcept nogil:
    global work_pending
    cdef Lane* l = &(<Lanes*>e.lanes).at[deck]
    e.next = NULL
    if l.tail != NULL:
        l.tail.next = e
    else:
        l.head = e
        lists.push_back(&turns[deck], &l.link)      # its turn comes after the others'
    l.tail = e
    work_pending = True

cdef Event* pop(int deck, Lanes* only) noexcept nogil:
    """The first event of the lane whose turn it is (or of only's lane at
    this deck); the lane goes to the back of the turns."""
    cdef Lane* l = <Lane*>turns[deck].head if only == NULL else &only.at[deck]
    cdef Event* e
    if l == NULL or l.head == NULL:
        return NULL
    e = l.head
    l.head = e.next
    lists.remove(&turns[deck], &l.link)
    if l.head == NULL:
        l.tail = NULL
    else:
        lists.push_back(&turns[deck], &l.link)
    e.next = NULL
    return e

cdef Lanes* lanes_of(Process* p) noexcept nogil:
    """p's queues, made at its first event (charged to it, freed when it ends)."""
    if p.guide_lanes == NULL:
        p.guide_lanes = heap.kzalloc_for(p.account, sizeof(Lanes))
    return <Lanes*>p.guide_lanes

# ---- opcodes and routes ------------------------------------------------------
cdef int opcode_deck(uint16_t op) noexcept nogil:
    if op <= abi.OP_TRACE or abi.OP_WF_REGISTER <= op <= abi.OP_WF_UNREGISTER:
        return abi.DECK_EXECUTION
    if (abi.OP_CRC32 <= op <= abi.OP_XOR or abi.OP_VEC_ADD_I32 <= op <= abi.OP_VEC_DOT_I32
            or abi.OP_VEC_ADD_F32 <= op <= abi.OP_VEC_DOT_F32 or op == abi.OP_HTTP_HEAD):
        return abi.DECK_OPERATIONS
    if abi.OP_SLEEP <= op <= abi.OP_CONSOLE_GIVE:
        return abi.DECK_HARDWARE
    if abi.OP_MEM_ALLOC <= op <= abi.OP_MEM_FREE or abi.OP_FS_CREATE <= op <= abi.OP_FS_LIST:
        return abi.DECK_STORAGE
    if abi.OP_NET_SOCKET <= op <= abi.OP_NET_STAT:
        return abi.DECK_NETWORK
    return -1

cdef int check(EventHeader* h) noexcept nogil:
    cdef int owner = opcode_deck(h.opcode), i
    cdef bint visits_owner = owner == abi.DECK_EXECUTION
    if owner < 0:
        return abi.E_BADOP
    if h.route_len == 0 or h.route_len > abi.ROUTE_MAX:
        return abi.E_BADROUTE
    for i in range(h.route_len):
        if h.route[i] >= abi.DECK_COUNT:
            return abi.E_BADROUTE
        if (h.route[i] == abi.DECK_EXECUTION) != (i == h.route_len - 1):
            return abi.E_BADROUTE                   # Execution: last, and only last
        if h.route[i] == owner:
            visits_owner = True
    if not visits_owner:
        return abi.E_BADROUTE
    if h.payload_len > abi.PAYLOAD_MAX:
        return abi.E_RANGE
    return abi.E_OK

# ---- events --------------------------------------------------------------------
cdef Event* new_event(uint32_t pid, uint32_t inline_cap) noexcept nogil:
    global last_refusal
    cdef Process* p = _proc.find(pid)
    last_refusal = abi.E_NOENT
    if p == NULL:
        return NULL                                 # every event has a live owner
    return event_for(p, inline_cap, hal.rdtsc())

cdef Event* event_for(Process* p, uint32_t inline_cap, uint64_t now) noexcept nogil:
    """new_event for a caller that has p, and the time (one TSC read a SUBMIT)."""
    global next_id, last_refusal, nflight
    cdef Event* e
    last_refusal = abi.E_QUOTA
    if not account.take(p.account, account.RES_EVENTS, 1):
        return NULL
    last_refusal = abi.E_NOMEM
    e = allocate(p, inline_cap)
    if e == NULL:
        account.give(p.account, account.RES_EVENTS, 1)
        return NULL
    inline_cap = e.inline_cap
    memset(e, 0, sizeof(Event))                     # the inline buffer needs no clearing
    e.inline_input = <uint8_t*>(e + 1)
    e.inline_cap = inline_cap
    next_id += 1
    e.id = next_id
    e.pid = p.pid
    e.account = p.account
    e.lanes = p.guide_lanes
    e.fail_deck = NO_DECK
    e.tsc_submit = now
    nflight += 1
    return e

cdef Event* allocate(Process* p, uint32_t inline_cap) noexcept nogil:
    """Room for an event: one of p's spares when it is small (no heap work
    on the hot path), else the heap, sized to what it carries."""
    cdef Lanes* ls = lanes_of(p)
    cdef Event* e
    if ls == NULL:
        return NULL
    if inline_cap <= SPARE_CAP and spares_max:
        if ls.spare != NULL:
            e = ls.spare
            ls.spare = e.next
            ls.nspare -= 1
            return e
        inline_cap = SPARE_CAP                      # so that it can be a spare later
    if inline_cap > abi.PAYLOAD_MAX:
        inline_cap = abi.PAYLOAD_MAX
    e = <Event*>heap.kmalloc_for(p.account, sizeof(Event) + inline_cap)
    if e == NULL and ls.nspare:                     # its quota is held by spares: give them back
        free_spares(ls)
        e = <Event*>heap.kmalloc_for(p.account, sizeof(Event) + inline_cap)
    if e != NULL:
        e.inline_cap = inline_cap
    return e

cdef bint keep_spare(Event* e, Process* owner) noexcept nogil:
    """Keep a released small event for owner's next one, if owner is still
    the process whose lanes it was made for (not gone, not a new one with
    its pid) and keeps fewer than spares_max."""
    cdef Lanes* ls
    if owner == NULL or owner.guide_lanes != e.lanes or e.inline_cap != SPARE_CAP:
        return False
    ls = <Lanes*>e.lanes
    if ls.nspare >= spares_max:
        return False
    e.next = ls.spare
    ls.spare = e
    ls.nspare += 1
    return True

cdef int refusal() noexcept nogil:
    return last_refusal

cdef void* alloc_for(Event* e, size_t n) noexcept nogil:
    return heap.kmalloc_for(e.account, n)

cdef void release(Event* e) noexcept nogil:
    release_of(e, _proc.find(e.pid))

cdef void release_held(Event** link, Process* p) noexcept nogil:
    cdef Event* e
    while link[0] != NULL:
        e = link[0]
        if e.pid == p.pid:
            link[0] = e.next
            release_of(e, NULL)             # p has ended: its ResultRing is unmapped already
        else:
            link = &e.next

cdef void release_of(Event* e, Process* owner) noexcept nogil:
    global nflight
    if traced():
        trace.record(trace.TR_COMPLETE, e.id, e.run_id, e.pid, <uint16_t>e.node, NO_DECK, <uint32_t>e.status)
    if e.cq:
        results.release(owner, &e.cq)
    nflight -= 1
    heap.kfree(e.input_owned)
    set_output(e, NULL, 0)
    account.give(e.account, account.RES_EVENTS, 1)
    if not keep_spare(e, owner):
        heap.kfree(e)

cdef void set_output(Event* e, uint8_t* buf, uint32_t n) noexcept nogil:
    if e.output != <uint8_t*>&e.scalar:
        heap.kfree(e.output)
    e.output = buf
    e.output_len = n

cdef uint8_t* take_output(Event* e) noexcept nogil:
    cdef uint8_t* out = e.output
    if out == <uint8_t*>&e.scalar:
        return NULL
    e.output = NULL
    e.output_len = 0
    return out

cdef bint set_value(Event* e, uint64_t v, uint32_t nbytes) noexcept nogil:
    """No allocation: up to 8 bytes (little-endian, as x86 stores them) in e.scalar."""
    cdef uint8_t* out
    cdef uint32_t i
    e.value = v
    if nbytes <= 8:
        set_output(e, <uint8_t*>&e.scalar, nbytes)
        e.scalar = v
        return True
    out = <uint8_t*>alloc_for(e, nbytes)
    if out == NULL:
        e.status = abi.E_NOMEM
        return False
    for i in range(nbytes):
        out[i] = (v >> (8 * i)) & 0xFF if i < 8 else 0
    set_output(e, out, nbytes)
    return True

cdef void fail(Event* e, int status, int deck) noexcept nogil:
    e.status = status
    if e.fail_deck == NO_DECK:
        e.fail_deck = deck

cdef void load_input(Process* p, Event* e) noexcept nogil:
    """Give e its input: the inline payload, or a copy of the user buffer."""
    cdef abi.InputPointer* ptr = <abi.InputPointer*>e.inline_input
    cdef uint64_t va, n
    if e.h.flags & abi.EVF_INPUT_PTR:           # only then does the inline copy hold an InputPointer
        va, n = ptr.address, ptr.length
        if n > max_input:
            fail(e, abi.E_RANGE, abi.DECK_EXECUTION)
            return
        e.input_owned = <uint8_t*>alloc_for(e, n if n else 1)
        if e.input_owned == NULL:
            fail(e, abi.E_NOMEM, abi.DECK_EXECUTION)
            return
        if not uaccess.copy_in(p.space, e.input_owned, va, n):
            fail(e, abi.E_FAULT, abi.DECK_EXECUTION)
            return
        e.input = e.input_owned
        e.input_len = <uint32_t>n
    else:
        e.input = e.inline_input
        e.input_len = e.h.payload_len
    if (e.h.flags & abi.EVF_OUTPUT_PTR) and not (e.h.arg[3] == 0 or
            proc_range_ok(p, e.h.arg[2], e.h.arg[3])):
        fail(e, abi.E_FAULT, abi.DECK_EXECUTION)

cdef bint proc_range_ok(Process* p, uint64_t va, uint64_t n) noexcept nogil:
    return vmm.user_range_ok(p.space, va, n, True)

cdef uint32_t inline_need(const EventHeader* h) noexcept nogil:
    return sizeof(abi.InputPointer) if h.flags & abi.EVF_INPUT_PTR else h.payload_len

cdef Event* take(Process* p, EventSlot* slot, uint64_t now) noexcept nogil:
    """A kernel event from one EventRing slot (an error event if it is bad)."""
    cdef Event* e
    cdef int err
    e = event_for(p, inline_need(&slot.h), now)     # sized by a first look...
    if e == NULL:
        return NULL
    memcpy(&e.h, &slot.h, sizeof(EventHeader))      # ...then the one copy trusted: the process cannot change it now
    err = check(&e.h)                               # payload_len <= PAYLOAD_MAX
    if err == abi.E_OK and inline_need(&e.h) > e.inline_cap:
        err = abi.E_RANGE                           # the header changed between the two looks
    if err == abi.E_OK and not caps.op_allowed(&p.caps, e.h.opcode):
        err = caps.deny(p.pid, e.h.opcode, e.h.opcode)
    if err != abi.E_OK:
        fail(e, err, abi.DECK_EXECUTION)
        return e
    if e.h.flags & abi.EVF_INPUT_PTR:
        memcpy(e.inline_input, slot.payload, sizeof(abi.InputPointer))
    else:
        memcpy(e.inline_input, slot.payload, e.h.payload_len)
    load_input(p, e)
    return e

cdef RunNeed run_need = NULL

cdef void set_run_need(RunNeed f) noexcept nogil:
    global run_need
    run_need = f

cdef uint32_t completions_needed(Process* p, EventHeader* h) noexcept nogil:
    """1 for the event's own completion; a spawn also holds one for the
    child's exit notice, a workflow run one per emitting node.  A need the
    ring can never meet is cut to 1: the event is then answered with an
    error (workflow.start says E_TOOBIG)."""
    cdef uint32_t n = 1
    if h.opcode == abi.OP_SPAWN:
        n = 2
    elif h.opcode == abi.OP_WF_RUN and run_need != NULL:
        n = 1 + run_need(p, h)
    return n if n <= p.results.size else 1

cdef int take_next(Process* p, EventSlot* slot, uint64_t now) noexcept nogil:
    """Take one event: E_OK, or E_AGAIN when the ResultRing has no room
    for it (it stays in the EventRing), or the refusal."""
    cdef uint32_t need = completions_needed(p, &slot.h)
    cdef Event* e
    cdef uint8_t back
    if not results.reserve(p, need):
        return abi.E_AGAIN
    e = take(p, slot, now)
    if e == NULL:
        results.release(p, &need)
        return last_refusal
    e.cq = need
    ring.consume(&p.events)
    p.inflight += 1
    if traced():
        trace.record(trace.TR_SUBMIT, e.id, 0, p.pid, 0, NO_DECK, e.h.opcode)
    back = stages.begin(staging, abi.STAGE_ROUTE)
    dispatch(e)
    stages.end(back)
    return abi.E_OK

cdef int submit(Process* p) noexcept nogil:
    cdef uint8_t back = stages.begin(staging, abi.STAGE_RING)
    cdef int n = take_all(p)
    stages.end(back)
    return n

cdef int take_all(Process* p) noexcept nogil:
    cdef EventSlot* slot
    cdef int n = 0, err
    cdef uint64_t now = hal.rdtsc()
    if ring.corrupt(&p.events):
        p.events.hdr.flags |= abi.RING_CORRUPT
        p.events.mine = p.events.hdr.head               # resynchronise; nothing there is real
        p.events.hdr.tail = p.events.mine
        return abi.E_CORRUPT
    while True:
        slot = <EventSlot*>ring.consume_slot(&p.events)
        if slot == NULL:
            return n
        err = take_next(p, slot, now)
        if err == abi.E_AGAIN:
            return n                                    # the rest waits for ResultRing room
        if err != abi.E_OK:
            return err if n == 0 else n                 # the rest stays in the ring
        n += 1

cdef void completion(Event* e, Process* p, Completion* c) noexcept nogil:
    c.event_id = e.h.event_id
    c.value = e.value
    c.status = e.status
    c.length = e.output_len
    c.opcode = e.h.opcode
    c.flags = e.result_flags
    c.node = <uint16_t>e.node
    c.deck = e.fail_deck if e.fail_deck != NO_DECK else abi.DECK_EXECUTION
    c.attempts = <uint8_t>(e.attempts + 1 if e.attempts < 255 else 255)
    if (e.h.flags & abi.EVF_OUTPUT_PTR) and e.output_len and p.space != NULL:
        copy_output(e, p, c)

cdef void copy_output(Event* e, Process* p, Completion* c) noexcept nogil:
    cdef uint64_t cap = e.h.arg[3] if e.h.arg[3] < e.output_len else e.output_len
    if not uaccess.copy_out(p.space, e.h.arg[2], e.output, cap):
        if c.status == abi.E_OK:
            c.status = abi.E_FAULT
    elif cap < e.output_len:
        c.flags |= abi.RF_TRUNCATED

# ---- moving along the route ----------------------------------------------------
cdef void dispatch(Event* e) noexcept nogil:
    if e.status < 0:
        e.hop = e.h.route_len - 1 if e.h.route_len else 0
        push(abi.DECK_EXECUTION, e)
    else:
        e.hop = 0
        push(e.h.route[0], e)

cdef void advance(Event* e) noexcept nogil:
    if e.status < 0 or e.hop + 1 >= e.h.route_len:
        e.hop = e.h.route_len - 1 if e.h.route_len else 0
        push(abi.DECK_EXECUTION, e)                     # failed: report it now
    else:
        e.hop += 1
        push(e.h.route[e.hop], e)

cdef void resume(Event* e) noexcept nogil:
    if e.restart:
        e.restart = False
        dispatch(e)
    else:
        advance(e)

cdef void step(Event* e, int deck) noexcept nogil:
    cdef int r
    cdef uint64_t id = e.id, run = e.run_id
    cdef uint32_t pid = e.pid
    cdef uint16_t node = <uint16_t>e.node
    cdef Account* owner = e.account
    cdef uint64_t t0 = hal.rdtsc()
    cdef uint8_t back
    if e.tsc_pickup == 0:
        e.tsc_pickup = t0
        if traced():
            trace.record(trace.TR_PICKUP, id, run, pid, node, <uint8_t>deck, 0)
    deck_steps[deck] += 1
    if traced():
        trace.record(trace.TR_DECK_ENTER, id, run, pid, node, <uint8_t>deck, 0)
    back = stages.begin(staging, abi.STAGE_DECK)
    r = handlers[deck](e) if handlers[deck] != NULL else DECK_DONE
    stages.end(back)
    owner.kernel_cycles += hal.rdtsc() - t0             # its kernel time, whoever's entry it was
    if deck == abi.DECK_EXECUTION:                      # Execution released or kept it: e is gone
        if traced():
            trace.record(trace.TR_DECK_EXIT, id, run, pid, node, <uint8_t>deck, 0)
        return
    if traced():
        trace.record(trace.TR_DECK_EXIT, id, run, pid, node, <uint8_t>deck, <uint32_t>e.status)
    if e.status < 0 and e.fail_deck == NO_DECK:
        e.fail_deck = deck
    if r == DECK_DONE:
        advance(e)

cdef bint steps(Lanes* only, int* turn) noexcept nogil:
    """One step at a time, deck after deck (*turn stays where a budget ran
    out, so no deck waits behind another across kernel entries), until the
    queues are empty (True), the budget is spent or a step woke a process
    that may now run (False: the rest at the next kernel entry)."""
    cdef uint8_t back = stages.begin(staging, abi.STAGE_ROUTE)
    cdef bint drained = step_decks(only, turn)
    stages.end(back)
    return drained

cdef bint step_decks(Lanes* only, int* turn) noexcept nogil:
    cdef uint64_t start = hal.rdtsc(), woken = _proc.wakeups()
    cdef int idle = 0                                   # decks in a row with nothing queued
    cdef Event* e
    while idle < abi.DECK_COUNT:
        e = pop(turn[0], only)
        if e == NULL:
            idle += 1
        else:
            idle = 0
            step(e, turn[0])
        turn[0] = (turn[0] + 1) % abi.DECK_COUNT
        if e != NULL and ((budget and hal.rdtsc() - start >= budget) or _proc.wakeups() != woken):
            return False
    return True

cdef void run() noexcept nogil:
    global work_pending
    work_pending = False
    if not steps(NULL, &turn):
        work_pending = True

cdef void run_own(Process* p) noexcept nogil:
    global work_pending
    cdef int t = 0
    if p.guide_lanes != NULL and not steps(<Lanes*>p.guide_lanes, &t):
        work_pending = True

cdef bint pending() noexcept nogil:
    return work_pending

# ---- time ------------------------------------------------------------------------
cdef bint defer(Event* e, uint64_t ticks, bint restart) noexcept nogil:
    global timers
    cdef Event** link = &timers
    if not account.take(e.account, account.RES_TIMERS, 1):
        e.status = abi.E_QUOTA
        return False
    e.due_tick = pit.ticks() + (ticks if ticks else 1)
    e.restart = restart
    while link[0] != NULL and link[0].due_tick <= e.due_tick:
        link = &link[0].next
    e.next = link[0]
    link[0] = e
    return True

cdef void on_tick(uint64_t now) noexcept nogil:
    global timers
    cdef Event* e
    while timers != NULL and timers.due_tick <= now:
        e = timers
        timers = e.next
        e.next = NULL
        account.give(e.account, account.RES_TIMERS, 1)
        resume(e)

# ---- a process ends ---------------------------------------------------------------
cdef uint64_t drop_from(Event** link, Event** tail, uint32_t pid, bint on_timer) noexcept nogil:
    """Unlink and release pid's events from the singly linked list at link
    (tail, if not NULL, is kept pointing at the last event left)."""
    cdef uint64_t n = 0
    cdef Event* e
    cdef Event* last = NULL
    while link[0] != NULL:
        e = link[0]
        if e.pid == pid:
            link[0] = e.next
            if on_timer:
                account.give(e.account, account.RES_TIMERS, 1)
            release(e)
            n += 1
        else:
            last = e
            link = &e.next
    if tail != NULL:
        tail[0] = last
    return n

cdef uint64_t drop_process(Process* p) noexcept nogil:
    cdef uint64_t n = drop_from(&timers, NULL, p.pid, True)
    cdef Lanes* ls = <Lanes*>p.guide_lanes
    cdef int deck
    if ls == NULL:
        return n
    for deck in range(abi.DECK_COUNT):
        if ls.at[deck].head != NULL:
            lists.remove(&turns[deck], &ls.at[deck].link)
        n += drop_from(&ls.at[deck].head, &ls.at[deck].tail, p.pid, False)
    p.guide_lanes = NULL                            # what is released from now on is not kept
    free_spares(ls)
    heap.kfree(ls)
    return n

cdef void free_spares(Lanes* ls) noexcept nogil:
    cdef Event* e
    while ls.spare != NULL:
        e = ls.spare
        ls.spare = e.next
        heap.kfree(e)
    ls.nspare = 0

# ---- setup and numbers -------------------------------------------------------------
cdef void set_deck(int deck, DeckHandler h) noexcept nogil:
    handlers[deck] = h

cdef uint64_t in_flight() noexcept nogil:
    return nflight

cdef uint64_t output_limit() noexcept nogil:
    return max_output

cdef uint64_t processed() noexcept nogil:
    cdef uint64_t n = 0
    cdef int d
    for d in range(abi.DECK_COUNT):
        n += deck_steps[d]
    return n

cdef uint64_t steps_at(int deck) noexcept nogil:
    return deck_steps[deck] if 0 <= deck < abi.DECK_COUNT else 0

cdef void init() noexcept nogil:
    global max_input, max_output, budget, timers, next_id, work_pending, nflight, spares_max, tracing, staging
    memset(turns, 0, sizeof(turns))
    memset(handlers, 0, sizeof(handlers))
    timers = NULL
    next_id = 0
    memset(deck_steps, 0, sizeof(deck_steps))
    work_pending = False
    nflight = 0
    max_input = cmdline.get_u64(b"max_input", DEFAULT_MAX_INPUT)
    max_output = cmdline.get_u64(b"max_output", DEFAULT_MAX_OUTPUT)
    spares_max = cmdline.get_u64(b"event_spares", DEFAULT_SPARES)
    tracing = trace.flag()
    staging = stages.flag()
    budget = cmdline.get_u64(b"guide_budget_us", DEFAULT_BUDGET_US) * pit.tsc_hz() / 1000000
    if max_output > 0xFFFFFFFFU:
        max_output = 0xFFFFFFFFU                    # an output length is 32 bits
    pit.add_tick_hook(on_tick)

# ---- hosted: a test plays the process's side of the rings -------------------------

cdef Process* local(uint32_t pid) except NULL:
    cdef Process* p = _proc.find(pid)
    if p == NULL:
        raise KeyError(pid)
    return p

def py_local_process(uint32_t event_ring=256, uint32_t result_ring=256, bint with_space=False):
    """A process that never runs (rings in kernel memory); returns its pid."""
    cdef Process* p = _proc.new_local(event_ring, result_ring, with_space)
    if p == NULL:
        raise MemoryError("no local process")
    return p.pid

def py_free_local(uint32_t pid):
    _proc.free_local(local(pid))

def py_push_event(uint32_t pid, bytes slot):
    """Write one EventSlot (576 bytes) into the EventRing as the process would; False if full."""
    cdef Process* p = local(pid)
    cdef ring.Ring r
    cdef void* s
    ring.attach_producer(&r, <void*>p.event_kva, p.events.size, abi.SLOT_SIZE)
    s = ring.produce_slot(&r)
    if s == NULL:
        return False
    memcpy(s, <const char*>slot, min(len(slot), abi.SLOT_SIZE))
    ring.produce(&r)
    return True

def py_pop_result(uint32_t pid):
    """Take one Completion (32 bytes) from the ResultRing as the process would, or None."""
    cdef Process* p = local(pid)
    cdef ring.Ring r
    cdef void* s
    ring.attach_consumer(&r, <void*>p.result_kva, p.results.size, abi.COMPLETION_SIZE)
    s = ring.consume_slot(&r)
    if s == NULL:
        return None
    out = (<char*>s)[:abi.COMPLETION_SIZE]
    ring.consume(&r)
    return out

def py_submit(uint32_t pid):
    """kernel_notify(SUBMIT): take the EventRing's events and run the Guide."""
    cdef int n = submit(local(pid))
    py_run()
    return n

def py_run():
    """Run the Guide until no work is left (budget or not)."""
    run()
    while pending():
        run()

def py_take(uint32_t pid):
    """kernel_notify's SUBMIT without running the Guide: the events wait in deck queues."""
    return submit(local(pid))

def py_drop_process(uint32_t pid):
    return drop_process(local(pid))

def py_in_flight():
    return in_flight()

def py_spares(uint32_t pid):
    """How many released small events the process keeps for its next ones."""
    cdef Lanes* ls = <Lanes*>local(pid).guide_lanes
    return ls.nspare if ls != NULL else 0

def py_ring_flags(uint32_t pid, bint result_ring=True):
    cdef Process* p = local(pid)
    return (<RingHeader*>(p.result_kva if result_ring else p.event_kva)).flags

def py_reserved(uint32_t pid):
    """ResultRing slots promised to completions still to come (and the header's copy)."""
    cdef Process* p = local(pid)
    return p.cq_reserved, (<RingHeader*>p.result_kva).reserved

def py_poke_result_tail(uint32_t pid, uint32_t tail):
    """Overwrite the ResultRing's published tail, as a hostile process might."""
    (<RingHeader*>local(pid).result_kva).tail = tail

def py_poke_event_ring(uint32_t pid, uint32_t head):
    """Overwrite the EventRing's published head, as a broken process might."""
    (<RingHeader*>local(pid).event_kva).head = head

def py_user_buffer(uint32_t pid, bytes data, bint writable=True):
    """Map fresh user pages in a local process with user memory and fill them; the address."""
    cdef Process* p = local(pid)
    cdef uint64_t size = len(data)
    cdef uint64_t n = (size + 4095) / 4096
    cdef uint64_t va = p.mem_next
    if n == 0:
        n = 1
    if p.space == NULL:
        raise ValueError("the process has no user memory")
    if vmm.map_new(p.space, va, n, vmm.MAP_USER | (vmm.MAP_WRITE if writable else 0)) != vmm.VMM_OK:
        raise MemoryError()
    p.mem_next += (n + 1) * 4096
    copy_in_place(p, va, data)
    return va

cdef void copy_in_place(Process* p, uint64_t va, bytes data):
    """Fill user pages through the direct map (they may be read-only to the process)."""
    cdef uint64_t pa, i, size = len(data)
    cdef const char* src = data
    for i in range(size):
        vmm.translate(p.space, va + i, &pa, NULL)
        (<char*>hal.phys_to_virt(pa))[0] = src[i]

def py_user_read(uint32_t pid, uint64_t va, uint64_t n):
    cdef Process* p = local(pid)
    out = bytearray(n)
    if not uaccess.copy_in(p.space, <char*>out, va, n):
        raise ValueError("not user memory")
    return bytes(out)
