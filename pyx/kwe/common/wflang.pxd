# The workflow language (docs/workflows.md): a workflow as text, read into
# nodes and lowered to the ABI's graph (OP_WF_REGISTER's input).  One parser
# for everyone: user programs link it (sh's `wf run`), and the host tool
# (tools/kwe wf) checks files with the same code before they go on a disk.
#
#   node split = nop      data "some text"
#   node crc   = crc32    from split
#   node slow  = flaky    args 2 retries 3 backoff 10 after crc
#
# A node names only nodes defined above it, so every file is a DAG.  Errors
# say where: Wfl.line and Wfl.col (1-based; columns count bytes) and Wfl.msg.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from kwe.common.abi cimport NodeDesc

cdef enum:
    WFL_NAME_MAX = 32           # a node's name, NUL included
    WFL_PARENTS_MAX = 16        # from + after, per node
    WFL_RETRIES_MAX = 16        # what the kernel allows (kwe.events.workflow MAX_RETRIES)
    WFL_MSG_MAX = 160

cdef enum:                      # WflNode.input
    WFL_IN_NONE = 0
    WFL_IN_DATA = 1             # data "..." : bytes in Wfl.data
    WFL_IN_FROM = 2             # from A [B ...]: the parents' outputs, concatenated
    WFL_IN_FILE = 3             # file "QUERY": the one file the query matches

cdef struct WflNode:
    char name[WFL_NAME_MAX]
    uint16_t opcode
    uint8_t input               # WFL_IN_*
    uint8_t nfrom               # parents[0:nfrom] give the input ...
    uint8_t nafter              # ... parents[nfrom:nfrom+nafter] only come first
    uint8_t nargs               # 0..2: how many `args` were written
    uint8_t retries
    uint16_t backoff_ms
    uint16_t parents[WFL_PARENTS_MAX]
    uint32_t data_off           # WFL_IN_DATA: the bytes; WFL_IN_FILE: the query
    uint32_t data_len
    uint64_t args[2]
    uint32_t line               # where `node` was written
    uint32_t col

cdef struct Wfl:
    WflNode* nodes              # the caller's memory: at most cap nodes ...
    uint32_t cap
    uint32_t n
    uint8_t* data               # ... and data_cap bytes of strings
    uint32_t data_cap
    uint32_t data_len
    uint32_t line               # the first error: where, and what
    uint32_t col
    char msg[WFL_MSG_MAX]

cdef void init(Wfl* w, WflNode* nodes, uint32_t cap, uint8_t* data, uint32_t data_cap) noexcept nogil
# Read text[0:n] into w: E_OK, or E_INVAL (a mistake in the text) / E_TOOBIG
# (over cap or data_cap) with w.line, w.col and w.msg set.
cdef int parse(Wfl* w, const uint8_t* text, uint64_t n) noexcept nogil
# The canonical text of w (one node per line, clauses in one order) into
# out; its whole length, as snprintf does (out is cut at cap - 1 and ends in NUL).
cdef uint64_t format(Wfl* w, char* out, uint64_t cap) noexcept nogil
# The node called name, or -1.
cdef int find(Wfl* w, const char* name, size_t n) noexcept nogil
# The operation's name in the language, or NULL when the language has none.
cdef const char* op_name(uint16_t opcode) noexcept nogil
# d cleared to a node of opcode on its default route: the opcode's deck,
# then Execution (user.wf's builder makes its nodes so too).
cdef void describe(NodeDesc* d, uint16_t opcode) noexcept nogil
# How many nodes lower() makes: one per node, one more per `file` input.
cdef uint32_t lowered_nodes(Wfl* w) noexcept nogil
# The ABI graph of w into out (its length, 0 if it does not fit).  Every
# node emits; node i of w is node i of the graph, and the k-th `file` input
# is an OP_FS_GET of file_ids[k] at index w.n + k.  With outs, node i's
# output goes to outs + i * out_cap (out_cap bytes at most).
cdef uint64_t lower(Wfl* w, const uint64_t* file_ids, uint8_t* outs, uint64_t out_cap,
                    uint8_t* out, uint64_t cap) noexcept nogil
