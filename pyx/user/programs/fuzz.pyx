# fuzz SEED [COUNT]: a hostile process in a loop.  Submits COUNT (default
# 10,000) random and mutated events -- any opcode, route, flags, sizes and
# arguments; input pointers into its own memory, the kernel, nowhere; output
# pointers into a scratch buffer or places it may not write -- and every
# tenth a workflow graph mutated from a valid one, registered, run and
# unregistered.  It reads whatever results come back and exits, leaving
# sleeps and runs behind for the kernel to clean up.  The boot must end with
# every account at zero and every page back; the seed is printed first, so a
# failure can be made again with `args=SEED,COUNT`.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.string cimport memset, memcpy
from user cimport sdk, wf
from kwe.common cimport abi
from kwe.common.abi cimport EventSlot, Completion, GraphHeader, NodeDesc

cdef enum:
    BATCH = 24
    SCRATCH = 16384

cdef uint64_t state = 0
cdef uint64_t nresults = 0, nok = 0, ngraphs = 0
cdef uint8_t scratch[SCRATCH]            # what input pointers may point at
cdef uint8_t outbuf[SCRATCH]             # where output pointers may write
cdef uint8_t graph[8192]
cdef wf.WfNode nodes[8]
cdef uint8_t gdata[256]

cdef uint16_t OPS[33]

cdef uint64_t rnd() noexcept nogil:
    global state                          # xorshift64*
    state ^= state >> 12
    state ^= state << 25
    state ^= state >> 27
    return state * <uint64_t>0x2545F4914F6CDD1DU

cdef uint64_t below(uint64_t n) noexcept nogil:
    return rnd() % n if n else 0

cdef uint64_t some_size() noexcept nogil:
    """Mostly small, sometimes a boundary, sometimes absurd."""
    cdef uint64_t k = below(8)
    if k < 5:
        return below(600)
    if k == 5:
        return below(SCRATCH + 1)
    if k == 6:
        return (<uint64_t>1 << below(64)) + below(3) - 1
    return rnd()

cdef uint64_t some_address(bint for_output) noexcept nogil:
    cdef uint64_t k = below(6)
    if k < 3:
        if for_output:
            return <uint64_t>&outbuf[0] + below(SCRATCH)
        return <uint64_t>&scratch[0] + below(SCRATCH)
    if k == 3:
        return <uint64_t>0xFFFF800000100000U + below(1 << 20)       # the kernel's direct map
    if k == 4:
        return below(1 << 16)                                        # the null page and below the program
    return rnd()

cdef void fill_ops() noexcept nogil:
    OPS[:] = [abi.OP_NOP, abi.OP_KILL, abi.OP_WF_REGISTER, abi.OP_WF_RUN, abi.OP_WF_UNREGISTER,
              abi.OP_CRC32, abi.OP_DJB2, abi.OP_RLE_ENCODE, abi.OP_RLE_DECODE, abi.OP_XOR,
              abi.OP_VEC_ADD_I32, abi.OP_VEC_MUL_I32, abi.OP_VEC_DOT_I32, abi.OP_VEC_ADD_F32,
              abi.OP_VEC_MUL_F32, abi.OP_VEC_DOT_F32, abi.OP_SLEEP, abi.OP_TICKS, abi.OP_TSC,
              abi.OP_FLAKY, abi.OP_MEM_ALLOC, abi.OP_MEM_FREE, abi.OP_FS_OPEN, abi.OP_FS_CLOSE,
              abi.OP_FS_READ, abi.OP_FS_SEEK, abi.OP_FS_QUERY, abi.OP_FS_TAGS, abi.OP_FS_STAT,
              abi.OP_FS_GET, abi.OP_NET_SEND, abi.OP_CONSOLE_WRITE, 0x7777]

cdef void count(Completion* r) noexcept nogil:
    global nresults, nok
    nresults += 1
    nok += r.status == abi.E_OK

cdef void random_event() noexcept nogil:
    cdef EventSlot* e = sdk.event(OPS[below(33)])
    cdef abi.InputPointer* ptr = <abi.InputPointer*>e.payload
    cdef int i
    e.h.workflow_id = <uint32_t>below(4)
    if below(4) == 0:                                   # a route of its own
        e.h.route_len = <uint8_t>below(abi.ROUTE_MAX + 2)
        for i in range(abi.ROUTE_MAX):
            e.h.route[i] = <uint8_t>below(7)
    e.h.flags = <uint16_t>(below(16) & ~abi.EVF_SYNC)
    for i in range(4):
        e.h.arg[i] = some_size()
    if e.h.opcode == abi.OP_SLEEP:
        e.h.arg[0] = below(50) if below(4) else rnd()
    if e.h.opcode == abi.OP_CONSOLE_WRITE:
        e.h.arg[0] = 0
        e.h.flags &= ~abi.EVF_INPUT_PTR
    if e.h.flags & abi.EVF_OUTPUT_PTR:
        e.h.arg[2], e.h.arg[3] = some_address(True), below(SCRATCH)
    if e.h.flags & abi.EVF_INPUT_PTR:
        ptr.address, ptr.length = some_address(False), some_size()
    else:
        e.h.payload_len = <uint32_t>(below(abi.PAYLOAD_MAX + 64) if below(8) else abi.PAYLOAD_MAX)
        for i in range(abi.PAYLOAD_MAX):
            e.payload[i] = <uint8_t>rnd()
        if e.h.opcode == abi.OP_CONSOLE_WRITE:
            e.h.payload_len = 0                         # (nothing random on the console)
    sdk.commit()

cdef uint64_t valid_graph() noexcept nogil:
    cdef wf.Graph g
    cdef int a, b, c
    wf.init(&g, nodes, 8, gdata, sizeof(gdata))
    a = wf.add(&g, abi.OP_NOP)
    wf.input_data(&g, a, scratch, 64)
    b = wf.add(&g, abi.OP_CRC32)
    wf.input_from(&g, b, a)
    c = wf.add(&g, abi.OP_XOR)
    wf.input_from(&g, c, a)
    wf.args(&g, c, 0x5A, 1)
    wf.retry(&g, c, 2, 1)
    a = wf.add(&g, abi.OP_NOP)
    wf.after(&g, a, b)
    wf.after(&g, a, c)
    wf.input_parents(&g, a)
    wf.emit(&g, a)
    return wf.encode(&g, graph, sizeof(graph))

cdef void mutated_graph() noexcept nogil:
    global ngraphs
    cdef uint64_t n = valid_graph(), i
    cdef EventSlot* e
    cdef uint32_t id = <uint32_t>(1 + below(3))
    for i in range(below(4)):
        graph[below(n)] = <uint8_t>rnd()
    if below(3) == 0:                                   # a node's dependency range or input
        (<uint16_t*>(graph + sizeof(GraphHeader) + sizeof(NodeDesc) * below(4) + 12 + 2 * below(3)))[0] = \
            <uint16_t>below(6)
    e = sdk.event(abi.OP_WF_REGISTER)
    e.h.workflow_id = id
    sdk.set_input(e, graph, <uint32_t>n)
    sdk.commit()
    e = sdk.event(abi.OP_WF_RUN)
    e.h.workflow_id = id
    sdk.commit()
    if below(2):
        e = sdk.event(abi.OP_WF_UNREGISTER)
        e.h.workflow_id = id
        sdk.commit()
    ngraphs += 1

cdef void reap() noexcept nogil:
    cdef Completion r
    while sdk.next_result(&r):
        count(&r)

cdef public int umain() noexcept nogil:
    global state
    cdef uint64_t seed = sdk.arg_u64(0, 1), n = sdk.arg_u64(1, 10000), i
    state = seed * <uint64_t>0x9E3779B97F4A7C15U + 1
    fill_ops()
    for i in range(SCRATCH):
        scratch[i] = <uint8_t>rnd()
    sdk.on_result(count)
    sdk.printf(b"fuzz: seed %u, %u events\n", seed, n)
    for i in range(n):
        if i % 10 == 9:
            mutated_graph()
        else:
            random_event()
        if i % BATCH == BATCH - 1:
            sdk.submit()
            reap()
    sdk.submit()
    reap()
    sdk.printf(b"fuzz: seed %u: %u events and %u graphs submitted, %u results read (%u ok)\n",
               seed, n, ngraphs, nresults, nok)
    return 0
