# See bcache.pxd.
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset
from kwe.dev cimport blockdev
from kwe.lib cimport hashmap
from kwe.mm cimport heap, pmm
from kwe.fs cimport journal
from kwe.base cimport hal
from kwe.dev.blockdev cimport BlockDev, BLOCK

cdef bint init(Cache* c, BlockDev* dev, uint64_t cap) noexcept nogil:
    memset(c, 0, sizeof(Cache))
    c.dev = dev
    c.cap = cap if cap else 1024
    return hashmap.init(&c.map, 256)

# ---- the LRU list ----------------------------------------------------------------------
cdef void unlink(Cache* c, CBlock* b) noexcept nogil:
    if b.prev != NULL:
        b.prev.next = b.next
    else:
        c.head = b.next
    if b.next != NULL:
        b.next.prev = b.prev
    else:
        c.tail = b.prev
    b.prev = b.next = NULL

cdef void push_front(Cache* c, CBlock* b) noexcept nogil:
    b.prev = NULL
    b.next = c.head
    if c.head != NULL:
        c.head.prev = b
    else:
        c.tail = b
    c.head = b

cdef uint8_t* page() noexcept nogil:
    """A block's memory: one whole page (4 KiB, no heap header)."""
    cdef uint64_t pa = pmm.alloc_page()
    return <uint8_t*>hal.phys_to_virt(pa) if pa else NULL

cdef void free_page(uint8_t* p) noexcept nogil:
    if p != NULL:
        pmm.free_page(hal.virt_to_phys(p))

cdef void drop(Cache* c, CBlock* b) noexcept nogil:
    unlink(c, b)
    hashmap.remove(&c.map, b.bno)
    if b.dirty:
        c.ndirty -= 1
    c.count -= 1
    free_page(b.data)
    heap.kfree(b)

cdef void destroy(Cache* c) noexcept nogil:
    while c.head != NULL:
        drop(c, c.head)
    hashmap.destroy(&c.map)
    end_op(c, True)

# ---- access --------------------------------------------------------------------------------
cdef CBlock* lookup(Cache* c, uint64_t bno, bint read_it) noexcept nogil:
    cdef CBlock* b = <CBlock*>hashmap.get(&c.map, bno)
    if b != NULL:
        c.hits += 1
        if c.head != b:
            unlink(c, b)
            push_front(c, b)
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
    if (read_it and blockdev.read(c.dev, bno, 1, b.data) != 0) or not hashmap.put(&c.map, bno, b):
        free_page(b.data)
        heap.kfree(b)
        return NULL
    if read_it:
        c.reads += 1
    b.bno = bno
    push_front(c, b)
    c.count += 1
    return b

cdef const uint8_t* get(Cache* c, uint64_t bno) noexcept nogil:
    cdef CBlock* b = lookup(c, bno, True)
    return b.data if b != NULL else NULL

cdef bint save_undo(Cache* c, uint64_t bno, CBlock* b) noexcept nogil:
    """Remember bno's state before this operation first changes it."""
    cdef Undo* u = c.undo
    if not c.in_op:
        return True
    while u != NULL:
        if u.bno == bno:
            return True
        u = u.next
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
        u.dirty = b.dirty
    u.next = c.undo
    c.undo = u
    return True

cdef void make_dirty(Cache* c, CBlock* b) noexcept nogil:
    if not b.dirty:
        b.dirty = True
        c.ndirty += 1

cdef uint8_t* modify(Cache* c, uint64_t bno) noexcept nogil:
    cdef CBlock* b = lookup(c, bno, True)
    if b == NULL or not save_undo(c, bno, b):
        return NULL
    make_dirty(c, b)
    return b.data

cdef uint8_t* fresh(Cache* c, uint64_t bno) noexcept nogil:
    cdef CBlock* b = <CBlock*>hashmap.get(&c.map, bno)
    if not save_undo(c, bno, b):
        return NULL
    if b == NULL:
        b = lookup(c, bno, False)
        if b == NULL:
            return NULL
    memset(b.data, 0, BLOCK)
    make_dirty(c, b)
    return b.data

# ---- operations and transactions -----------------------------------------------------------
cdef void begin_op(Cache* c) noexcept nogil:
    c.in_op = True

cdef void end_op(Cache* c, bint ok) noexcept nogil:
    cdef Undo* u
    cdef CBlock* b
    while c.undo != NULL:
        u = c.undo
        c.undo = u.next
        if not ok:
            b = <CBlock*>hashmap.get(&c.map, u.bno)
            if b != NULL and u.data == NULL:
                drop(c, b)                          # it was not there before
            elif b != NULL:
                memcpy(b.data, u.data, BLOCK)
                if b.dirty and not u.dirty:
                    b.dirty = False
                    c.ndirty -= 1
        free_page(u.data)
        heap.kfree(u)
    c.in_op = False

cdef int commit(Cache* c, uint64_t jstart, uint64_t jblocks, uint64_t txid) noexcept nogil:
    cdef uint64_t* homes
    cdef uint8_t** blocks
    cdef CBlock* b = c.head
    cdef uint32_t n = 0
    cdef int err
    if c.ndirty == 0:
        return journal.JOURNAL_OK
    homes = <uint64_t*>heap.kmalloc(c.ndirty * 8)
    blocks = <uint8_t**>heap.kmalloc(c.ndirty * sizeof(uint8_t*))
    if homes == NULL or blocks == NULL:
        heap.kfree(homes)
        heap.kfree(blocks)
        return journal.JOURNAL_IO
    while b != NULL:
        if b.dirty:
            homes[n] = b.bno
            blocks[n] = b.data
            n += 1
        b = b.next
    err = journal.commit(c.dev, jstart, jblocks, txid, homes, blocks, n)
    if err == journal.JOURNAL_OK:
        b = c.head
        while b != NULL:
            b.dirty = False
            b = b.next
        c.ndirty = 0
        c.commits += 1
    heap.kfree(homes)
    heap.kfree(blocks)
    return err

cdef void drop_clean(Cache* c) noexcept nogil:
    cdef uint64_t cap = c.cap
    c.cap = 0
    trim(c)
    c.cap = cap

cdef void trim(Cache* c) noexcept nogil:
    cdef CBlock* b = c.tail
    cdef CBlock* prev
    while c.count > c.cap and b != NULL:
        prev = b.prev
        if not b.dirty:
            drop(c, b)
        b = prev
