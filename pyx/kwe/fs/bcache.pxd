# A block cache with transactions, for TagFS.
#
# Blocks are read through the cache and changed in place in it; changed
# blocks stay dirty until commit() hands them to the journal as one
# transaction.  Each filesystem operation is also all-or-nothing: between
# begin_op() and end_op(ok=False) every block it touched is put back as it
# was.  Clean blocks beyond `cap` are evicted between operations.
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from kwe.common.list cimport ListNode, List
from kwe.dev.blockdev cimport BlockDev
from kwe.lib.hashmap cimport HashMap

cdef struct CBlock:
    ListNode node               # first, so the LRU's nodes are the blocks
    uint64_t bno
    uint8_t* data
    bint dirty

cdef struct Undo:               # a block's state before the current operation
    uint64_t bno
    uint8_t* data               # NULL: it was not cached
    bint dirty
    Undo* next

cdef struct Cache:
    BlockDev* dev
    HashMap map
    List lru                    # every cached block, most recent first
    uint64_t ndirty
    uint64_t cap
    Undo* undo
    bint in_op
    uint64_t reads, hits, commits
    bint out_of_memory          # a block could not be cached: tells E_NOMEM from E_IO

cdef bint init(Cache* c, BlockDev* dev, uint64_t cap) noexcept nogil
cdef void destroy(Cache* c) noexcept nogil          # drops everything, dirty or not
# Read access; NULL on an I/O error or a block beyond the device.
cdef const uint8_t* get(Cache* c, uint64_t bno) noexcept nogil
# Write access (the block becomes dirty); fresh: do not read, start zeroed.
cdef uint8_t* modify(Cache* c, uint64_t bno) noexcept nogil
cdef uint8_t* fresh(Cache* c, uint64_t bno) noexcept nogil
cdef void begin_op(Cache* c) noexcept nogil
cdef void end_op(Cache* c, bint ok) noexcept nogil
# Journal and write home every dirty block (journal: jblocks at jstart), as txid.
cdef int commit(Cache* c, uint64_t jstart, uint64_t jblocks, uint64_t txid) noexcept nogil
cdef void trim(Cache* c) noexcept nogil            # evict clean blocks over cap
cdef void drop_clean(Cache* c) noexcept nogil      # evict every clean block
