# See deck_exec.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset
from kwe.common cimport abi, kstr
from kwe.events cimport guide, results, workflow
from kwe.tasks cimport proc, programs, fd, caps
from kwe.decks cimport tty, deck_net
from kwe.mm cimport heap, pmm
from kwe.dev cimport pit
from kwe.debug cimport trace
from kwe.base cimport checks
from kwe.base.console cimport kprintf
from kwe.debug cimport stages
from kwe.common.abi cimport Completion, CapSet, StageCounters, ProcInfo, SysStat
from kwe.events.guide cimport Event
from kwe.tasks.proc cimport Process

cdef const bint* staging = NULL    # stages' on/off (stages.begin tests it)

cdef void nop(Event* e) noexcept nogil:
    """The identity: output = input (a workflow's fan-in point)."""
    cdef uint8_t* out
    if e.input_len == 0:
        return
    out = <uint8_t*>guide.alloc_for(e, e.input_len)
    if out == NULL:
        e.status = abi.E_NOMEM
        return
    memcpy(out, e.input, e.input_len)
    guide.set_output(e, out, e.input_len)

cdef const CapSet* requested_caps(Event* e, uint32_t cmd_len) noexcept nogil:
    """The CapSet after the command's NUL, if the input carries one (a spawn
    may ask for less than the parent has, never more)."""
    if e.input_len == cmd_len + 1 + sizeof(CapSet):
        return <const CapSet*>(e.input + cmd_len + 1)
    return NULL

cdef void spawn(Event* e) noexcept nogil:
    cdef char cmd[abi.PAYLOAD_MAX + 1]
    cdef proc.SpawnArgs a
    cdef uint32_t pid = 0, n = e.input_len if e.input_len < abi.PAYLOAD_MAX else abi.PAYLOAD_MAX
    cdef Process* child
    memcpy(cmd, e.input, n)
    cmd[n] = 0
    n = <uint32_t>kstr.length(cmd)
    a.caps = requested_caps(e, n)
    if a.caps == NULL and n != e.input_len:
        e.status = abi.E_INVAL                  # something after the command that is not a CapSet
        return
    a.event_ring = <uint32_t>(e.h.arg[0] & 0xFFFFFFFFU)
    a.result_ring = <uint32_t>(e.h.arg[0] >> 32)
    a.stack_pages = <uint32_t>e.h.arg[1]
    a.parent = e.pid
    e.status = programs.launch(cmd, &a, &pid)
    e.value = pid
    child = proc.find(pid) if e.status == abi.E_OK else NULL
    if child != NULL:                           # its exit notice: room reserved with the event
        results.hand_over(&e.cq, &child.exit_cq, 1)

cdef void kill(Event* e) noexcept nogil:
    """Your descendants are yours to end; anyone else's only with CAP_SYSTEM,
    and never your own ancestors (the session you run in)."""
    cdef Process* by = proc.find(e.pid)
    cdef Process* target = proc.find_arg(e.h.arg[0])
    if target == NULL or by == NULL:
        e.status = abi.E_NOENT
    elif not proc.descends_from(target, e.pid) and (not (by.caps.flags & abi.CAP_SYSTEM) or target == by
                                                    or proc.descends_from(by, target.pid)):
        e.status = caps.deny(e.pid, e.h.opcode, e.h.arg[0])
    else:
        proc.request_exit(target, proc.EXIT_KILLED)

cdef void describe(Process* p, ProcInfo* out) noexcept nogil:
    memset(out, 0, sizeof(ProcInfo))
    out.pid, out.parent, out.state = p.pid, p.parent, <uint32_t>p.state
    out.console = p.pid == tty.owner()
    out.ticks, out.mem_pages, out.inflight = p.ticks, p.mem_pages, p.inflight
    kstr.copy(out.name, p.name, abi.PROC_NAME_MAX)

cdef uint64_t count_processes() noexcept nogil:
    cdef uint64_t cursor = 0, n = 0
    cdef void* entry = NULL
    while proc.next_process(&cursor, &entry) != NULL:
        n += 1
    return n

cdef void process_list(Event* e) noexcept nogil:
    """OP_PS: a ProcInfo per process in the table (the buffer charged to the caller)."""
    cdef uint64_t cursor = 0, n = 0, most = count_processes()
    cdef void* entry = NULL
    cdef Process* p
    cdef ProcInfo* out = <ProcInfo*>guide.alloc_for(e, most * sizeof(ProcInfo)) if most else NULL
    if most and out == NULL:
        e.status = abi.E_NOMEM
        return
    p = proc.next_process(&cursor, &entry)
    while p != NULL and n < most:
        describe(p, &out[n])
        n += 1
        p = proc.next_process(&cursor, &entry)
    guide.set_output(e, <uint8_t*>out, <uint32_t>(n * sizeof(ProcInfo)))
    e.value = n

cdef void system_stats(Event* e) noexcept nogil:
    cdef SysStat* s = <SysStat*>guide.alloc_for(e, sizeof(SysStat))
    cdef pmm.PmmStats m
    cdef heap.HeapStats h
    cdef int d
    if s == NULL:
        e.status = abi.E_NOMEM
        return
    memset(s, 0, sizeof(SysStat))
    pmm.stats(&m)
    heap.stats(&h)
    s.ticks, s.tick_hz = pit.ticks(), pit.hz()
    s.pages_total, s.pages_free, s.heap_bytes = m.total_pages, m.free_pages, h.bytes_in_use
    s.processes, s.events_in_flight = proc.live(), guide.in_flight()
    s.runs_in_flight, s.workflows = workflow.running(), workflow.registered()
    s.processed = guide.processed()
    for d in range(abi.DECK_COUNT):
        s.deck_steps[d] = guide.steps_at(d)
    s.console_owner, s.tracing = tty.owner(), trace.enabled()
    guide.set_output(e, <uint8_t*>s, sizeof(SysStat))

cdef void switch_trace(Event* e) noexcept nogil:
    """OP_TRACE (CAP_SYSTEM: the records show every process's events).
    value = whether it was on."""
    if not by_system(e):
        e.status = caps.deny(e.pid, e.h.opcode, e.h.arg[0])
        return
    e.value = trace.enabled()
    if e.h.arg[0] == abi.TRACE_ON:
        if not trace.start():
            e.status = abi.E_NOMEM
    elif e.h.arg[0] == abi.TRACE_OFF:
        trace.stop()
    elif e.h.arg[0] == abi.TRACE_DUMP:
        trace.dump(pit.tsc_hz(), pit.hz())
    else:
        e.status = abi.E_INVAL

cdef void caps_get(Event* e) noexcept nogil:
    cdef Process* p = proc.find(e.pid)
    cdef CapSet* out = <CapSet*>guide.alloc_for(e, sizeof(CapSet))
    if p == NULL or out == NULL:
        heap.kfree(out)
        e.status = abi.E_NOMEM
        return
    memcpy(out, &p.caps, sizeof(CapSet))
    guide.set_output(e, <uint8_t*>out, sizeof(CapSet))
    e.value = p.caps.flags

cdef void caps_limit(Event* e) noexcept nogil:
    """Give up rights: keep only what is in both sets (never gain)."""
    cdef Process* p = proc.find(e.pid)
    cdef CapSet limit
    if p == NULL or e.input_len != sizeof(CapSet):
        e.status = abi.E_INVAL
        return
    memcpy(&limit, e.input, sizeof(CapSet))
    caps.intersect(&p.caps, &limit)
    e.value = p.caps.flags

cdef bint by_system(Event* e) noexcept nogil:
    """Whether e's owner holds CAP_SYSTEM (what every system-wide switch asks)."""
    cdef Process* p = proc.find(e.pid)
    return p != NULL and (p.caps.flags & abi.CAP_SYSTEM) != 0

cdef void switch_checks(Event* e) noexcept nogil:
    """The bench's A/B switch: only where the command line allows it, and
    only for a holder of CAP_SYSTEM.  value = whether they were on."""
    cdef const char* state = b"on" if e.h.arg[0] else b"off"
    e.value = checks.enabled()
    if not by_system(e) or not checks.switchable():
        e.status = caps.deny(e.pid, e.h.opcode, e.h.arg[0])
        return
    checks.set_enabled(e.h.arg[0] != 0)
    kprintf(b"checks: %s by pid %u (checks_switch=1)\n", <uint64_t>state, e.pid)

cdef void stage_counters(Event* e) noexcept nogil:
    """OP_STAGES: the counters as they were, then the command (CAP_SYSTEM:
    they tell how every process's events spend the kernel's time)."""
    cdef StageCounters* out
    if not by_system(e):
        e.status = caps.deny(e.pid, e.h.opcode, e.h.arg[0])
        return
    if e.h.arg[0] > abi.STAGES_OFF:
        e.status = abi.E_INVAL
        return
    out = <StageCounters*>guide.alloc_for(e, sizeof(StageCounters))
    if out == NULL:
        e.status = abi.E_NOMEM
        return
    if e.h.arg[0] == abi.STAGES_OFF:
        stages.control(abi.STAGES_OFF)              # first: what it hands back is what stays
    stages.read(out)
    guide.set_output(e, <uint8_t*>out, sizeof(StageCounters))
    if e.h.arg[0] == abi.STAGES_ON:
        stages.control(abi.STAGES_ON)

cdef void system_op(Event* e) noexcept nogil:
    cdef uint16_t op = e.h.opcode
    cdef Process* p
    cdef uint8_t back
    if op == abi.OP_NOP:
        nop(e)
    elif op == abi.OP_SPAWN:
        spawn(e)
    elif op == abi.OP_EXIT:
        p = proc.find(e.pid)
        if p != NULL:
            proc.request_exit(p, <int>e.h.arg[0])
        e.h.flags |= abi.EVF_NO_RESULT
    elif op == abi.OP_KILL:
        kill(e)
    elif op == abi.OP_CAPS_GET:
        caps_get(e)
    elif op == abi.OP_CAPS_LIMIT:
        caps_limit(e)
    elif op == abi.OP_CHECKS:
        switch_checks(e)
    elif op == abi.OP_STAGES:
        stage_counters(e)
    elif op == abi.OP_PS:
        process_list(e)
    elif op == abi.OP_SYSSTAT:
        system_stats(e)
    elif op == abi.OP_TRACE:
        switch_trace(e)
    elif op == abi.OP_WF_REGISTER:
        e.status = workflow.register(e)
    elif op == abi.OP_WF_RUN:
        back = stages.begin(staging, abi.STAGE_ENGINE)
        e.status = workflow.start(e)
        stages.end(back)
        if e.status == abi.E_OK:
            e.h.flags |= abi.EVF_NO_RESULT          # the run's summary answers it
    elif op == abi.OP_WF_UNREGISTER:
        e.status = workflow.unregister(e.pid, e.h.workflow_id)

cdef void finish(Event* e) noexcept nogil:
    cdef Process* p = proc.find(e.pid)
    cdef Completion c
    cdef uint8_t back = stages.begin(staging, abi.STAGE_COMPLETE)
    if p != NULL:
        p.inflight -= 1
        if not (e.status == abi.E_OK and (e.h.flags & abi.EVF_NO_RESULT)):
            guide.completion(e, p, &c)
            results.post(p, &c, &e.cq)
    guide.release_of(e, p)
    stages.end(back)

cdef int handle(Event* e) noexcept nogil:
    cdef uint8_t back
    if e.status == abi.E_OK and guide.opcode_deck(e.h.opcode) == abi.DECK_EXECUTION:
        system_op(e)
    if e.run_id != 0:
        back = stages.begin(staging, abi.STAGE_ENGINE)
        workflow.node_finished(e)
        stages.end(back)
    else:
        finish(e)
    return guide.DECK_DONE

cdef void on_exit(Process* p) noexcept nogil:
    """Tell the parent (RF_CHILD_EXIT) and drop the process's workflows."""
    cdef Process* parent = proc.find(p.parent) if p.parent else NULL
    cdef Completion c
    tty.drop_process(p)                        # reads waiting for the console, and the console
    guide.drop_process(p)                      # timers and queued events: freed now
    p.inflight = 0
    workflow.drop_process(p)
    fd.close_all(p)
    deck_net.drop_process(p)                   # its waiting socket events, and its sockets
    if parent == NULL or parent.space == NULL:
        return
    memset(&c, 0, sizeof(c))
    c.flags = abi.RF_CHILD_EXIT
    c.status = p.exit_status
    c.value = p.pid
    c.deck = abi.DECK_EXECUTION
    results.post(parent, &c, &p.exit_cq)

cdef void init() noexcept nogil:
    global staging
    staging = stages.flag()
    proc.set_exit_hook(on_exit)
