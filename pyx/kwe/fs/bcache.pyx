# See bcache.pxd.
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset
cimport kwe.common.list as lists
from kwe.dev cimport blockdev
from kwe.lib cimport hashmap
from kwe.mm cimport heap, pmm
from kwe.fs cimport journal, checksum
from kwe.base cimport hal, sanitize
from kwe.dev.blockdev cimport BlockDev, BLOCK
from kwe.lib.hashmap cimport Entry

cdef extern from *:
    void __builtin_prefetch(const void* p) nogil

cdef bint init(Cache* c, BlockDev* dev, uint64_t cap) noexcept nogil:
    memset(c, 0, sizeof(Cache))
    c.dev = dev
    c.cap = cap if cap else 1024
    return hashmap.init(&c.map, 256)

# A block fills its page (BLOCK == PAGE_SIZE), so there is no slack after it
# to guard: the next page is someone else's, or free and poisoned by the PMM.
# A dropped block's page goes back to the PMM, poisoned, so a pointer from
# get() or modify() kept past the block's eviction is reported (hosted ASan).
cdef uint8_t* page() noexcept nogil:
    """A block's memory: one whole page (4 KiB, no heap header)."""
    cdef uint64_t pa = pmm.alloc_page()
    return <uint8_t*>hal.phys_to_virt(pa) if pa else NULL

cdef void free_page(uint8_t* p) noexcept nogil:
    if p != NULL:
        pmm.free_page(hal.virt_to_phys(p))

cdef CBlock* dirty_block(ListNode* n) noexcept nogil:
    """The block whose dirty_node n is (it sits right after the LRU node)."""
    return <CBlock*>(<char*>n - sizeof(ListNode))

cdef void make_clean(Cache* c, CBlock* b) noexcept nogil:
    if b.dirty:
        b.dirty = False
        c.ndirty -= 1
        lists.remove(&c.dirty, &b.dirty_node)

cdef void drop(Cache* c, CBlock* b) noexcept nogil:
    c.drops += 1
    lists.remove(&c.lru, &b.node)
    hashmap.remove(&c.map, b.bno)
    make_clean(c, b)
    free_page(b.data)
    heap.kfree(b)

cdef void destroy(Cache* c) noexcept nogil:
    while c.lru.head != NULL:
        drop(c, <CBlock*>c.lru.head)
    hashmap.destroy(&c.map)
    end_op(c, True)

# ---- access --------------------------------------------------------------------------------
cdef CBlock* lookup(Cache* c, uint64_t bno, bint read_it) noexcept nogil:
    cdef CBlock* b = <CBlock*>hashmap.get(&c.map, bno)
    if b != NULL:
        c.hits += 1
        if c.uses - b.used > c.cap / 2:
            lists.remove(&c.lru, &b.node)
            to_front(c, b)
        return b
    if bno >= c.dev.nblocks:
        return NULL
    b = <CBlock*>heap.kzalloc(sizeof(CBlock))
    if b != NULL:
        b.data = page()
    if b == NULL or b.data == NULL:
        c.out_of_memory = True
        if b != NULL:
            heap.kfree(b)
        return NULL
    if (read_it and blockdev.read(c.dev, bno, 1, b.data) != 0) or not hashmap.put_in(&c.map, bno, b, &b.entry):
        free_page(b.data)
        heap.kfree(b)
        return NULL
    if read_it:
        c.reads += 1
    b.bno = bno
    to_front(c, b)
    return b

cdef void to_front(Cache* c, CBlock* b) noexcept nogil:
    """A block just used goes to the LRU's front.  A hit on one that went
    there less than cap/2 uses ago leaves it where it is: it is in the front
    half, far from eviction, and the move would write two neighbours' links
    (a scan of hot blocks then costs no writes)."""
    lists.push_front(&c.lru, &b.node)
    c.uses += 1
    b.used = c.uses

cdef void fault(Cache* c, uint64_t bno) noexcept nogil:
    c.faults += 1
    c.bad_bno = bno

cdef void retype(Cache* c, CBlock* b, uint8_t kind, uint32_t tag) noexcept nogil:
    """b is now known as kind/tag: a pointer to it kept as what it was is stale."""
    if b.kind != kind or b.tag != tag:
        c.drops += 1
    b.kind, b.tag = kind, tag

cdef bint accept(Cache* c, CBlock* b, uint8_t kind, uint32_t tag) noexcept nogil:
    """Is b the kind and tag asked for?  A block only read so far is checked;
    one known as something else is checked again but kept (someone may hold
    it); one changed in memory is what it was written as."""
    if kind == KIND_RAW or (b.kind == kind and b.tag == tag) or c.verify == NULL:
        return True
    if not b.dirty and c.verify(c.ctx, b.bno, kind, tag, b.data):
        retype(c, b, kind, tag)
        return True
    fault(c, b.bno)
    if b.kind == KIND_RAW and not b.dirty:
        drop(c, b)                              # nobody has seen it: do not keep bad bytes
    return False

cdef CBlock* checked(Cache* c, uint64_t bno, uint8_t kind, uint32_t tag) noexcept nogil:
    cdef CBlock* b = lookup(c, bno, True)
    if b == NULL or not accept(c, b, kind, tag):
        return NULL
    return b

cdef const uint8_t* get(Cache* c, uint64_t bno, uint8_t kind, uint32_t tag) noexcept nogil:
    cdef CBlock* b = checked(c, bno, kind, tag)
    return b.data if b != NULL else NULL

cdef void warm(Cache* c, uint64_t bno, int stage) noexcept nogil:
    cdef Entry** slot
    cdef CBlock* b
    if c.map.nbuckets == 0:
        return
    slot = hashmap.bucket(&c.map, bno)
    if stage == 0:
        __builtin_prefetch(slot)
    elif slot[0] != NULL:
        b = <CBlock*>slot[0].value
        if stage == 1:
            __builtin_prefetch(slot[0])
            __builtin_prefetch(b)
        elif slot[0].key == bno and b.data != NULL:
            __builtin_prefetch(b.data)
            __builtin_prefetch(b.data + BLOCK - 64)

cdef void retag(Cache* c, uint64_t bno, uint32_t tag) noexcept nogil:
    cdef CBlock* b = <CBlock*>hashmap.get(&c.map, bno)
    if b != NULL:
        retype(c, b, b.kind, tag)

cdef bint save_undo(Cache* c, uint64_t bno, CBlock* b) noexcept nogil:
    """Remember bno's state before this operation first changes it.  A block
    saved once stays cached (it is dirty) until end_op, so one not cached
    (b NULL) was not saved yet: no list to search, however big the operation."""
    cdef Undo* u
    if not c.in_op or (b != NULL and b.saved_op == c.op):
        return True
    u = <Undo*>heap.kzalloc(sizeof(Undo))
    if u == NULL:
        return False
    u.bno = bno
    if b != NULL:
        u.data = page()
        if u.data == NULL:
            c.out_of_memory = True
            heap.kfree(u)
            return False
        memcpy(u.data, b.data, BLOCK)
        sanitize.poison(u.data, BLOCK)          # only end_op may touch the copy
        u.dirty, u.kind, u.tag = b.dirty, b.kind, b.tag
        b.saved_op = c.op
    u.next = c.undo
    c.undo = u
    return True

cdef void make_dirty(Cache* c, CBlock* b) noexcept nogil:
    if not b.dirty:
        b.dirty = True
        c.ndirty += 1
        lists.push_back(&c.dirty, &b.dirty_node)

cdef uint8_t* modify(Cache* c, uint64_t bno, uint8_t kind, uint32_t tag) noexcept nogil:
    cdef CBlock* b = checked(c, bno, kind, tag)
    if b == NULL or not save_undo(c, bno, b):
        return NULL
    make_dirty(c, b)
    return b.data

cdef uint8_t* fresh(Cache* c, uint64_t bno, uint8_t kind, uint32_t tag) noexcept nogil:
    cdef CBlock* b = <CBlock*>hashmap.get(&c.map, bno)
    if not save_undo(c, bno, b):
        return NULL
    if b == NULL:
        b = lookup(c, bno, False)
        if b == NULL:
            return NULL
        b.saved_op = c.op if c.in_op else 0     # its undo ("not cached") was just taken
    else:
        c.drops += 1                            # new contents: a pointer kept to the old is stale
    memset(b.data, 0, BLOCK)
    b.kind, b.tag = kind, tag
    make_dirty(c, b)
    return b.data

# ---- operations and transactions -----------------------------------------------------------
cdef void begin_op(Cache* c) noexcept nogil:
    c.in_op = True
    c.op += 1
    c.epoch += 1

cdef void end_op(Cache* c, bint ok) noexcept nogil:
    cdef Undo* u
    cdef CBlock* b
    if not ok and c.undo != NULL:
        c.drops += 1                                # blocks go back to what they were
    while c.undo != NULL:
        u = c.undo
        c.undo = u.next
        if u.data != NULL:
            sanitize.unpoison(u.data, BLOCK)
        if not ok:
            b = <CBlock*>hashmap.get(&c.map, u.bno)
            if b != NULL and u.data == NULL:
                drop(c, b)                          # it was not there before
            elif b != NULL:
                memcpy(b.data, u.data, BLOCK)
                b.kind, b.tag = u.kind, u.tag
                if not u.dirty:
                    make_clean(c, b)
        free_page(u.data)
        heap.kfree(u)
    c.in_op = False
    c.epoch += 1

cdef uint32_t seal_one(Cache* c, CBlock* b, uint32_t seed, uint32_t* field) noexcept nogil:
    """The block sealed, and the sum that covers it for the journal."""
    if c.seal != NULL:
        return c.seal(c.ctx, b.bno, b.kind, b.tag, b.data, field)
    field[0] = checksum.NO_FIELD
    return checksum.block_sum(seed, b.bno, b.data, checksum.NO_FIELD)

cdef int commit(Cache* c, uint64_t jstart, uint64_t jblocks, uint64_t txid, uint32_t seed) noexcept nogil:
    cdef journal.Entry* entries
    cdef uint8_t** blocks
    cdef ListNode* d = c.dirty.head
    cdef CBlock* b
    cdef uint32_t n = 0
    cdef int err
    if c.ndirty == 0:
        return journal.JOURNAL_OK
    entries = <journal.Entry*>heap.kmalloc(c.ndirty * sizeof(journal.Entry))
    blocks = <uint8_t**>heap.kmalloc(c.ndirty * sizeof(uint8_t*))
    if entries == NULL or blocks == NULL:
        heap.kfree(entries)
        heap.kfree(blocks)
        return journal.JOURNAL_IO
    while d != NULL:
        b = dirty_block(d)
        entries[n].home = b.bno
        entries[n].sum = seal_one(c, b, seed, &entries[n].field)
        blocks[n] = b.data
        n += 1
        d = d.next
    err = journal.commit(c.dev, jstart, jblocks, txid, seed, entries, blocks, n)
    if err == journal.JOURNAL_OK:
        while c.dirty.head != NULL:
            make_clean(c, dirty_block(c.dirty.head))
        c.commits += 1
    heap.kfree(entries)
    heap.kfree(blocks)
    return err

cdef void drop_clean(Cache* c) noexcept nogil:
    cdef uint64_t cap = c.cap
    c.cap = 0
    trim(c)
    c.cap = cap

cdef void trim(Cache* c) noexcept nogil:
    cdef CBlock* b = <CBlock*>c.lru.tail
    cdef CBlock* prev
    while c.lru.count > c.cap and b != NULL:
        prev = <CBlock*>b.node.prev
        if not b.dirty:
            drop(c, b)
        b = prev

# ---- hosted helpers --------------------------------------------------------
cdef class BlockCache:
    """A block cache on a MemDisk, for hosted tests; blocks by address.
    close() it before the machine is reset (its blocks live in that RAM)."""
    cdef Cache c
    cdef object disk

    def __cinit__(self, disk, uint64_t cap=0):
        self.disk = disk
        if not init(&self.c, <BlockDev*><uint64_t>disk.device(), cap):
            raise MemoryError("block cache")

    def get(self, uint64_t bno):
        return <uint64_t>get(&self.c, bno, KIND_RAW, 0)

    def modify(self, uint64_t bno):
        return <uint64_t>modify(&self.c, bno, KIND_RAW, 0)

    def begin_op(self):
        begin_op(&self.c)

    def end_op(self, bint ok):
        end_op(&self.c, ok)

    def drop_clean(self):
        drop_clean(&self.c)

    def close(self):
        destroy(&self.c)
