# See tagbits.pxd.
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memset
from kwe.common cimport abi
from kwe.mm cimport heap
from kwe.fs cimport btree
from kwe.fs.btree cimport Tree, Cursor

cdef void init(BitCache* bc, uint64_t budget, uint32_t id_bits) noexcept nogil:
    memset(bc, 0, sizeof(BitCache))
    bc.budget, bc.id_bits = budget, id_bits

cdef void free_slot(BitCache* bc, Bits* b) noexcept nogil:
    if b.words != NULL:
        heap.kfree(b.words)
        bc.bytes -= ((b.nbits + 63) / 64) * 8
    memset(b, 0, sizeof(Bits))

cdef void drop_all(BitCache* bc) noexcept nogil:
    cdef int i
    for i in range(BITS_SLOTS):
        free_slot(bc, &bc.slot[i])

cdef bint current(const Bits* b, Tree* t) noexcept nogil:
    return b.changes == t.changes and b.root == t.root

cdef Bits* find(BitCache* bc, Tree* t, uint32_t tag_id) noexcept nogil:
    """The tag's bitmap if it is still the postings' (a stale one is freed)."""
    cdef int i
    for i in range(BITS_SLOTS):
        if bc.slot[i].words != NULL and not current(&bc.slot[i], t):
            free_slot(bc, &bc.slot[i])
        elif bc.slot[i].words != NULL and bc.slot[i].tag_id == tag_id:
            return &bc.slot[i]
    return NULL

cdef Bits* room(BitCache* bc, uint64_t bytes) noexcept nogil:
    """A free slot with `bytes` left in the budget, evicting the least
    recently used bitmaps; NULL if even an empty cache could not hold it."""
    cdef int i, oldest
    if bytes > bc.budget:
        return NULL
    while True:
        oldest = -1
        for i in range(BITS_SLOTS):
            if bc.slot[i].words == NULL and bc.bytes + bytes <= bc.budget:
                return &bc.slot[i]
            if bc.slot[i].words != NULL and (oldest < 0 or bc.slot[i].used < bc.slot[oldest].used):
                oldest = i
        if oldest < 0:
            return NULL
        free_slot(bc, &bc.slot[oldest])

cdef int fill(Bits* b, Tree* t, uint32_t id_bits) noexcept nogil:
    """Set the bit of each of the tag's files: E_RANGE for an id past nbits."""
    cdef Cursor cur
    cdef const uint64_t* k
    cdef uint32_t n, i
    cdef uint64_t base = <uint64_t>b.tag_id << id_bits, id
    btree.seek(t, &cur, base)
    while True:
        n = btree.run_of(t, &cur, base + (<uint64_t>1 << id_bits), &k)
        if n == 0:
            return abi.E_IO if cur.err != btree.BT_OK else abi.E_OK
        for i in range(n):
            id = k[i] - base
            if id >= b.nbits:
                return abi.E_RANGE
            b.words[id >> 6] |= <uint64_t>1 << (id & 63)
        cur.pos += n

cdef Bits* make(BitCache* bc, Tree* t, uint32_t tag_id, uint64_t universe, int* err) noexcept nogil:
    cdef uint64_t bytes = ((universe + 63) / 64) * 8
    cdef Bits* b = room(bc, bytes)
    cdef int got
    if b == NULL:
        return NULL
    b.words = <uint64_t*>heap.kzalloc_for(NULL, bytes)
    if b.words == NULL:
        return NULL
    b.nbits, b.tag_id, b.changes, b.root = universe, tag_id, t.changes, t.root
    bc.bytes += bytes
    got = fill(b, t, bc.id_bits)
    if got != abi.E_OK:
        free_slot(bc, b)
        err[0] = abi.E_IO if got == abi.E_IO else abi.E_OK
        return NULL
    return b

cdef const Bits* of_tag(BitCache* bc, Tree* postings, uint32_t tag_id, uint32_t nfiles, uint64_t universe,
                        bint make_one, int* err) noexcept nogil:
    cdef Bits* b
    err[0] = abi.E_OK
    if nfiles == 0 or universe / BITS_DENSE > nfiles:
        return NULL
    b = find(bc, postings, tag_id)
    if b == NULL and make_one:
        b = make(bc, postings, tag_id, universe, err)
    if b != NULL:
        bc.clock += 1
        b.used = bc.clock
    return b
