# Building and running workflows from a user program.
#
#   g.init(nodes, 16, data, 1024)
#   split = wf.add(&g, abi.OP_NOP);        wf.input_data(&g, split, text, n)
#   crc   = wf.add(&g, abi.OP_CRC32);      wf.input_from(&g, crc, split); wf.emit(&g, crc)
#   n = wf.encode(&g, blob, sizeof(blob)); wf.register(7, blob, n)
#   wf.run(7, &summary, on_node)           # node results to on_node as they finish
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from kwe.common.abi cimport NodeDesc, Completion

cdef enum:
    WF_MAX_DEPS = 16            # per node, in this builder (the kernel has no such limit)

cdef struct WfNode:
    NodeDesc d
    uint16_t deps[WF_MAX_DEPS]

cdef struct Graph:
    WfNode* nodes
    uint32_t cap
    uint32_t n
    uint8_t* data
    uint32_t data_cap
    uint32_t data_len
    bint overflow               # a capacity was exceeded: encode() refuses

ctypedef void (*NodeHandler)(Completion* r) noexcept nogil

cdef void init(Graph* g, WfNode* nodes, uint32_t cap, uint8_t* data, uint32_t data_cap) noexcept nogil
# A node with the opcode's default route; its index, or -1 when full.
cdef int add(Graph* g, uint16_t opcode) noexcept nogil
cdef void route(Graph* g, int node, const uint8_t* r, uint8_t n) noexcept nogil
cdef void after(Graph* g, int node, int dep) noexcept nogil
cdef void input_data(Graph* g, int node, const void* p, uint32_t n) noexcept nogil
cdef void input_from(Graph* g, int node, int dep) noexcept nogil
cdef void input_parents(Graph* g, int node) noexcept nogil
cdef void args(Graph* g, int node, uint64_t a0, uint64_t a1) noexcept nogil
# node's arg[0] is dep's value (a file id, an fd) when it runs: NODE_ARG_VALUE.
cdef void arg_value(Graph* g, int node, int dep) noexcept nogil
cdef void retry(Graph* g, int node, uint8_t max_retries, uint16_t backoff_ms) noexcept nogil
cdef void emit(Graph* g, int node) noexcept nogil
# Where an emitting node's output goes (else only its length is reported).
cdef void output(Graph* g, int node, void* buf, uint64_t cap) noexcept nogil
# The graph in the ABI's wire format; its length, or 0 if it does not fit.
cdef uint64_t encode(Graph* g, uint8_t* out, uint64_t cap) noexcept nogil
cdef int register(uint32_t wf_id, const uint8_t* blob, uint64_t n) noexcept nogil
cdef int unregister(uint32_t wf_id) noexcept nogil
# Start a run and wait for its summary (RF_WORKFLOW) in `summary`; node
# results go to on_node (may be NULL).  Returns the summary's status.
cdef int run(uint32_t wf_id, Completion* summary, NodeHandler on_node) noexcept nogil
