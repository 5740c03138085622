# Bitmaps of dense tags, kept between queries.
#
# A tag on a large share of the files is looked into far more cheaply as one
# bit per file than as its sorted posting list: at a million files a list of
# 400,000 ids is 3.2 MB, which looking into it streams through from memory,
# and its bitmap 125 KB, which stays in the CPU's cache.  A tag on at least
# one file in BITS_DENSE gets a bitmap the first time a query looks into
# it, made from its postings, kept while the postings tree is unchanged (its
# `changes` counter and its root) and within a budget of memory, least
# recently used out first.  Derived data only: nothing of it is on the disk;
# the memory is the kernel's own, like the block cache's, and goes back when
# memory runs short (rootfs.reclaim).  A list holding an id at or past the
# volume's next file id gets no bitmap (the list is read instead).
from libc.stdint cimport uint32_t, uint64_t
from kwe.fs.btree cimport Tree

cdef enum:
    BITS_SLOTS = 32             # bitmaps kept at most
    BITS_DENSE = 16             # a tag on at least 1 file in 16 is dense

cdef struct Bits:
    uint64_t* words             # NULL: a free slot
    uint64_t nbits
    uint32_t tag_id
    uint64_t changes, root      # the postings tree's, when it was made
    uint64_t used               # BitCache.clock at its last use

cdef struct BitCache:
    Bits slot[BITS_SLOTS]
    uint64_t bytes              # held
    uint64_t budget             # held at most
    uint64_t clock
    uint32_t id_bits            # a posting's key: tag id << id_bits | file id

cdef void init(BitCache* bc, uint64_t budget, uint32_t id_bits) noexcept nogil
cdef void drop_all(BitCache* bc) noexcept nogil
# The bitmap of the tag (tag_id, on nfiles files, of ids below universe),
# made now if need be and `make` allows; NULL when the tag is not dense, has
# none and may not get one, there is no room, or its postings could not be
# read (err: E_IO; otherwise E_OK).
cdef const Bits* of_tag(BitCache* bc, Tree* postings, uint32_t tag_id, uint32_t nfiles, uint64_t universe,
                        bint make, int* err) noexcept nogil

cdef inline bint has(const Bits* b, uint64_t id) noexcept nogil:
    return id < b.nbits and (b.words[id >> 6] >> (id & 63)) & 1
