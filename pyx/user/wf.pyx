# See wf.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memset, memcpy
from user cimport sdk
from kwe.common cimport abi, wflang
from kwe.common.abi cimport NodeDesc, GraphHeader, Completion, EventSlot

cdef void init(Graph* g, WfNode* nodes, uint32_t cap, uint8_t* data, uint32_t data_cap) noexcept nogil:
    g.nodes, g.cap, g.n = nodes, cap, 0
    g.data, g.data_cap, g.data_len = data, data_cap, 0
    g.overflow = False

cdef bint valid(Graph* g, int node) noexcept nogil:
    if node < 0 or <uint32_t>node >= g.n:
        g.overflow = True
        return False
    return True

cdef int add(Graph* g, uint16_t opcode) noexcept nogil:
    if g.n == g.cap:
        g.overflow = True
        return -1
    wflang.describe(&g.nodes[g.n].d, opcode)
    g.n += 1
    return g.n - 1

cdef void route(Graph* g, int node, const uint8_t* r, uint8_t n) noexcept nogil:
    if valid(g, node):
        memcpy(g.nodes[node].d.route, r, n if n <= abi.ROUTE_MAX else abi.ROUTE_MAX)
        g.nodes[node].d.route_len = n

cdef void after(Graph* g, int node, int dep) noexcept nogil:
    cdef NodeDesc* d
    if not valid(g, node) or not valid(g, dep):
        return
    d = &g.nodes[node].d
    if d.ndeps == WF_MAX_DEPS:
        g.overflow = True
        return
    g.nodes[node].deps[d.ndeps] = <uint16_t>dep
    d.ndeps += 1

cdef void arg_value(Graph* g, int node, int dep) noexcept nogil:
    cdef WfNode* w
    cdef uint16_t k
    after(g, node, dep)
    if g.overflow:
        return
    w = &g.nodes[node]
    for k in range(w.d.ndeps - 1, 0, -1):       # dep goes first: the kernel reads the first's value
        w.deps[k] = w.deps[k - 1]
    w.deps[0] = <uint16_t>dep
    w.d.flags |= abi.NODE_ARG_VALUE

cdef void input_data(Graph* g, int node, const void* p, uint32_t n) noexcept nogil:
    if not valid(g, node):
        return
    if n > g.data_cap - g.data_len:
        g.overflow = True
        return
    memcpy(g.data + g.data_len, p, n)
    g.nodes[node].d.input_kind = abi.INPUT_DATA
    g.nodes[node].d.data_offset = g.data_len
    g.nodes[node].d.data_len = n
    g.data_len += n

cdef void input_from(Graph* g, int node, int dep) noexcept nogil:
    after(g, node, dep)
    if valid(g, node):
        g.nodes[node].d.input_kind = abi.INPUT_NODE
        g.nodes[node].d.input_node = <uint16_t>dep

cdef void input_parents(Graph* g, int node) noexcept nogil:
    if valid(g, node):
        g.nodes[node].d.input_kind = abi.INPUT_PARENTS

cdef void args(Graph* g, int node, uint64_t a0, uint64_t a1) noexcept nogil:
    if valid(g, node):
        g.nodes[node].d.args[0] = a0
        g.nodes[node].d.args[1] = a1

cdef void retry(Graph* g, int node, uint8_t max_retries, uint16_t backoff_ms) noexcept nogil:
    if valid(g, node):
        g.nodes[node].d.max_retries = max_retries
        g.nodes[node].d.backoff_ms = backoff_ms

cdef void emit(Graph* g, int node) noexcept nogil:
    if valid(g, node):
        g.nodes[node].d.flags |= abi.NODE_EMIT

cdef uint64_t encode(Graph* g, uint8_t* out, uint64_t cap) noexcept nogil:
    cdef GraphHeader* h = <GraphHeader*>out
    cdef NodeDesc* nodes = <NodeDesc*>(out + sizeof(GraphHeader))
    cdef uint32_t i, ndeps = 0
    cdef uint16_t* deps
    cdef uint64_t need
    for i in range(g.n):
        ndeps += g.nodes[i].d.ndeps
    need = sizeof(GraphHeader) + <uint64_t>g.n * sizeof(NodeDesc) + ndeps * 2 + g.data_len
    if g.overflow or need > cap:
        return 0
    deps = <uint16_t*>(<uint8_t*>nodes + <uint64_t>g.n * sizeof(NodeDesc))
    h.magic = abi.GRAPH_MAGIC
    h.nnodes = <uint16_t>g.n
    h.ndeps = <uint16_t>ndeps
    h.data_len = g.data_len
    h.reserved = 0
    ndeps = 0
    for i in range(g.n):
        memcpy(&nodes[i], &g.nodes[i].d, sizeof(NodeDesc))
        nodes[i].deps_first = <uint16_t>ndeps
        memcpy(deps + ndeps, g.nodes[i].deps, g.nodes[i].d.ndeps * 2)
        ndeps += g.nodes[i].d.ndeps
    memcpy(<uint8_t*>(deps + ndeps), g.data, g.data_len)
    return need

cdef void output(Graph* g, int node, void* buf, uint64_t cap) noexcept nogil:
    if node < 0:
        return
    g.nodes[node].d.flags |= abi.NODE_OUTPUT_PTR
    g.nodes[node].d.args[2] = <uint64_t>buf
    g.nodes[node].d.args[3] = cap

cdef int register(uint32_t wf_id, const uint8_t* blob, uint64_t n) noexcept nogil:
    cdef Completion r
    cdef EventSlot* e = sdk.event(abi.OP_WF_REGISTER)
    e.h.workflow_id = wf_id
    sdk.set_input(e, blob, <uint32_t>n)
    return sdk.call(e, &r)

cdef int unregister(uint32_t wf_id) noexcept nogil:
    cdef Completion r
    cdef EventSlot* e = sdk.event(abi.OP_WF_UNREGISTER)
    e.h.workflow_id = wf_id
    return sdk.call(e, &r)

cdef int run(uint32_t wf_id, Completion* summary, NodeHandler on_node) noexcept nogil:
    cdef EventSlot* e = sdk.event(abi.OP_WF_RUN)
    cdef uint64_t id = e.h.event_id
    e.h.workflow_id = wf_id
    sdk.commit()
    sdk.kernel_notify(wf_id, abi.NOTIFY_SUBMIT)
    while True:
        if not sdk.take(summary):               # the ring only: the stash holds others'
            sdk.await_completion()
            continue
        if summary.event_id != id or summary.flags & abi.RF_CHILD_EXIT:
            sdk.keep_result(summary)            # someone else's
            continue
        if summary.flags & abi.RF_NODE:
            if on_node != NULL:
                on_node(summary)
            continue
        return summary.status                 # RF_WORKFLOW, or RUN refused
