# bench [quick | batches [WORK]]: the kernel-side figures for tools/kwe bench, one per line:
#   BENCH workflow N <cycles/op as one workflow> <cycles/op as N notify+WAIT>
#   BENCH latency <median cycles> <p99 cycles> <cycles per tick>
#   BENCH notify <median> <min> <max>   cycles per kernel_notify(0, 0) round trip, 7 rounds
#   BENCH batch N <median> <min> <max>   cycles/op: N NOP events, one SUBMIT | WAIT, every result read
#   BENCH switch <cycles per yield round trip between two processes>
#   BENCH checks N <cycles/op in an N-node workflow, safety checks on> <same, off> <rounds>
#         (same boot, alternating; needs the kernel's checks_switch=1)
# (bench yield K is the partner process of the switch measurement; bench batches
# runs only the NOP batches, long enough to sample with a profiler.)
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from user cimport sdk, wf
from kwe.common cimport abi, kstr
from kwe.common.abi cimport Completion, EventSlot

cdef enum:
    MAX_NODES = 512
    MAX_SAMPLES = 1000

cdef wf.WfNode nodes[MAX_NODES]
cdef uint8_t data[64 * MAX_NODES]
cdef uint8_t blob[16 + 64 * MAX_NODES + 64 * MAX_NODES]
cdef uint64_t samples[MAX_SAMPLES]
cdef uint64_t failures                  # NOP results that came back not ok
cdef uint64_t arrived                   # NOP results read in this batch

cdef int register_wide(uint32_t id, uint32_t n) noexcept nogil:
    """A workflow of n independent CRC32 nodes over 64 bytes each."""
    cdef wf.Graph g
    cdef uint32_t i
    cdef int node
    wf.init(&g, nodes, MAX_NODES, data, sizeof(data))
    for i in range(n):
        node = wf.add(&g, abi.OP_CRC32)
        wf.input_data(&g, node, data + 64 * i, 64)
    return wf.register(id, blob, wf.encode(&g, blob, sizeof(blob)))

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
        total += run_once(id)
    return total / (<uint64_t>reps * n)

cdef void checks_cost(uint32_t rounds, uint32_t reps) noexcept nogil:
    """What the safety checks cost a workflow op, A/B in one boot: the same
    64-node workflow (one SUBMIT | WAIT per run, the summary read), `reps`
    runs with the checks on and `reps` off per round, the order
    alternating; the medians over the rounds."""
    cdef uint64_t on_s[32]
    cdef uint64_t off_s[32]
    cdef uint32_t k, n = 64
    if rounds > 32:
        rounds = 32
    if register_wide(300, n) != 0 or set_checks(1) != abi.E_OK:
        sdk.puts(b"bench: no checks A/B (boot with checks_switch=1)\n")
        return
    run_once(300)
    for k in range(rounds):
        if k % 2 == 0:
            on_s[k] = per_node(300, n, reps, 1)
            off_s[k] = per_node(300, n, reps, 0)
        else:
            off_s[k] = per_node(300, n, reps, 0)
            on_s[k] = per_node(300, n, reps, 1)
    set_checks(1)
    sdk.sort_u64(on_s, rounds)
    sdk.sort_u64(off_s, rounds)
    sdk.printf(b"BENCH checks %u %u %u %u\n", n, on_s[rounds / 2], off_s[rounds / 2], rounds)

cdef uint64_t run_once(uint32_t id) noexcept nogil:
    """One run with one kernel_notify(SUBMIT | WAIT); its cycles."""
    cdef Completion r
    cdef EventSlot* e = sdk.event(abi.OP_WF_RUN)
    cdef uint64_t t0
    e.h.workflow_id = id
    sdk.commit()
    t0 = sdk.tsc()
    sdk.kernel_notify(id, abi.NOTIFY_SUBMIT | abi.NOTIFY_WAIT)
    t0 = sdk.tsc() - t0
    sdk.wait_result(&r)
    return t0

cdef uint64_t one_by_one(uint32_t n) noexcept nogil:
    """The same n CRC32s, each its own kernel_notify(SUBMIT | WAIT); total cycles."""
    cdef Completion r
    cdef EventSlot* e
    cdef uint64_t t0 = sdk.tsc()
    cdef uint32_t i
    for i in range(n):
        e = sdk.event(abi.OP_CRC32)
        sdk.set_input(e, data + 64 * i, 64)
        sdk.commit()
        sdk.kernel_notify(0, abi.NOTIFY_SUBMIT | abi.NOTIFY_WAIT)
        sdk.wait_result(&r)
    return sdk.tsc() - t0

cdef void workflow_claim(uint32_t reps) noexcept nogil:
    cdef uint32_t sizes[4]
    cdef uint32_t k, r, n
    cdef uint64_t wf_cycles, sep_cycles
    sizes[0], sizes[1], sizes[2], sizes[3] = 1, 8, 64, 512
    for k in range(4):
        n = sizes[k]
        if register_wide(100 + n, n) != 0:
            sdk.printf(b"bench: register of %u nodes failed\n", n)
            return
        run_once(100 + n)                               # warm up
        one_by_one(n)
        wf_cycles = sep_cycles = 0
        for r in range(reps):
            wf_cycles += run_once(100 + n)
            sep_cycles += one_by_one(n)
        sdk.printf(b"BENCH workflow %u %u %u\n", n, wf_cycles / (reps * n), sep_cycles / (reps * n))

cdef void latency(uint32_t runs) noexcept nogil:
    cdef uint32_t i
    cdef uint64_t tick = sdk.info().tsc_hz / sdk.info().tick_hz
    if runs > MAX_SAMPLES:
        runs = MAX_SAMPLES
    for i in range(runs):
        samples[i] = run_once(101)                      # the 1-node workflow from above
    sdk.sort_u64(samples, runs)
    sdk.printf(b"BENCH latency %u %u %u\n", samples[runs / 2], samples[runs * 99 / 100], tick)

cdef void count_nop(Completion* r) noexcept nogil:
    """Every result read and checked, none copied aside: on_result's handler."""
    global arrived, failures
    arrived += 1
    if r.status != 0 or r.opcode != abi.OP_NOP:
        failures += 1

cdef uint64_t nop_batch(uint32_t n) noexcept nogil:
    """n NOP events through the Guide and the Execution deck like any op, one
    kernel_notify for them (more when n outgrows the EventRing); its cycles."""
    global arrived
    cdef uint32_t i
    cdef uint64_t t0 = sdk.tsc()
    arrived = 0
    for i in range(n):
        sdk.event(abi.OP_NOP)
        sdk.commit()
    while arrived < n:
        sdk.await_completion()
        sdk.reap()
    return sdk.tsc() - t0

cdef void batches(uint32_t rounds, uint32_t work) noexcept nogil:
    """The io_uring comparison: batches of 1 .. 4,096 independent ops."""
    cdef uint32_t n = 1, k, i, reps
    cdef uint64_t total
    sdk.on_result(count_nop)
    while n <= 4096:
        reps = work / n + 2
        nop_batch(n)                                    # warm up
        for k in range(rounds):
            total = 0
            for i in range(reps):
                total += nop_batch(n)
            samples[k] = total / (<uint64_t>reps * n)
        sdk.sort_u64(samples, rounds)
        sdk.printf(b"BENCH batch %u %u %u %u\n", n, samples[rounds / 2], samples[0], samples[rounds - 1])
        n *= 8
    sdk.on_result(NULL)
    if failures:
        sdk.printf(b"bench: %u NOP results were not ok\n", failures)

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

cdef public int umain() noexcept nogil:
    cdef char mode[16]
    cdef uint64_t i, n
    cdef bint quick
    if sdk.arg(0, mode, sizeof(mode)) > 0 and kstr.equal(mode, b"yield"):
        n = sdk.arg_u64(1, 1000)
        for i in range(n):
            sdk.yield_cpu()
        return 0
    if kstr.equal(mode, b"batches"):                 # only these, long: for a profiler
        batches(7, <uint32_t>sdk.arg_u64(1, 100000))
        return 0
    quick = sdk.arg(0, mode, sizeof(mode)) > 0 and kstr.equal(mode, b"quick")
    for i in range(sizeof(data)):
        data[i] = <uint8_t>(i * 13)
    workflow_claim(5 if quick else 20)
    checks_cost(5 if quick else 9, 5 if quick else 20)   # before the switch partner exists
    latency(100 if quick else 1000)
    notify_round_trip(1000 if quick else 20000, 7)
    batches(7, 2048 if quick else 16384)
    switch_round_trip(200 if quick else 5000)
    sdk.puts(b"BENCH done\n")
    return 0
