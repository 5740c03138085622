# See workflow.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t
from libc.string cimport memcpy, memset
from kwe.common cimport abi
from kwe.events cimport guide, results
from kwe.mm cimport heap, account
from kwe.mm.account cimport Account
from kwe.lib cimport hashmap
from kwe.tasks cimport proc, caps
from kwe.dev cimport pit
from kwe.base cimport cmdline, hal
from kwe.debug cimport trace, stages
from kwe.common.abi cimport GraphHeader, NodeDesc, EventHeader, Completion
from kwe.events.guide cimport Event
from kwe.tasks.proc cimport Process
cimport kwe.common.list as lists
from kwe.common.list cimport ListNode

cdef enum NodeState:
    PENDING = 0
    RUNNING = 1
    DONE = 2
    FAILED = 3
    CANCELLED = 4

cdef struct Run

cdef struct Workflow:
    ListNode link               # first: on its process's list of workflows
    uint32_t pid
    uint32_t id
    Account* account            # its process's: charged for everything below and its runs
    uint8_t* blob               # the graph, copied
    NodeDesc* nodes
    uint16_t* deps
    uint8_t* data
    uint32_t nnodes
    uint32_t emitting           # nodes with NODE_EMIT: a run reserves a completion for each
    uint64_t nedges             # dependency entries named by all nodes (ranges may share entries)
    uint32_t* child_start       # node i's dependents: children[child_start[i] : child_start[i+1]]
    uint16_t* children
    uint64_t run_id             # the active run, 0 if none
    uint64_t runs
    Run* spare                  # the last run's block, kept for the next (freed with the workflow)

cdef struct Run:
    uint64_t id
    Workflow* wf
    Process* owner              # its workflow's process: a run ends before its process does
    hashmap.Entry in_runs       # its entry in `runs`: starting a run allocates nothing
    uint64_t event_id           # of the OP_WF_RUN event: the summary answers it
    uint32_t cq                 # ResultRing slots it holds: its emitting nodes' and the summary's
    uint8_t* state
    uint32_t* remaining         # dependencies not done yet
    uint32_t* readers           # dependents not finished yet: at 0 its kept output goes
    uint32_t* work              # cancel_descendants' stack: each node is pushed at most once
    uint32_t* ready             # nodes whose dependencies are done, not yet dispatched (a FIFO)
    uint32_t ready_head, ready_count
    uint32_t inflight           # its nodes' events in the Guide (at most max_inflight)
    uint8_t** outputs           # kept for dependents: heap, or into scalars
    uint32_t* output_lens
    uint64_t* scalars           # small outputs, one word per node
    uint64_t* values            # each done node's value, for NODE_ARG_VALUE dependents
    uint32_t ndone, nfailed, ncancelled
    int32_t first_error
    uint16_t error_node
    uint8_t error_deck

cdef hashmap.HashMap workflows         # (pid << 32 | id) -> Workflow*
cdef hashmap.HashMap runs              # run id -> Run*
cdef uint64_t next_run = 0, max_nodes = 0, max_bytes = 0, max_edges = 0, max_inflight = 0

cdef inline uint64_t key(uint32_t pid, uint32_t wf) noexcept nogil:
    return (<uint64_t>pid << 32) | wf

cdef const bint* staging = NULL    # stages' on/off (stages.begin tests it)
cdef const bint* tracing = NULL    # trace's, tested before a per-node trace point's call

cdef void publish(Process* p, Completion* c, uint32_t* held) noexcept nogil:
    cdef uint8_t back = stages.begin(staging, abi.STAGE_COMPLETE)
    results.post(p, c, held)
    stages.end(back)

cdef void init() noexcept nogil:
    global max_nodes, max_bytes, max_edges, max_inflight, staging, tracing
    staging = stages.flag()
    tracing = trace.flag()
    hashmap.init(&workflows, 64)
    hashmap.init(&runs, 64)
    max_nodes = cmdline.get_u64(b"wf_max_nodes", DEFAULT_MAX_NODES)
    max_bytes = cmdline.get_u64(b"wf_max_bytes", DEFAULT_MAX_BYTES)
    max_edges = cmdline.get_u64(b"wf_max_edges", DEFAULT_MAX_EDGES)
    max_inflight = cmdline.get_u64(b"wf_max_inflight", DEFAULT_MAX_INFLIGHT)
    if max_inflight == 0:
        max_inflight = 1
    guide.set_run_need(run_need)

cdef uint32_t run_need(Process* p, EventHeader* h) noexcept nogil:
    cdef Workflow* w = <Workflow*>hashmap.get(&workflows, key(p.pid, h.workflow_id))
    return w.emitting if w != NULL else 0

cdef uint32_t count_emitting(NodeDesc* nodes, uint32_t n) noexcept nogil:
    cdef uint32_t i, total = 0
    for i in range(n):
        if nodes[i].flags & abi.NODE_EMIT:
            total += 1
    return total

# ---- checking a graph -------------------------------------------------------------
cdef int check_node(NodeDesc* nd, uint32_t i, GraphHeader* g, uint16_t* deps) noexcept nogil:
    cdef EventHeader h
    cdef int err, owner = guide.opcode_deck(nd.opcode)
    cdef uint32_t k
    cdef bint input_is_dep = False
    if owner == abi.DECK_EXECUTION and nd.opcode != abi.OP_NOP:
        return abi.E_BADOP                  # no spawning or nested workflows inside one
    memset(&h, 0, sizeof(h))
    h.opcode = nd.opcode
    h.route_len = nd.route_len
    memcpy(h.route, nd.route, abi.ROUTE_MAX)
    err = guide.check(&h)
    if err != abi.E_OK:
        return err
    if <uint32_t>nd.deps_first + nd.ndeps > g.ndeps or nd.input_kind > abi.INPUT_PARENTS:
        return abi.E_INVAL
    if nd.max_retries > MAX_RETRIES:
        return abi.E_RANGE
    if (nd.flags & abi.NODE_ARG_VALUE) and nd.ndeps == 0:
        return abi.E_INVAL                  # an argument from a dependency it does not have
    for k in range(nd.deps_first, nd.deps_first + nd.ndeps):
        if deps[k] >= g.nnodes:
            return abi.E_NOENT              # a dependency on a node that does not exist
        if deps[k] == i:
            return abi.E_CYCLE
        if deps[k] == nd.input_node:
            input_is_dep = True
    if nd.input_kind == abi.INPUT_NODE and not input_is_dep:
        return abi.E_INVAL                  # input from a node it does not wait for
    if nd.input_kind == abi.INPUT_DATA and (nd.data_offset > g.data_len or
                                            nd.data_len > g.data_len - nd.data_offset):
        return abi.E_RANGE
    return abi.E_OK

cdef uint64_t count_edges(NodeDesc* nodes, uint32_t n) noexcept nogil:
    """Dependency entries named by all nodes: the size of the inverted index.
    Nodes may share one range of the deps array, so this is not g.ndeps."""
    cdef uint64_t total = 0
    cdef uint32_t i
    for i in range(n):
        total += nodes[i].ndeps
    return total

cdef bint children_index(NodeDesc* nodes, uint16_t* deps, uint32_t n, uint64_t nedges,
                         uint32_t** start_out, uint16_t** children_out, Account* a) noexcept nogil:
    """Invert the dependency lists: for each node, the nodes that wait for it
    (children[start[i] : start[i+1]]); nedges is count_edges(nodes, n)."""
    cdef uint32_t i, k, d
    cdef uint32_t* start = <uint32_t*>heap.kzalloc_for(a, (n + 1) * sizeof(uint32_t))
    cdef uint16_t* children = <uint16_t*>heap.kmalloc_for(a, (nedges if nedges else 1) * sizeof(uint16_t))
    cdef uint32_t* fill = <uint32_t*>heap.kzalloc_for(a, (n + 1) * sizeof(uint32_t))
    if start == NULL or children == NULL or fill == NULL:
        heap.kfree(start)
        heap.kfree(children)
        heap.kfree(fill)
        return False
    for i in range(n):
        for k in range(nodes[i].deps_first, nodes[i].deps_first + nodes[i].ndeps):
            start[deps[k] + 1] += 1
    for i in range(n):
        start[i + 1] += start[i]
    for i in range(n):
        for k in range(nodes[i].deps_first, nodes[i].deps_first + nodes[i].ndeps):
            d = deps[k]
            children[start[d] + fill[d]] = <uint16_t>i
            fill[d] += 1
    heap.kfree(fill)
    start_out[0] = start
    children_out[0] = children
    return True

cdef int acyclic(GraphHeader* g, NodeDesc* nodes, uint16_t* deps, uint64_t nedges, Account* a) noexcept nogil:
    """Kahn's algorithm: E_OK if every node can run after its dependencies."""
    cdef uint32_t n = g.nnodes, i, k, c, head = 0, tail = 0
    cdef uint32_t* start
    cdef uint16_t* children
    cdef uint32_t* indeg = <uint32_t*>heap.kmalloc_for(a, n * sizeof(uint32_t))
    cdef uint32_t* order = <uint32_t*>heap.kmalloc_for(a, n * sizeof(uint32_t))
    cdef int result = abi.E_NOMEM
    if indeg != NULL and order != NULL and children_index(nodes, deps, n, nedges, &start, &children, a):
        for i in range(n):
            indeg[i] = nodes[i].ndeps
            if indeg[i] == 0:
                order[tail] = i
                tail += 1
        while head < tail:
            i = order[head]
            head += 1
            for k in range(start[i], start[i + 1]):
                c = children[k]
                indeg[c] -= 1
                if indeg[c] == 0:
                    order[tail] = c
                    tail += 1
        result = abi.E_OK if head == n else abi.E_CYCLE
        heap.kfree(start)
        heap.kfree(children)
    heap.kfree(indeg)
    heap.kfree(order)
    return result

cdef int validate(const uint8_t* blob, uint64_t n, uint32_t limit_nodes, uint64_t limit_bytes,
                  uint64_t limit_edges, Account* a) noexcept nogil:
    cdef GraphHeader* g = <GraphHeader*>blob
    cdef NodeDesc* nodes
    cdef uint16_t* deps
    cdef uint64_t need, nedges
    cdef uint32_t i
    cdef int err
    if n < sizeof(GraphHeader) or g.magic != abi.GRAPH_MAGIC:
        return abi.E_INVAL
    if n > limit_bytes or g.nnodes > limit_nodes:
        return abi.E_TOOBIG
    if g.nnodes == 0:
        return abi.E_INVAL
    need = sizeof(GraphHeader) + <uint64_t>g.nnodes * sizeof(NodeDesc) + <uint64_t>g.ndeps * 2 + g.data_len
    if need != n:
        return abi.E_INVAL
    nodes = <NodeDesc*>(blob + sizeof(GraphHeader))
    deps = <uint16_t*>(<uint8_t*>nodes + <uint64_t>g.nnodes * sizeof(NodeDesc))
    for i in range(g.nnodes):
        err = check_node(&nodes[i], i, g, deps)
        if err != abi.E_OK:
            return err
    nedges = count_edges(nodes, g.nnodes)
    if nedges > limit_edges:
        return abi.E_TOOBIG
    return acyclic(g, nodes, deps, nedges, a)

# ---- registry ---------------------------------------------------------------------
cdef void uncharge(Account* a, uint32_t nnodes) noexcept nogil:
    account.give(a, account.RES_NODES, nnodes)
    account.give(a, account.RES_WORKFLOWS, 1)

cdef void free_workflow(Workflow* w) noexcept nogil:
    uncharge(w.account, w.nnodes)
    heap.kfree(w.blob)
    heap.kfree(w.child_start)
    heap.kfree(w.children)
    heap.kfree(w.spare)
    heap.kfree(w)

cdef int charge(Account* a, uint32_t nnodes) noexcept nogil:
    """Take a workflow of nnodes nodes from a's quotas (E_QUOTA if over)."""
    if not account.take(a, account.RES_WORKFLOWS, 1):
        return abi.E_QUOTA
    if not account.take(a, account.RES_NODES, nnodes):
        account.give(a, account.RES_WORKFLOWS, 1)
        return abi.E_QUOTA
    return abi.E_OK

cdef int nodes_allowed(Process* p, GraphHeader* g) noexcept nogil:
    """A node is an operation like any event: p must hold its capability."""
    cdef NodeDesc* nodes = <NodeDesc*>(<uint8_t*>g + sizeof(GraphHeader))
    cdef uint32_t i
    for i in range(g.nnodes):
        if not caps.op_allowed(&p.caps, nodes[i].opcode):
            return caps.deny(p.pid, nodes[i].opcode, nodes[i].opcode)
    return abi.E_OK

cdef int register(Event* e) noexcept nogil:
    cdef Workflow* w
    cdef GraphHeader* g
    cdef Process* p = proc.find(e.pid)
    cdef uint32_t nnodes
    cdef int err
    if p == NULL:
        return abi.E_NOENT
    if e.h.workflow_id == 0:
        return abi.E_INVAL
    if hashmap.contains(&workflows, key(e.pid, e.h.workflow_id)):
        return abi.E_EXIST
    err = validate(e.input, e.input_len, <uint32_t>max_nodes, max_bytes, max_edges, p.account)
    if err == abi.E_OK:
        err = nodes_allowed(p, <GraphHeader*>e.input)
    if err != abi.E_OK:
        return err
    nnodes = (<GraphHeader*>e.input).nnodes
    err = charge(p.account, nnodes)
    if err != abi.E_OK:
        return err
    w = <Workflow*>heap.kzalloc_for(p.account, sizeof(Workflow))
    if w == NULL:
        uncharge(p.account, nnodes)
        return abi.E_NOMEM
    w.account = p.account
    w.nnodes = nnodes                           # from here free_workflow gives the charge back
    w.blob = <uint8_t*>heap.kmalloc_for(p.account, e.input_len)
    if w.blob == NULL:
        free_workflow(w)
        return abi.E_NOMEM
    memcpy(w.blob, e.input, e.input_len)
    g = <GraphHeader*>w.blob
    w.pid = e.pid
    w.id = e.h.workflow_id
    w.nodes = <NodeDesc*>(w.blob + sizeof(GraphHeader))
    w.deps = <uint16_t*>(<uint8_t*>w.nodes + <uint64_t>g.nnodes * sizeof(NodeDesc))
    w.data = <uint8_t*>w.deps + <uint64_t>g.ndeps * 2
    w.nedges = count_edges(w.nodes, w.nnodes)
    w.emitting = count_emitting(w.nodes, w.nnodes)
    if (not children_index(w.nodes, w.deps, w.nnodes, w.nedges, &w.child_start, &w.children, w.account)
            or not hashmap.put(&workflows, key(w.pid, w.id), w)):
        free_workflow(w)
        return abi.E_NOMEM
    lists.push_front(&p.workflows, &w.link)
    return abi.E_OK

cdef int unregister(uint32_t pid, uint32_t wf) noexcept nogil:
    cdef Workflow* w = <Workflow*>hashmap.get(&workflows, key(pid, wf))
    cdef Process* p = proc.find(pid)
    if w == NULL:
        return abi.E_NOENT
    if w.run_id != 0:
        return abi.E_BUSY
    hashmap.remove(&workflows, key(pid, wf))
    if p != NULL:
        lists.remove(&p.workflows, &w.link)
    free_workflow(w)
    return abi.E_OK

cdef int state(uint32_t pid, uint32_t wf) noexcept nogil:
    cdef Workflow* w = <Workflow*>hashmap.get(&workflows, key(pid, wf))
    if w == NULL:
        return -1
    return 1 if w.run_id != 0 else 0

cdef uint64_t registered() noexcept nogil:
    return workflows.count

cdef uint64_t running() noexcept nogil:
    return runs.count

# ---- runs ---------------------------------------------------------------------------
cdef void free_run(Run* r) noexcept nogil:
    """End r: its held slots and kept outputs go back; the block itself stays
    with its workflow for the next run (no allocation on a run's hot path)."""
    cdef uint32_t i
    cdef Workflow* w = r.wf
    results.release(proc.find(w.pid), &r.cq)
    for i in range(w.nnodes):
        if r.outputs[i] != <uint8_t*>&r.scalars[i]:
            heap.kfree(r.outputs[i])
    hashmap.remove(&runs, r.id)
    w.run_id = 0
    if w.spare == NULL:
        w.spare = r
    else:
        heap.kfree(r)

cdef size_t run_bytes(uint32_t n) noexcept nogil:
    """A Run and its per-node arrays in one block, the 8-byte ones first."""
    return sizeof(Run) + <size_t>n * (3 * sizeof(uint64_t) + 5 * sizeof(uint32_t) + 1)

cdef void lay_out(Run* r, Workflow* w) noexcept nogil:
    """A fresh run in r's block: every counter zero, every node PENDING."""
    cdef uint32_t n = w.nnodes, i
    cdef uint8_t* at = <uint8_t*>r + sizeof(Run)
    memset(r, 0, sizeof(Run))
    r.wf = w
    r.owner = proc.find(w.pid)
    r.outputs = <uint8_t**>at
    r.scalars = <uint64_t*>(at + 8 * n)
    r.values = <uint64_t*>(at + 16 * n)
    r.remaining = <uint32_t*>(at + 24 * n)
    r.work = r.remaining + n
    r.ready = r.work + n
    r.output_lens = r.ready + n
    r.readers = r.output_lens + n
    r.state = <uint8_t*>(r.readers + n)
    memset(r.outputs, 0, 8 * n)
    memset(r.output_lens, 0, 4 * n)
    memset(r.state, 0, n)
    for i in range(n):
        r.remaining[i] = w.nodes[i].ndeps
        r.readers[i] = w.child_start[i + 1] - w.child_start[i]

cdef Run* new_run(Workflow* w) noexcept nogil:
    global next_run
    cdef Run* r = w.spare
    if r == NULL:
        r = <Run*>heap.kmalloc_for(w.account, run_bytes(w.nnodes))
        if r == NULL:
            return NULL
    w.spare = NULL
    lay_out(r, w)
    next_run += 1
    r.id = next_run
    if not hashmap.put_in(&runs, r.id, r, &r.in_runs):
        w.spare = r
        return NULL
    w.run_id = r.id
    return r

cdef bint node_input(Run* r, NodeDesc* nd, Event* e) noexcept nogil:
    """Point e at its input; only INPUT_PARENTS needs a copy (a concatenation)."""
    cdef Workflow* w = r.wf
    cdef uint64_t total = 0
    cdef uint32_t k, d, at = 0
    if nd.input_kind == abi.INPUT_DATA:
        e.input = w.data + nd.data_offset
        e.input_len = nd.data_len
    elif nd.input_kind == abi.INPUT_NODE:
        e.input = r.outputs[nd.input_node]
        e.input_len = r.output_lens[nd.input_node]
    elif nd.input_kind == abi.INPUT_PARENTS:
        for k in range(nd.deps_first, nd.deps_first + nd.ndeps):
            total += r.output_lens[w.deps[k]]
        e.input_owned = <uint8_t*>guide.alloc_for(e, total if total else 1)
        if e.input_owned == NULL:
            return False
        for k in range(nd.deps_first, nd.deps_first + nd.ndeps):
            d = w.deps[k]
            if r.output_lens[d]:
                memcpy(e.input_owned + at, r.outputs[d], r.output_lens[d])
                at += r.output_lens[d]
        e.input = e.input_owned
        e.input_len = at
    return True

cdef void make_ready(Run* r, uint32_t i) noexcept nogil:
    cdef uint32_t at = r.ready_head + r.ready_count      # both < nnodes: no division to wrap
    r.ready[at - r.wf.nnodes if at >= r.wf.nnodes else at] = i
    r.ready_count += 1

cdef void dispatch_ready(Run* r) noexcept nogil:
    """Dispatch ready nodes while fewer than max_inflight of the run's are in
    the Guide: a wide fan-out costs a bounded number of events and a bounded
    amount of work per step, the rest following as nodes finish."""
    cdef uint32_t i
    while r.ready_count and r.inflight < max_inflight:
        i = r.ready[r.ready_head]
        r.ready_head = r.ready_head + 1 if r.ready_head + 1 < r.wf.nnodes else 0
        r.ready_count -= 1
        if r.state[i] == PENDING:
            dispatch_node(r, i)

cdef void dispatch_node(Run* r, uint32_t i) noexcept nogil:
    cdef NodeDesc* nd = &r.wf.nodes[i]
    cdef Event* e = guide.event_for(r.owner, 0, hal.rdtsc()) if r.owner != NULL else NULL
    if e == NULL:                                      # (its input comes from the graph or other nodes)
        fail_node(r, i, guide.refusal(), abi.DECK_EXECUTION)
        return
    e.run_id = r.id
    e.node = i
    e.h.event_id = r.event_id
    e.h.workflow_id = r.wf.id
    e.h.opcode = nd.opcode
    e.h.route_len = nd.route_len
    memcpy(e.h.route, nd.route, abi.ROUTE_MAX)
    memcpy(e.h.arg, nd.args, sizeof(nd.args))
    if nd.flags & abi.NODE_ARG_VALUE:              # (check_node made sure it has a dependency)
        e.h.arg[0] = r.values[r.wf.deps[nd.deps_first]]
    if nd.flags & abi.NODE_OUTPUT_PTR:
        e.h.flags |= abi.EVF_OUTPUT_PTR
    e.result_flags = abi.RF_NODE
    r.state[i] = RUNNING
    r.inflight += 1
    if tracing[0]:
        trace.record(trace.TR_NODE, e.id, r.id, r.wf.pid, <uint16_t>i, guide.NO_DECK, nd.opcode)
    if not node_input(r, nd, e):
        e.status = abi.E_NOMEM
    guide.dispatch(e)

cdef void trace_graph(Run* r) noexcept nogil:
    """The run's start and every dependency edge, so a trace can draw the DAG."""
    cdef Workflow* w = r.wf
    cdef uint32_t i, k
    if not trace.enabled():
        return
    trace.record(trace.TR_RUN_START, 0, r.id, w.pid, 0, guide.NO_DECK, w.id)
    for i in range(w.nnodes):
        for k in range(w.nodes[i].deps_first, w.nodes[i].deps_first + w.nodes[i].ndeps):
            trace.record(trace.TR_EDGE, 0, r.id, w.pid, <uint16_t>i, guide.NO_DECK, w.deps[k])

cdef int hold_room(Event* e, uint32_t need) noexcept nogil:
    """Make e hold exactly `need` ResultRing slots.  The event reserved
    them when it was taken, unless the graph changed since (registered in
    the same SUBMIT): then it asks for the difference now."""
    cdef Process* p = proc.find(e.pid)
    cdef uint32_t extra = 0
    if p == NULL:
        return abi.E_NOENT
    if need > p.results.size:
        return abi.E_TOOBIG                     # more emitting nodes than the ResultRing has slots
    if e.cq > need:
        extra = e.cq - need
        results.release(p, &extra)
        e.cq = need
    elif e.cq < need:
        if not results.reserve(p, need - e.cq):
            return abi.E_AGAIN                  # read completions, then run it again
        e.cq = need
    return abi.E_OK

cdef int start(Event* e) noexcept nogil:
    cdef Workflow* w = <Workflow*>hashmap.get(&workflows, key(e.pid, e.h.workflow_id))
    cdef Run* r
    cdef uint32_t i
    cdef int err
    if w == NULL:
        return abi.E_NOENT
    if w.run_id != 0:
        return abi.E_BUSY
    err = hold_room(e, 1 + w.emitting)
    if err != abi.E_OK:
        return err
    r = new_run(w)
    if r == NULL:
        return abi.E_NOMEM
    results.hand_over(&e.cq, &r.cq, 1 + w.emitting)
    r.event_id = e.h.event_id
    trace_graph(r)
    for i in range(w.nnodes):
        if w.nodes[i].ndeps == 0:
            make_ready(r, i)
    dispatch_ready(r)
    complete_if_finished(r)                 # every root may have failed to dispatch
    return abi.E_OK

# ---- completion -----------------------------------------------------------------------
cdef void post_node(Run* r, Event* e) noexcept nogil:
    cdef Process* p
    cdef Completion c
    if not (r.wf.nodes[e.node].flags & abi.NODE_EMIT):
        return
    p = r.owner
    if p != NULL:
        guide.completion(e, p, &c)
        publish(p, &c, &r.cq)

cdef void post_cancelled(Run* r, uint32_t i) noexcept nogil:
    cdef Process* p
    cdef Completion c
    if not (r.wf.nodes[i].flags & abi.NODE_EMIT):
        return
    p = proc.find(r.wf.pid)
    if p == NULL:
        return
    memset(&c, 0, sizeof(c))
    c.event_id = r.event_id
    c.opcode = r.wf.nodes[i].opcode
    c.flags = abi.RF_NODE | abi.RF_CANCELLED
    c.status = abi.E_CANCELLED
    c.node = <uint16_t>i
    c.deck = r.error_deck
    publish(p, &c, &r.cq)

cdef void cancel_descendants(Run* r, uint32_t i) noexcept nogil:
    """Depth first over an explicit stack (r.work, one slot per node): a node
    leaves PENDING before it is pushed, so none is pushed twice."""
    cdef Workflow* w = r.wf
    cdef uint32_t k, c, top = 1
    r.work[0] = i
    while top > 0:
        top -= 1
        i = r.work[top]
        for k in range(w.child_start[i], w.child_start[i + 1]):
            c = w.children[k]
            if r.state[c] == PENDING:
                r.state[c] = CANCELLED
                r.ncancelled += 1
                post_cancelled(r, c)
                r.work[top] = c
                top += 1

cdef void fail_node(Run* r, uint32_t i, int status, uint8_t deck) noexcept nogil:
    r.state[i] = FAILED
    r.nfailed += 1
    if r.first_error == 0:
        r.first_error = status
        r.error_node = <uint16_t>i
        r.error_deck = deck
    cancel_descendants(r, i)

cdef void complete(Run* r) noexcept nogil:
    """The summary: value = done | failed << 16 | cancelled << 32 (each at
    most the graph's u16 node count)."""
    cdef Process* p = proc.find(r.wf.pid)
    cdef Completion c
    trace.record(trace.TR_RUN_END, 0, r.id, r.wf.pid, 0, guide.NO_DECK, <uint32_t>r.first_error)
    r.wf.runs += 1
    if p != NULL:
        memset(&c, 0, sizeof(c))
        c.event_id = r.event_id
        c.opcode = abi.OP_WF_RUN
        c.flags = abi.RF_WORKFLOW
        c.status = r.first_error
        c.node = r.error_node
        c.deck = r.error_deck if r.first_error else abi.DECK_EXECUTION
        c.value = r.ndone | (<uint64_t>r.nfailed << 16) | (<uint64_t>r.ncancelled << 32)
        c.attempts = 1
        publish(p, &c, &r.cq)
    free_run(r)

cdef void complete_if_finished(Run* r) noexcept nogil:
    if r.ndone + r.nfailed + r.ncancelled == r.wf.nnodes:
        complete(r)

cdef uint64_t backoff_ticks(NodeDesc* nd, uint32_t attempt) noexcept nogil:
    cdef uint64_t ms = <uint64_t>nd.backoff_ms << (attempt - 1 if attempt > 0 else 0)
    if ms > MAX_BACKOFF_MS:
        ms = MAX_BACKOFF_MS
    return (ms * pit.hz() + 999) / 1000

cdef void keep_output(Run* r, uint32_t i, Event* e) noexcept nogil:
    r.output_lens[i] = e.output_len
    r.outputs[i] = guide.take_output(e)
    if r.outputs[i] == NULL and e.output_len:  # the inline scalar: copied, the event goes away
        r.scalars[i] = e.scalar
        r.outputs[i] = <uint8_t*>&r.scalars[i]

cdef void drop_read_outputs(Run* r, NodeDesc* nd) noexcept nogil:
    """A node is finished: the outputs it was the last to need go now, so a
    long pipeline (httpd's upload: recv -> write, piece by piece) holds a
    piece or two at a time, not all of them until the run ends."""
    cdef uint32_t k, d
    for k in range(nd.deps_first, nd.deps_first + nd.ndeps):
        d = r.wf.deps[k]
        r.readers[d] -= 1
        if r.readers[d] == 0 and r.outputs[d] != <uint8_t*>&r.scalars[d]:
            heap.kfree(r.outputs[d])
            r.outputs[d] = NULL
            r.output_lens[d] = 0

cdef void node_finished(Event* e) noexcept nogil:
    cdef Run* r = <Run*>hashmap.get(&runs, e.run_id)
    cdef NodeDesc* nd
    cdef Workflow* w
    cdef uint32_t i = e.node, k, c
    cdef int status
    cdef uint8_t deck
    if r == NULL:                               # its process is gone
        guide.release(e)
        return
    w = r.wf
    nd = &w.nodes[i]
    if e.status == abi.E_AGAIN and e.attempts < nd.max_retries:
        e.attempts += 1                         # transient: run it again, later
        e.status = abi.E_OK
        e.fail_deck = guide.NO_DECK
        guide.set_output(e, NULL, 0)
        if guide.defer(e, backoff_ticks(nd, e.attempts), True):
            return
        e.fail_deck = abi.DECK_EXECUTION        # no timer left for the backoff: E_QUOTA
    post_node(r, e)
    status, deck = e.status, e.fail_deck
    r.values[i] = e.value
    if status >= 0 and w.child_start[i] != w.child_start[i + 1]:
        keep_output(r, i, e)                    # for its dependents
    guide.release_of(e, r.owner)                # this node is finished before any dependent starts
    r.inflight -= 1
    drop_read_outputs(r, nd)
    if status < 0:
        fail_node(r, i, status, deck if deck != guide.NO_DECK else abi.DECK_EXECUTION)
    else:
        r.state[i] = DONE
        r.ndone += 1
        for k in range(w.child_start[i], w.child_start[i + 1]):
            c = w.children[k]
            if r.state[c] == PENDING:
                r.remaining[c] -= 1
                if r.remaining[c] == 0:
                    make_ready(r, c)
    dispatch_ready(r)
    complete_if_finished(r)

cdef void drop_process(Process* p) noexcept nogil:
    """Forget p's workflows; their running nodes find no run and are dropped."""
    cdef Workflow* w
    while not lists.empty(&p.workflows):
        w = <Workflow*>p.workflows.head
        lists.remove(&p.workflows, &w.link)
        hashmap.remove(&workflows, key(w.pid, w.id))
        if w.run_id != 0:
            free_run(<Run*>hashmap.get(&runs, w.run_id))
        free_workflow(w)

def py_validate(bytes graph, uint32_t limit_nodes=DEFAULT_MAX_NODES, uint64_t limit_bytes=DEFAULT_MAX_BYTES,
                uint64_t limit_edges=DEFAULT_MAX_EDGES):
    return validate(<const uint8_t*><const char*>graph, len(graph), limit_nodes, limit_bytes, limit_edges, NULL)
