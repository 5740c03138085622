# B+trees of uint64 keys with fixed-size values, one node per 4 KiB block
# of a bcache.Cache, for TagFS's indexes.  Internal node: keys[i] is the
# smallest key under children[i + 1].  Leaves are chained left to right, so
# a range is one descent and then a walk.  Deleting does not rebalance:
# leaves may go empty, and scans step over them.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from kwe.fs.bcache cimport Cache

ctypedef uint64_t (*AllocFn)(void* ctx) noexcept nogil     # a fresh block, 0 if none

cdef enum:
    BT_OK = 0
    BT_EXISTS = -1
    BT_NOT_FOUND = -2
    BT_NO_SPACE = -3            # no block for a split
    BT_IO = -4
    BT_MAX_DEPTH = 12
    NODE_MAGIC = 0x4E52544B     # "KTRN"

cdef struct Tree:
    Cache* c
    uint64_t root               # 0: empty
    uint32_t vsize
    AllocFn alloc
    void* alloc_ctx

cdef struct Cursor:
    uint64_t leaf               # block of the current leaf (0: at the end)
    uint32_t pos

cdef void init(Tree* t, Cache* c, uint64_t root, uint32_t vsize, AllocFn alloc, void* ctx) noexcept nogil
cdef int insert(Tree* t, uint64_t key, const void* value, bint replace) noexcept nogil
cdef int lookup(Tree* t, uint64_t key, void* value) noexcept nogil       # value may be NULL
cdef int remove(Tree* t, uint64_t key) noexcept nogil
# Position at the first key >= key; next() yields entries in order.
cdef int seek(Tree* t, Cursor* cur, uint64_t key) noexcept nogil
cdef bint next(Tree* t, Cursor* cur, uint64_t* key, void* value) noexcept nogil
cdef uint32_t leaf_capacity(uint32_t vsize) noexcept nogil
