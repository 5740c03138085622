# The workflow engine.  A workflow is a DAG of nodes (abi.NodeDesc), each
# an event with its route, its dependencies and where its input comes from
# (graph data, one dependency's output, or all of them concatenated).
# Registering checks the graph (cycles, unknown nodes, bad routes, sizes
# over wf_max_nodes / wf_max_bytes / wf_max_edges).  A run dispatches every node whose
# dependencies are all done, so independent nodes are in flight together;
# a node that fails with E_AGAIN is retried up to its max_retries with
# exponential backoff; a node that fails for good cancels all of its
# descendants while independent branches go on.  The run's summary result
# carries the first failure's node, deck and code.
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from kwe.events.guide cimport Event
from kwe.tasks.proc cimport Process
from kwe.mm.account cimport Account

cdef enum:
    DEFAULT_MAX_NODES = 4096
    DEFAULT_MAX_BYTES = 1 << 20
    DEFAULT_MAX_EDGES = 65536       # dependency entries named by all nodes together
    DEFAULT_MAX_INFLIGHT = 64       # a run's nodes in the Guide at once (wf_max_inflight=)
    MAX_RETRIES = 16
    MAX_BACKOFF_MS = 60000

cdef void init() noexcept nogil
# Check a graph without registering it (E_OK or the reason).
cdef int validate(const uint8_t* blob, uint64_t n, uint32_t max_nodes, uint64_t max_bytes,
                  uint64_t max_edges, Account* a) noexcept nogil     # scratch charged to a
cdef int register(Event* e) noexcept nogil      # OP_WF_REGISTER: e.input is the graph
cdef int start(Event* e) noexcept nogil         # OP_WF_RUN
cdef int unregister(uint32_t pid, uint32_t wf) noexcept nogil
# A node's event reached Execution (the engine takes it over).
cdef void node_finished(Event* e) noexcept nogil
# -1: no such workflow; 0: registered, not running; 1: running.
cdef int state(uint32_t pid, uint32_t wf) noexcept nogil
# Forget p's workflows and runs (at exit; never allocates).
cdef void drop_process(Process* p) noexcept nogil
cdef uint64_t registered() noexcept nogil
cdef uint64_t running() noexcept nogil          # runs started and not finished
