# attack: what a hostile process sent the kernel when the safety audit
# (issue 11) found it hurt.  One attack per run, named by the first argument;
# each must leave the kernel running with a sound heap (the boot's heap walk
# at power-off is the judge), and the attacker sees only its own results.
#   shared-deps   4,096 nodes that all name the same entry of the dependency
#                 array (the inverted index once overflowed a 2-byte object)
#   chain-cancel  a 4,096-node chain whose first node fails: cancelling the
#                 descendants once recursed a frame per node on a 16 KiB stack
#   sleep-pin     16 day-long sleeps, each with a 4 MiB input, then exit: the
#                 kernel once kept the 64 MiB until the sleeps ended
#   rle-bomb      a 4 MiB RLE stream that decodes to 260 MiB, with no bound of
#                 its own (arg[0] = 2^32 - 1): the kernel's max_output caps it
#   mem-hog       takes memory 1 MiB at a time until refused, holds it until
#                 every hog has stopped taking, exits (run many with spawner:
#                 quotas per process and over all processes keep the machine
#                 alive)
#   crc-flood     starts `attack timer-victim`, then a 4,096-node workflow,
#                 each node a CRC32 of the same 1 MiB; exits when the victim
#                 has (its run is dropped): the Guide once ran all of it
#                 before anyone else's timer or program
#   timer-victim  20 sleeps of 10 ms; prints how late the worst one was
#   result-hog    submits NOPs and never reads a completion, then moves its
#                 ResultRing tail into the future and far back: the kernel
#                 once kept every result it could not deliver (190,972 slabs)
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.string cimport memset, memcpy
from user cimport sdk, wf
from kwe.common cimport abi, kstr
from kwe.common.abi cimport GraphHeader, NodeDesc, Completion, ProcInfo

cdef enum:
    NODES = 4096
    PS_MAX = 64
    DATA = 16384
    BLOB = sizeof(GraphHeader) + NODES * sizeof(NodeDesc) + NODES * 2 + DATA

cdef uint8_t blob[BLOB]
cdef uint8_t big[4 << 20]
cdef uint8_t runs[2 * 8066]
cdef ProcInfo procs[PS_MAX]             # not on the stack: a hog at its quota cannot grow it

cdef NodeDesc* node(uint32_t i) noexcept nogil:
    return &(<NodeDesc*>(blob + sizeof(GraphHeader)))[i]

cdef void set_op(NodeDesc* n, uint16_t opcode, uint8_t deck) noexcept nogil:
    n.opcode = opcode
    n.route_len = 2
    n.route[0] = deck
    n.route[1] = abi.DECK_EXECUTION

cdef uint64_t layout(uint32_t nnodes, uint32_t ndeps, const uint8_t* data, uint32_t ndata) noexcept nogil:
    """Header and data for nnodes nodes and ndeps dependency entries; the blob's length."""
    cdef GraphHeader* g = <GraphHeader*>blob
    cdef uint64_t deps_at = sizeof(GraphHeader) + <uint64_t>nnodes * sizeof(NodeDesc)
    g.magic = abi.GRAPH_MAGIC
    g.nnodes = <uint16_t>nnodes
    g.ndeps = <uint16_t>ndeps
    g.data_len = ndata
    memcpy(blob + deps_at + ndeps * 2, data, ndata)
    return deps_at + ndeps * 2 + ndata

cdef uint16_t* deps_array(uint32_t nnodes) noexcept nogil:
    return <uint16_t*>(blob + sizeof(GraphHeader) + <uint64_t>nnodes * sizeof(NodeDesc))

cdef uint64_t shared_deps() noexcept nogil:
    """Node 0 a CRC of 4 bytes; nodes 1.. each depend on deps[0:1] = [0]."""
    cdef uint32_t i
    cdef uint64_t n = layout(NODES, 1, <const uint8_t*>b"root", 4)
    set_op(node(0), abi.OP_CRC32, abi.DECK_OPERATIONS)
    node(0).input_kind = abi.INPUT_DATA
    node(0).data_len = 4
    for i in range(1, NODES):
        set_op(node(i), abi.OP_DJB2, abi.DECK_OPERATIONS)
        node(i).deps_first, node(i).ndeps = 0, 1
    deps_array(NODES)[0] = 0
    return n

cdef uint64_t chain_cancel() noexcept nogil:
    """Node 0 an RLE decode of a bad stream (fails for good); node i waits for i-1."""
    cdef uint32_t i
    cdef uint64_t n = layout(NODES, NODES - 1, <const uint8_t*>b"\x7f\x01", 2)
    set_op(node(0), abi.OP_RLE_DECODE, abi.DECK_OPERATIONS)
    node(0).input_kind = abi.INPUT_DATA
    node(0).data_len = 2
    for i in range(1, NODES):
        set_op(node(i), abi.OP_CRC32, abi.DECK_OPERATIONS)
        node(i).input_kind = abi.INPUT_NODE
        node(i).input_node = <uint16_t>(i - 1)
        node(i).deps_first, node(i).ndeps = <uint16_t>(i - 1), 1
        deps_array(NODES)[i - 1] = <uint16_t>(i - 1)
    return n

cdef int attack(const char* name, uint64_t n) noexcept nogil:
    cdef Completion s
    cdef int status = wf.register(1, blob, n)
    sdk.printf(b"attack %s: register %e\n", <uint64_t>name, <uint64_t><int64_t>status)
    if status != abi.E_OK:
        return 1
    status = wf.run(1, &s, NULL)
    sdk.printf(b"attack %s: run %e done %u failed %u cancelled %u\n", <uint64_t>name,
               <uint64_t><int64_t>status, sdk.run_done(&s), sdk.run_failed(&s), sdk.run_cancelled(&s))
    return 0

cdef int sleep_pin() noexcept nogil:
    cdef abi.EventSlot* e
    cdef int i
    for i in range(16):
        e = sdk.event(abi.OP_SLEEP)
        e.h.arg[0] = 86400000                   # a day, in ms
        sdk.set_input(e, big, sizeof(big))
        sdk.commit()
    sdk.printf(b"attack sleep-pin: submitted %d, exiting\n", sdk.submit())
    return 0

cdef int rle_bomb() noexcept nogil:
    cdef abi.EventSlot* e
    cdef Completion r
    cdef uint64_t i
    for i in range(0, sizeof(big), 2):
        big[i], big[i + 1] = 255, 0x41          # a run of 130 'A's
    e = sdk.event(abi.OP_RLE_DECODE)
    e.h.arg[0] = 0xFFFFFFFFU
    sdk.set_input(e, big, sizeof(big))
    sdk.printf(b"attack rle-bomb: %e\n", <uint64_t><int64_t>sdk.call(e, &r))
    return 0

cdef void sleep_ms(uint64_t ms) noexcept nogil:
    cdef Completion r
    cdef abi.EventSlot* e = sdk.event(abi.OP_SLEEP)
    e.h.arg[0] = ms
    sdk.call(e, &r)

cdef uint64_t family_pages() noexcept nogil:
    """OP_MEM_ALLOC pages held by our parent's children (the hogs, us too)."""
    cdef int64_t n = sdk.ps(procs, PS_MAX), i
    cdef uint32_t parent = 0
    cdef uint64_t total = 0
    for i in range(n if n < PS_MAX else PS_MAX):
        if procs[i].pid == sdk.info().pid:
            parent = procs[i].parent
    for i in range(n if n < PS_MAX else PS_MAX):
        if procs[i].parent == parent:
            total += procs[i].mem_pages
    return total

cdef void hold_until_the_others_have_taken() noexcept nogil:
    """Keep our memory until what the hogs hold has stopped growing: the test
    adds up what each took, which only all of RAM bounds while all of them
    hold it (a fixed 200 ms let an early hog exit while later ones took)."""
    cdef uint64_t last = <uint64_t>-1, now
    cdef int stable = 0
    while stable < 3:
        sleep_ms(50)
        now = family_pages()
        stable = stable + 1 if now == last else 0
        last = now

cdef int mem_hog() noexcept nogil:
    cdef abi.EventSlot* e
    cdef Completion r
    cdef int status = abi.E_OK
    cdef uint64_t mib = 0
    sleep_ms(300)                               # let the spawner start every hog before any takes
                                                # memory (else the last spawns race the global limit)
    while status == abi.E_OK:
        e = sdk.event(abi.OP_MEM_ALLOC)
        e.h.arg[0] = 1 << 20
        status = sdk.call(e, &r)
        mib += status == abi.E_OK
    sdk.printf(b"attack mem-hog: pid %u took %u MiB, then %e\n", sdk.info().pid, mib,
               <uint64_t><int64_t>status)
    hold_until_the_others_have_taken()
    return 0 if status == abi.E_QUOTA or status == abi.E_NOMEM else 1

cdef uint64_t flood_graph() noexcept nogil:
    """Node 0 decodes 1 MiB of 'A' from 8,066 RLE runs; nodes 1.. CRC it."""
    cdef uint32_t i
    cdef uint64_t n
    for i in range(8066):
        runs[2 * i], runs[2 * i + 1] = 255, 0x41
    n = layout(NODES, NODES - 1, runs, sizeof(runs))
    set_op(node(0), abi.OP_RLE_DECODE, abi.DECK_OPERATIONS)
    node(0).input_kind = abi.INPUT_DATA
    node(0).data_len = sizeof(runs)
    for i in range(1, NODES):
        set_op(node(i), abi.OP_CRC32, abi.DECK_OPERATIONS)
        node(i).input_kind = abi.INPUT_NODE
        node(i).deps_first, node(i).ndeps = <uint16_t>(i - 1), 1
        deps_array(NODES)[i - 1] = 0
    return n

cdef int crc_flood() noexcept nogil:
    cdef abi.EventSlot* e
    cdef Completion r
    cdef int64_t victim = sdk.spawn(b"attack timer-victim", 0, 0, 0)
    cdef int status = wf.register(2, blob, flood_graph())
    if victim < 0 or status != abi.E_OK:
        sdk.printf(b"attack crc-flood: spawn %e, register %e\n", <uint64_t>victim, <uint64_t><int64_t>status)
        return 1
    e = sdk.event(abi.OP_WF_RUN)
    e.h.workflow_id = 2
    sdk.commit()
    sdk.submit()
    sdk.puts(b"attack crc-flood: 4096 CRCs of 1 MiB submitted\n")
    while True:
        sdk.wait_result(&r)
        if (r.flags & abi.RF_CHILD_EXIT) and r.value == <uint64_t>victim:
            break
    sdk.puts(b"attack crc-flood: the victim is done; leaving the rest to the kernel\n")
    return 0

cdef int timer_victim() noexcept nogil:
    cdef abi.EventSlot* e
    cdef Completion r
    cdef uint64_t hz = sdk.info().tsc_hz, t, late, worst = 0
    cdef int i
    for i in range(20):
        t = sdk.tsc()
        e = sdk.event(abi.OP_SLEEP)
        e.h.arg[0] = 10
        sdk.call(e, &r)
        late = (sdk.tsc() - t) * 1000000 / hz - 10000
        if late > worst and late < (<uint64_t>1 << 62):
            worst = late
    sdk.printf(b"attack timer-victim: 20 sleeps of 10 ms, the worst %u us late\n", worst)
    return 0

cdef uint64_t offer(uint32_t rounds) noexcept nogil:
    """Fill the EventRing with NOPs and submit, `rounds` times, never reading
    a completion (never blocking in sdk.event either); events taken."""
    cdef uint64_t taken = 0
    cdef int64_t t
    cdef uint32_t r
    for r in range(rounds):
        while sdk.unsent() < sdk.info().event_ring_size:
            sdk.event(abi.OP_NOP)
            sdk.commit()
        t = sdk.submit()
        taken += <uint64_t>t if t > 0 else 0
    return taken

cdef int result_hog() noexcept nogil:
    cdef abi.RingHeader* rh = <abi.RingHeader*>sdk.info().result_ring
    cdef uint64_t first = offer(64), future, past
    rh.tail = rh.head + 1000                    # "read" what never came
    future = offer(4)
    rh.tail = rh.head - 100000                  # and far behind
    past = offer(4)
    sdk.printf(b"attack result-hog: never reading, %u taken (ring %u); tail ahead: %u more; "
               b"tail behind: %u more; ring flags %u\n", first, sdk.info().result_ring_size,
               future, past, rh.flags)
    rh.tail = rh.head                           # let the SDK's exit find room
    return 0

cdef public int umain() noexcept nogil:
    cdef char kind[32]
    memset(blob, 0, sizeof(blob))
    if sdk.arg(0, kind, sizeof(kind)) < 0:
        sdk.puts(b"attack: say which: shared-deps | chain-cancel | sleep-pin | rle-bomb | mem-hog | crc-flood | result-hog\n")
        return 2
    if kstr.equal(kind, b"shared-deps"):
        return attack(kind, shared_deps())
    if kstr.equal(kind, b"chain-cancel"):
        return attack(kind, chain_cancel())
    if kstr.equal(kind, b"sleep-pin"):
        return sleep_pin()
    if kstr.equal(kind, b"rle-bomb"):
        return rle_bomb()
    if kstr.equal(kind, b"mem-hog"):
        return mem_hog()
    if kstr.equal(kind, b"crc-flood"):
        return crc_flood()
    if kstr.equal(kind, b"timer-victim"):
        return timer_victim()
    if kstr.equal(kind, b"result-hog"):
        return result_hog()
    sdk.printf(b"attack: no attack '%s'\n", <uint64_t>kind)
    return 2
