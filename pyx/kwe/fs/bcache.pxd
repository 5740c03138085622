# A block cache with transactions, for TagFS.
#
# Blocks are read through the cache and changed in place in it; changed
# blocks stay dirty until commit() hands them to the journal as one
# transaction.  Each filesystem operation is also all-or-nothing: between
# begin_op() and end_op(ok=False) every block it touched is put back as it
# was.  Clean blocks beyond `cap` are evicted between operations.
#
# Blocks are typed: a caller says what it expects a block to be (its kind,
# and a tag: the tree of a B+tree node, the CRC of a data block).  A block
# read from the disk is checked once, by the cache's verify function, before
# anyone sees it; from then on it is known as that kind and tag, and asking
# for it as something else checks it again (or fails, if it was changed in
# memory).  Every failed check is counted in `faults`.  At commit every
# dirty block is handed to `seal` first, which writes its checksum.
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from kwe.common.list cimport ListNode, List
from kwe.dev.blockdev cimport BlockDev
from kwe.lib.hashmap cimport HashMap, Entry

cdef enum:
    KIND_RAW = 0                # unchecked: anything goes (tests, unknown)
    KIND_DATA = 1               # file contents; tag: the CRC its metadata records
    KIND_NODE = 2               # a B+tree node; tag: its tree
    KIND_BITMAP = 3             # allocation bitmap
    KIND_SUPER = 4              # the superblock

ctypedef bint (*VerifyFn)(void* ctx, uint64_t bno, uint8_t kind, uint32_t tag, const uint8_t* data) noexcept nogil
# Seal a dirty block before it is journaled: write its checksum if its kind
# carries one; return the sum that covers the whole block, and where that
# sum's field is (checksum.NO_FIELD: none, the sum is of every byte).
ctypedef uint32_t (*SealFn)(void* ctx, uint64_t bno, uint8_t kind, uint32_t tag, uint8_t* data,
                            uint32_t* field) noexcept nogil

cdef struct CBlock:
    ListNode node               # first, so the LRU's nodes are the blocks
    ListNode dirty_node         # second, right after it: on Cache.dirty while dirty (dirty_block())
    uint64_t bno
    uint8_t* data
    bint dirty
    uint8_t kind                # what it is known to be (KIND_RAW: not checked yet)
    uint32_t tag
    uint64_t saved_op           # the operation whose undo already holds its old contents
    uint64_t used               # Cache.uses when it last went to the LRU's front
    Entry entry                 # its place in Cache.map: no allocation of its own

cdef struct Undo:               # a block's state before the current operation
    uint64_t bno
    uint8_t* data               # NULL: it was not cached
    bint dirty
    uint8_t kind
    uint32_t tag
    Undo* next

cdef struct Cache:
    BlockDev* dev
    HashMap map
    List lru                    # every cached block, most recent first
    List dirty                  # the dirty ones, so a commit need not walk the whole cache
    uint64_t ndirty
    uint64_t cap
    Undo* undo
    bint in_op
    uint64_t op                 # operations begun so far (numbers CBlock.saved_op)
    uint64_t epoch              # operations begun or ended: what a B+tree's leaf hint was good for
    uint64_t reads, hits, commits
    bint out_of_memory          # a block could not be cached: tells E_NOMEM from E_IO
    VerifyFn verify             # NULL: nothing is checked
    SealFn seal
    void* ctx
    uint64_t drops              # blocks given up, remade (fresh) or retyped so far: while it
                                # stays the same, a pointer from get() still means what it did
    uint64_t faults             # failed checks (kind, tag, checksum or contents)
    uint64_t bad_bno            # the last block that failed one
    uint64_t uses               # blocks put at the LRU's front so far

cdef bint init(Cache* c, BlockDev* dev, uint64_t cap) noexcept nogil
cdef void destroy(Cache* c) noexcept nogil          # drops everything, dirty or not
# Read access to a block that must be `kind` with `tag`; NULL on an I/O
# error, a block beyond the device, or a failed check (faults counts those).
cdef const uint8_t* get(Cache* c, uint64_t bno, uint8_t kind, uint32_t tag) noexcept nogil
# Write access (the block becomes dirty), after the same check; fresh: do
# not read, start zeroed, as this kind and tag.
cdef uint8_t* modify(Cache* c, uint64_t bno, uint8_t kind, uint32_t tag) noexcept nogil
cdef uint8_t* fresh(Cache* c, uint64_t bno, uint8_t kind, uint32_t tag) noexcept nogil
# Ask the CPU for what a get() of bno will touch, a stage at a time, without
# waiting for any of it: 0, its hash slot; 1, its record (the slot read);
# 2, the block's first and last lines (the record read).  A scan calls the
# stages for the leaves two, one and no steps before it needs them.
cdef void warm(Cache* c, uint64_t bno, int stage) noexcept nogil
cdef void retag(Cache* c, uint64_t bno, uint32_t tag) noexcept nogil     # its contents changed
cdef void fault(Cache* c, uint64_t bno) noexcept nogil     # a caller found bno inconsistent
cdef void begin_op(Cache* c) noexcept nogil
cdef void end_op(Cache* c, bint ok) noexcept nogil
# Seal, journal and write home every dirty block (journal: jblocks at jstart), as txid.
cdef int commit(Cache* c, uint64_t jstart, uint64_t jblocks, uint64_t txid, uint32_t seed) noexcept nogil
cdef void trim(Cache* c) noexcept nogil            # evict clean blocks over cap
cdef void drop_clean(Cache* c) noexcept nogil      # evict every clean block
