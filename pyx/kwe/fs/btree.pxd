# B+trees of uint64 keys with fixed-size values, one node per 4 KiB block
# of a bcache.Cache, for TagFS's indexes.  Internal node: keys[i] is the
# smallest key under children[i + 1].  Deleting does not rebalance: leaves
# may go empty, and scans step over them.
#
# Nothing read from a node is trusted: a node is checked whole when it comes
# from the disk (node_valid: its tree, level, count, key order, children
# inside the data area), and every descent checks that each node's level is
# one below its parent's and its keys inside the parent's range.  Scans do
# not follow sibling pointers (there are none): a leaf to the right is found
# through the current leaf's parent, checked against the parent's keys as a
# descent checks it, or, past the parent's last child, by a fresh descent;
# either way to at least the current leaf's upper bound, which strictly
# grows, so no damaged tree can make a scan loop or go back.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from kwe.fs.bcache cimport Cache

ctypedef uint64_t (*AllocFn)(void* ctx) noexcept nogil     # a fresh block, 0 if none

cdef enum:
    BT_OK = 0
    BT_EXISTS = -1
    BT_NOT_FOUND = -2
    BT_NO_SPACE = -3            # no block for a split
    BT_IO = -4                  # unreadable, or failed a check (the cache counts faults)
    BT_MAX_DEPTH = 12
    NODE_MAGIC = 0x4E52544B     # "KTRN"
    NODE_HEADER = 16
    NODE_SUM_FIELD = 12         # where a node keeps its checksum (kwe.fs.checksum)
    INTERNAL_CAP = (4096 - NODE_HEADER - 4) / 12     # 339 keys, 340 children

cdef struct NodeHeader:
    uint32_t magic
    uint16_t level              # 0: a leaf
    uint16_t count
    uint16_t tree               # which tree it belongs to
    uint16_t reserved
    uint32_t checksum

cdef enum:
    NEAR_NODES = 64             # nodes a tree keeps a pointer to (direct-mapped by block number)

cdef struct Near:
    uint64_t bno
    const uint8_t* data
    uint64_t gen                # the cache's drops counter when data was got

cdef struct Tree:
    Cache* c
    uint64_t root               # 0: empty
    uint32_t vsize
    uint16_t id
    AllocFn alloc
    void* alloc_ctx
    # The leaf the last descent reached and the keys it may hold: the next key
    # in that range needs no descent.  Good while no split changed the shape
    # (version) and no operation began or was rolled back (the cache's epoch).
    uint64_t hint_leaf, hint_lo, hint_hi, hint_version, hint_epoch
    bint hint_bounded
    uint64_t version
    uint64_t changes            # inserts and removals tried (what a kwe.fs.tagbits bitmap was made of)
    uint64_t last_leaf          # where the last insert went: keys in order split
    uint32_t last_pos           # ... their leaf where they arrive (split_point)
    Near near[NEAR_NODES]       # read_node()'s pointers to nodes read recently

cdef struct Cursor:
    uint64_t leaf               # block of the current leaf (0: at the end)
    uint32_t pos
    uint64_t hi                 # every key of the leaf is below hi (if bounded)
    bint bounded                # False: the rightmost leaf
    int err                     # BT_OK, or why the scan stopped early
    # The leaf's parent and its slot there: a leaf to the right under the same
    # parent needs no descent while the tree keeps its shape (version, epoch).
    uint64_t parent             # 0: not known
    uint32_t slot
    uint64_t parent_hi
    bint parent_bounded
    uint64_t version, epoch

cdef void init(Tree* t, Cache* c, uint16_t id, uint64_t root, uint32_t vsize, AllocFn alloc, void* ctx) noexcept nogil
cdef int insert(Tree* t, uint64_t key, const void* value, bint replace) noexcept nogil
cdef int lookup(Tree* t, uint64_t key, void* value) noexcept nogil       # value may be NULL
cdef int remove(Tree* t, uint64_t key) noexcept nogil
# Position at the first key >= key; next() yields entries in order, False
# at the end or on an error (then cur.err is BT_IO).
cdef int seek(Tree* t, Cursor* cur, uint64_t key) noexcept nogil
cdef bint next(Tree* t, Cursor* cur, uint64_t* key, void* value) noexcept nogil
# The keys from the cursor on that its leaf holds below `end`, stepping to
# the next leaf when this one is done: how many (0: the range is done, or
# cur.err says why the scan stopped), and in run[0] where they are -- in the
# cache, good until the tree or the cache changes.  The caller moves cur.pos
# past those it has used.  Scans read leaves in place, a run at a time.
cdef uint32_t run_of(Tree* t, Cursor* cur, uint64_t end, const uint64_t** run) noexcept nogil
# Move forward to the first key >= key (galloping within a leaf, a fresh
# descent only past it); True if that key is `key` itself.  Keys asked for
# must not go down.
cdef bint advance(Tree* t, Cursor* cur, uint64_t key) noexcept nogil
cdef uint32_t leaf_capacity(uint32_t vsize) noexcept nogil
# A node as read from the disk, checksum aside: of tree `tree` (values of
# vsize bytes), a sane level and count, keys strictly ascending, children
# in [lo, hi).
cdef bint node_valid(const uint8_t* n, uint16_t tree, uint32_t vsize, uint64_t lo, uint64_t hi) noexcept nogil
