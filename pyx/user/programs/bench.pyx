# bench [quick | batches [WORK [KIND]]]: the kernel-side figures for tools/kwe bench, one per line:
#   BENCH ops KIND OP N <median> <min> <max>   cycles/op, every op's result read by the program:
#         KIND wf: one workflow of N independent nodes, registered once, run many;
#              wfreg: the same registered in the run (register + run in one SUBMIT, unregister after);
#              chain, chainreg: N nodes each after the one before, so;
#              events: N independent events, one SUBMIT | WAIT; single: N x (kernel_notify + WAIT)
#         OP nop or crc32 (CRC-32 of 64 bytes)
#   BENCH stages KIND nop N <cycles/op> <cycles/op in each abi.STAGE_*, in order>   (counters on)
#   BENCH latency <median cycles> <p99 cycles> <cycles per tick>
#   BENCH notify <median> <min> <max>   cycles per kernel_notify(0, 0) round trip, 7 rounds
#   BENCH switch <cycles per yield round trip between two processes>
#   BENCH checks N <cycles/op in an N-node workflow, safety checks on> <same, off> <rounds>
#         (same boot, alternating; needs the kernel's checks_switch=1)
# The measurements run in a child with rings as big as io_uring's (4,096
# events, 8,192 results), so the largest workflow's every result fits.
# (bench yield K is the partner process of the switch measurement; bench batches
# runs only one kind of NOP runs (default events), long enough to sample with a profiler.)
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from user cimport sdk, wf
from kwe.common cimport abi, kstr
from kwe.common.abi cimport Completion, EventSlot, StageCounters

cdef enum:
    MAX_NODES = 4096
    MAX_SAMPLES = 1000
    BLOCK = 64                          # bytes each CRC32 op reads
    EVENT_RING = 4096                   # io_uring's queue in the Linux row holds 4,096
    RESULT_RING = 8192
    ROUNDS = 7
    NKINDS = 6
    K_WF = 0
    K_WFREG = 1
    K_CHAIN = 2
    K_CHAINREG = 3
    K_EVENTS = 4
    K_SINGLE = 5
    ID_WIDE = 1                         # registered once
    ID_CHAIN = 2
    ID_WIDE_RUN = 3                     # registered in each run
    ID_CHAIN_RUN = 4

cdef wf.WfNode nodes[MAX_NODES]
cdef uint8_t data[BLOCK * MAX_NODES]
cdef uint8_t gdata[BLOCK * MAX_NODES]
cdef uint8_t wide_blob[16 + 64 * MAX_NODES + BLOCK * MAX_NODES]
cdef uint8_t chain_blob[16 + 66 * MAX_NODES + BLOCK * MAX_NODES]
cdef uint64_t wide_len, chain_len
cdef uint64_t samples[MAX_SAMPLES]
cdef uint64_t kind_samples[NKINDS][ROUNDS]
cdef uint64_t failures                  # results that came back not ok
cdef uint64_t arrived                   # results read in this batch
cdef uint16_t expected_op
cdef const char* kind_names[NKINDS]

cdef uint64_t encode(uint16_t op, uint32_t n, bint chain, uint8_t* blob, uint64_t cap) noexcept nogil:
    """n nodes of op, every one emitting its result; CRC32 nodes read their own
    64 bytes; in a chain each node runs after the one before."""
    cdef wf.Graph g
    cdef uint32_t i
    cdef int node
    wf.init(&g, nodes, MAX_NODES, gdata, sizeof(gdata))
    for i in range(n):
        node = wf.add(&g, op)
        wf.emit(&g, node)
        if op == abi.OP_CRC32:
            wf.input_data(&g, node, data + BLOCK * i, BLOCK)
        if chain and i > 0:
            wf.after(&g, node, node - 1)
    return wf.encode(&g, blob, cap)

cdef int register_wide(uint32_t id, uint32_t n) noexcept nogil:
    """A workflow of n independent emitting CRC32 nodes over 64 bytes each."""
    global wide_len
    wide_len = encode(abi.OP_CRC32, n, False, wide_blob, sizeof(wide_blob))
    return wf.register(id, wide_blob, wide_len)

cdef int set_checks(uint64_t on) noexcept nogil:
    cdef Completion r
    cdef EventSlot* e = sdk.event(abi.OP_CHECKS)
    e.h.arg[0] = on
    return sdk.call(e, &r)

cdef uint64_t per_node(uint32_t id, uint32_t n, uint32_t reps, uint64_t on) noexcept nogil:
    cdef uint64_t total = 0
    cdef uint32_t i
    set_checks(on)
    for i in range(reps):
        total += run_wf(id, NULL)
    return total / (<uint64_t>reps * n)

cdef void checks_cost(uint32_t rounds, uint32_t reps) noexcept nogil:
    """What the safety checks cost a workflow op, A/B in one boot: the same
    64-node workflow (one SUBMIT | WAIT per run, every result read), `reps`
    runs with the checks on and `reps` off per round, the order
    alternating; the medians over the rounds."""
    cdef uint64_t on_s[32]
    cdef uint64_t off_s[32]
    global expected_op
    cdef uint32_t k, n = 64
    expected_op = abi.OP_CRC32
    if rounds > 32:
        rounds = 32
    if register_wide(300, n) != 0 or set_checks(1) != abi.E_OK:
        sdk.puts(b"bench: no checks A/B (boot with checks_switch=1)\n")
        return
    run_wf(300, NULL)
    for k in range(rounds):
        if k % 2 == 0:
            on_s[k] = per_node(300, n, reps, 1)
            off_s[k] = per_node(300, n, reps, 0)
        else:
            off_s[k] = per_node(300, n, reps, 0)
            on_s[k] = per_node(300, n, reps, 1)
    set_checks(1)
    wf.unregister(300)
    sdk.sort_u64(on_s, rounds)
    sdk.sort_u64(off_s, rounds)
    sdk.printf(b"BENCH checks %u %u %u %u\n", n, on_s[rounds / 2], off_s[rounds / 2], rounds)

cdef void check(Completion* r) noexcept nogil:
    """Every result read and checked, none copied aside."""
    global arrived, failures
    arrived += 1
    if r.status != 0 or r.opcode != expected_op:
        failures += 1

cdef void drain_run(uint64_t run_event) noexcept nogil:
    """Read the run's node results until its summary."""
    global failures
    cdef Completion c
    while True:
        if not sdk.take(&c):
            sdk.await_completion()
            continue
        if c.flags & abi.RF_NODE:
            check(&c)
        elif c.opcode == abi.OP_WF_REGISTER:           # registered in this SUBMIT
            failures += c.status != 0
        elif c.event_id == run_event:
            if c.status != 0:
                failures += 1
            return
        else:
            sdk.keep_result(&c)

cdef uint64_t run_wf(uint32_t id, const uint8_t* blob_in_run) noexcept nogil:
    """One run, one kernel_notify(SUBMIT | WAIT), every result read; its
    cycles.  With a blob, the workflow is registered in the same SUBMIT and
    unregistered after, inside the clock."""
    global failures
    cdef EventSlot* e
    cdef uint64_t run_event, t0 = sdk.tsc()
    if blob_in_run != NULL:
        e = sdk.event(abi.OP_WF_REGISTER)
        e.h.workflow_id = id
        sdk.set_input(e, blob_in_run, <uint32_t>(wide_len if id == ID_WIDE_RUN else chain_len))
        sdk.commit()
    e = sdk.event(abi.OP_WF_RUN)
    e.h.workflow_id = id
    run_event = e.h.event_id
    sdk.commit()
    sdk.kernel_notify(id, abi.NOTIFY_SUBMIT | abi.NOTIFY_WAIT)
    drain_run(run_event)
    if blob_in_run != NULL and wf.unregister(id) != 0:
        failures += 1
    return sdk.tsc() - t0

cdef uint64_t run_events(uint16_t op, uint32_t n) noexcept nogil:
    """n independent events through the Guide and their decks like any op, one
    kernel_notify for them (more when n outgrows the EventRing); its cycles."""
    global arrived
    cdef uint32_t i
    cdef EventSlot* e
    cdef uint64_t t0 = sdk.tsc()
    arrived = 0
    for i in range(n):
        e = sdk.event(op)
        if op == abi.OP_CRC32:
            sdk.set_input(e, data + BLOCK * i, BLOCK)
        sdk.commit()
    while arrived < n:
        sdk.await_completion()
        sdk.reap()
    return sdk.tsc() - t0

cdef uint64_t run_single(uint16_t op, uint32_t n) noexcept nogil:
    """The same n ops, each its own kernel_notify(SUBMIT | WAIT); its cycles."""
    cdef Completion r
    cdef EventSlot* e
    cdef uint64_t t0 = sdk.tsc()
    cdef uint32_t i
    for i in range(n):
        e = sdk.event(op)
        if op == abi.OP_CRC32:
            sdk.set_input(e, data + BLOCK * i, BLOCK)
        sdk.commit()
        sdk.kernel_notify(0, abi.NOTIFY_SUBMIT | abi.NOTIFY_WAIT)
        sdk.wait_result(&r)
        check(&r)
    return sdk.tsc() - t0

cdef uint64_t run_kind(int kind, uint16_t op, uint32_t n) noexcept nogil:
    if kind == K_WF:
        return run_wf(ID_WIDE, NULL)
    if kind == K_WFREG:
        return run_wf(ID_WIDE_RUN, wide_blob)
    if kind == K_CHAIN:
        return run_wf(ID_CHAIN, NULL)
    if kind == K_CHAINREG:
        return run_wf(ID_CHAIN_RUN, chain_blob)
    if kind == K_EVENTS:
        return run_events(op, n)
    return run_single(op, n)

cdef bint prepare(uint16_t op, uint32_t n) noexcept nogil:
    """Encode both graphs (before any clock) and register the run-many pair."""
    global wide_len, chain_len
    wf.unregister(ID_WIDE)
    wf.unregister(ID_CHAIN)
    wide_len = encode(op, n, False, wide_blob, sizeof(wide_blob))
    chain_len = encode(op, n, True, chain_blob, sizeof(chain_blob))
    if wide_len == 0 or chain_len == 0:
        return False
    return wf.register(ID_WIDE, wide_blob, wide_len) == 0 and wf.register(ID_CHAIN, chain_blob, chain_len) == 0

cdef void measure(uint16_t op, const char* opname, uint32_t n, uint32_t rounds, uint32_t work, int only) noexcept nogil:
    """Every kind (or `only`) for n ops of op: `rounds` rounds, the kinds
    interleaved and their order rotating, so a disturbance falls on all."""
    global expected_op, failures
    cdef uint32_t reps = work / n + 2, k, i, j
    cdef int kind
    cdef uint64_t total
    expected_op = op
    if not prepare(op, n):
        sdk.printf(b"bench: cannot register workflows of %u nodes\n", n)
        failures += 1
        return
    for kind in range(NKINDS):
        if only < 0 or kind == only:
            run_kind(kind, op, n)                       # warm up
    for k in range(rounds):
        for j in range(NKINDS):
            kind = <int>((j + k) % NKINDS)
            if only >= 0 and kind != only:
                continue
            total = 0
            for i in range(reps):
                total += run_kind(kind, op, n)
            kind_samples[kind][k] = total / (<uint64_t>reps * n)
    for kind in range(NKINDS):
        if only < 0 or kind == only:
            sdk.sort_u64(kind_samples[kind], rounds)
            sdk.printf(b"BENCH ops %s %s %u %u %u %u\n", <uint64_t>kind_names[kind], <uint64_t>opname, n,
                       kind_samples[kind][rounds / 2], kind_samples[kind][0], kind_samples[kind][rounds - 1])

cdef void all_ops(uint32_t rounds, uint32_t work, int only) noexcept nogil:
    """NOP and CRC32-of-64-bytes at 1 .. 4,096 ops."""
    cdef uint32_t n = 1
    sdk.on_result(check)
    while n <= MAX_NODES:
        measure(abi.OP_NOP, b"nop", n, rounds, work, only)
        if only < 0:
            measure(abi.OP_CRC32, b"crc32", n, rounds, work, only)
        n *= 8
    sdk.on_result(NULL)
    wf.unregister(ID_WIDE)
    wf.unregister(ID_CHAIN)
    if failures:
        sdk.printf(b"bench: %u results were not ok\n", failures)

cdef void latency(uint32_t runs) noexcept nogil:
    global expected_op
    cdef uint32_t i
    cdef uint64_t tick = sdk.info().tsc_hz / sdk.info().tick_hz
    if runs > MAX_SAMPLES:
        runs = MAX_SAMPLES
    expected_op = abi.OP_CRC32
    if not prepare(abi.OP_CRC32, 1):
        return
    for i in range(runs):
        samples[i] = run_wf(ID_WIDE, NULL)              # a 1-node workflow, its result read
    sdk.sort_u64(samples, runs)
    sdk.printf(b"BENCH latency %u %u %u\n", samples[runs / 2], samples[runs * 99 / 100], tick)

cdef void notify_round_trip(uint32_t n, uint32_t rounds) noexcept nogil:
    """rounds loops of n kernel_notify(0, 0): median, min and max cycles per call."""
    cdef uint64_t t0
    cdef uint32_t i, k
    for k in range(rounds):
        t0 = sdk.tsc()
        for i in range(n):
            sdk.kernel_notify(0, 0)
        samples[k] = (sdk.tsc() - t0) / n
    sdk.sort_u64(samples, rounds)
    sdk.printf(b"BENCH notify %u %u %u\n", samples[rounds / 2], samples[0], samples[rounds - 1])

cdef void switch_round_trip(uint32_t n) noexcept nogil:
    cdef char cmd[48]
    cdef uint64_t t0
    cdef uint32_t i
    cdef Completion r
    kstr.copy(cmd, b"bench yield ", sizeof(cmd))
    from_u64(cmd + 12, n + 100)
    if sdk.spawn(cmd, 16, 16, 1) <= 0:
        sdk.puts(b"bench: no partner for the switch measurement\n")
        return
    sdk.yield_cpu()                                      # let the partner start
    t0 = sdk.tsc()
    for i in range(n):
        sdk.yield_cpu()                                  # to the partner and back
    sdk.printf(b"BENCH switch %u\n", (sdk.tsc() - t0) / n)
    sdk.wait_result(&r)                                  # its exit

cdef void from_u64(char* out, uint64_t v) noexcept nogil:
    cdef char tmp[24]
    cdef int n = 0, i
    while True:
        tmp[n] = c'0' + <char>(v % 10)
        n += 1
        v /= 10
        if v == 0:
            break
    for i in range(n):
        out[i] = tmp[n - 1 - i]
    out[n] = 0

cdef int stages_cmd(uint64_t how, StageCounters* out) noexcept nogil:
    cdef Completion r
    cdef EventSlot* e = sdk.event(abi.OP_STAGES)
    e.h.arg[0] = how
    sdk.set_output(e, out, sizeof(StageCounters))
    return sdk.call(e, &r)

cdef void stage_profile(int kind, uint16_t op, const char* opname, uint32_t n, uint32_t work) noexcept nogil:
    """One kind with the kernel's stage counters on: where its cycles go.
    The counters cost cycles themselves, so the total is above the row's."""
    global expected_op
    cdef StageCounters c
    cdef uint32_t reps = work / n + 2, i, s
    cdef uint64_t total = 0, ops
    expected_op = op
    if not prepare(op, n):
        return
    run_kind(kind, op, n)
    if stages_cmd(abi.STAGES_ON, &c) != 0:
        sdk.puts(b"bench: no stage counters (OP_STAGES refused)\n")
        return
    for i in range(reps):
        total += run_kind(kind, op, n)
    stages_cmd(abi.STAGES_OFF, &c)
    ops = <uint64_t>reps * n
    sdk.printf(b"BENCH stages %s %s %u %u", <uint64_t>kind_names[kind], <uint64_t>opname, n, total / ops)
    for s in range(abi.NSTAGES):
        sdk.printf(b" %u", c.cycles[s] / ops)
    sdk.puts(b"\n")

cdef void stage_profiles(uint32_t work) noexcept nogil:
    cdef uint32_t sizes[3]
    cdef uint32_t k
    cdef int kind
    sizes[0], sizes[1], sizes[2] = 1, 64, 4096
    sdk.on_result(check)
    for k in range(3):
        for kind in range(NKINDS):
            if kind != K_WFREG and kind != K_CHAINREG:
                stage_profile(kind, abi.OP_NOP, b"nop", sizes[k], work)
    sdk.on_result(NULL)
    wf.unregister(ID_WIDE)
    wf.unregister(ID_CHAIN)

cdef int kind_named(int n) noexcept nogil:
    """Argument n as a kind's name (events if absent or unknown)."""
    cdef char name[16]
    cdef int kind
    if sdk.arg(n, name, sizeof(name)) > 0:
        for kind in range(NKINDS):
            if kstr.equal(name, kind_names[kind]):
                return kind
    return K_EVENTS

cdef int in_child(const char* args) noexcept nogil:
    """Run `bench child ARGS` with io_uring-sized rings; its exit status."""
    cdef char cmd[64]
    cdef Completion r
    kstr.copy(cmd, b"bench child ", sizeof(cmd))
    kstr.copy(cmd + 12, args, sizeof(cmd) - 12)
    if sdk.spawn(cmd, EVENT_RING, RESULT_RING, 16) <= 0:
        sdk.puts(b"bench: cannot start the measuring child\n")
        return 1
    while True:
        sdk.wait_result(&r)
        if r.flags & abi.RF_CHILD_EXIT:
            return r.status

cdef void measure_all(bint quick) noexcept nogil:
    all_ops(5 if quick else ROUNDS, 1024 if quick else 8192, -1)
    stage_profiles(1024 if quick else 8192)
    checks_cost(5 if quick else 9, 5 if quick else 20)   # before the switch partner exists
    latency(100 if quick else 1000)
    notify_round_trip(1000 if quick else 20000, 7)
    switch_round_trip(200 if quick else 5000)
    sdk.puts(b"BENCH done\n" if failures == 0 else b"bench: failures, no BENCH done\n")

cdef public int umain() noexcept nogil:
    cdef char mode[16]
    cdef char sub[16]
    cdef char args[40]
    cdef uint64_t i, n
    kind_names[K_WF], kind_names[K_WFREG] = b"wf", b"wfreg"
    kind_names[K_CHAIN], kind_names[K_CHAINREG] = b"chain", b"chainreg"
    kind_names[K_EVENTS], kind_names[K_SINGLE] = b"events", b"single"
    for i in range(sizeof(data)):
        data[i] = <uint8_t>(i * 13)
    mode[0] = sub[0] = 0
    sdk.arg(0, mode, sizeof(mode))
    if kstr.equal(mode, b"yield"):
        n = sdk.arg_u64(1, 1000)
        for i in range(n):
            sdk.yield_cpu()
        return 0
    if not kstr.equal(mode, b"child"):
        args[0] = 0
        if sdk.arg(0, args, sizeof(args)) > 0 and kstr.equal(args, b"batches"):
            kstr.copy(args, b"batches ", sizeof(args))
            n = <uint64_t>sdk.arg(1, args + 8, sizeof(args) - 8)
            if <int64_t>n > 0 and sdk.arg(2, sub, sizeof(sub)) > 0:
                args[8 + n] = c' '
                kstr.copy(args + 9 + n, sub, sizeof(args) - 9 - n)
        return in_child(args)
    sdk.arg(1, sub, sizeof(sub))
    if kstr.equal(sub, b"batches"):                  # one kind only, long: for a profiler
        all_ops(7, <uint32_t>sdk.arg_u64(2, 100000), kind_named(3))
    else:
        measure_all(kstr.equal(sub, b"quick"))
    return 0 if failures == 0 else 1
