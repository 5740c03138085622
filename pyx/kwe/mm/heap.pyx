# See heap.pxd.
#
# A slab page starts with a 64-byte header (class, counts, list links and a
# bitmap of allocated slots); slots follow.  A large allocation starts with
# a 64-byte header too, so every pointer handed out is 16-byte aligned and
# its page header says what it is.  Headers are wiped when freed.
from libc.stdint cimport uint16_t, uint32_t, uint64_t
from libc.string cimport memset, memcpy
cimport kwe.common.list as lists
from kwe.common.list cimport ListNode, List
from kwe.base cimport hal
from kwe.mm cimport pmm
from kwe.base.console cimport kprintf

cdef enum:
    HEADER = 64
    CLASSES = 7                  # 16 << 0 .. 16 << 6 = 1024
    MIN_SHIFT = 4
    MAX_SMALL = 1024
    SLAB_MAGIC = 0x51AB5
    LARGE_MAGIC = 0x1A46E

cdef struct Slab:                # 64 bytes, at the start of a slab page
    ListNode node                # first, so partial[]'s nodes are the slabs
    uint32_t magic
    uint16_t cls
    uint16_t nslots
    uint16_t nfree
    uint16_t pad0
    uint32_t pad1
    uint64_t bitmap[4]           # 1 = allocated; 252 slots at most

cdef struct Large:               # 64 bytes, at the start of a large allocation
    uint64_t npages
    uint64_t size                # as requested
    uint32_t magic               # at Slab.magic's offset: neither header passes for the other
    uint32_t pad
    uint64_t pad2[5]

cdef List partial[CLASSES]       # per class, the slabs with at least one free slot
cdef HeapStats st

cdef int class_of(size_t n) noexcept nogil:
    cdef int c = 0
    while (<size_t>16 << c) < n:
        c += 1
    return c

cdef size_t class_size(int c) noexcept nogil:
    return <size_t>16 << c

cdef Slab* new_slab(int c) noexcept nogil:
    cdef uint64_t pa = pmm.alloc_page()
    cdef Slab* s
    if pa == 0:
        return NULL
    s = <Slab*>hal.phys_to_virt(pa)
    memset(s, 0, HEADER)
    s.magic = SLAB_MAGIC
    s.cls = c
    s.nslots = (pmm.PAGE_SIZE - HEADER) / class_size(c)
    s.nfree = s.nslots
    st.slab_pages += 1
    lists.push_front(&partial[c], &s.node)
    return s

cdef void* slab_alloc(int c) noexcept nogil:
    cdef Slab* s = <Slab*>partial[c].head
    cdef int i = 0
    if s == NULL:
        s = new_slab(c)
        if s == NULL:
            return NULL
    for i in range(s.nslots):
        if not (s.bitmap[i >> 6] >> (i & 63)) & 1:
            break
    s.bitmap[i >> 6] |= (<uint64_t>1) << (i & 63)
    s.nfree -= 1
    if s.nfree == 0:
        lists.remove(&partial[c], &s.node)
    return <char*>s + HEADER + i * class_size(c)

cdef void* large_alloc(size_t n) noexcept nogil:
    cdef uint64_t npages = (n + HEADER + pmm.PAGE_SIZE - 1) / pmm.PAGE_SIZE
    cdef uint64_t pa = pmm.alloc_pages(npages)
    cdef Large* l
    if pa == 0:
        return NULL
    l = <Large*>hal.phys_to_virt(pa)
    memset(l, 0, HEADER)
    l.magic = LARGE_MAGIC
    l.npages = npages
    l.size = n
    st.large_pages += npages
    return <char*>l + HEADER

cdef void* kmalloc(size_t n) noexcept nogil:
    cdef void* p
    if n == 0:
        n = 1
    if n > (<size_t>1 << 40):
        return NULL
    p = slab_alloc(class_of(n)) if n <= MAX_SMALL else large_alloc(n)
    if p != NULL:
        st.allocs += 1
        st.bytes_in_use += n if n > MAX_SMALL else class_size(class_of(n))
    return p

cdef void* kzalloc(size_t n) noexcept nogil:
    cdef void* p = kmalloc(n)
    if p != NULL:
        memset(p, 0, n)
    return p

cdef void refuse(void* p, const char* why) noexcept nogil:
    st.bad_frees += 1
    kprintf(b"heap: kfree(%p) refused: %s\n", <uint64_t>p, <uint64_t>why)

cdef Slab* slab_of(void* p, int* slot) noexcept nogil:
    """The slab p belongs to and its slot index, or NULL if p is not a live slab slot."""
    cdef uint64_t page = <uint64_t>p & ~<uint64_t>(pmm.PAGE_SIZE - 1)
    cdef Slab* s = <Slab*>page
    cdef uint64_t off = <uint64_t>p - page
    if s.magic != SLAB_MAGIC or off < HEADER or (off - HEADER) % class_size(s.cls):
        return NULL
    slot[0] = <int>((off - HEADER) / class_size(s.cls))
    if slot[0] >= s.nslots:
        return NULL
    return s

cdef bint plausible(void* p) noexcept nogil:
    """p lies in RAM the PMM hands out and is 16-byte aligned."""
    cdef uint64_t pa
    if p == NULL or (<uint64_t>p & 15):
        return False
    pa = hal.virt_to_phys(p)
    return pmm.is_allocated(pa & ~<uint64_t>(pmm.PAGE_SIZE - 1))

cdef void kfree(void* p) noexcept nogil:
    cdef Slab* s
    cdef Large* l
    cdef int slot
    if p == NULL:
        return
    if not plausible(p):
        refuse(p, b"not a heap pointer")
        return
    if (<uint64_t>p & (pmm.PAGE_SIZE - 1)) == HEADER and (<Large*>(<char*>p - HEADER)).magic == LARGE_MAGIC:
        l = <Large*>(<char*>p - HEADER)
        st.large_pages -= l.npages
        st.bytes_in_use -= l.size
        st.frees += 1
        l.magic = 0
        pmm.free_pages(hal.virt_to_phys(l), l.npages)
        return
    s = slab_of(p, &slot)
    if s == NULL:
        refuse(p, b"not a heap pointer")
        return
    if not (s.bitmap[slot >> 6] >> (slot & 63)) & 1:
        refuse(p, b"double free")
        return
    s.bitmap[slot >> 6] &= ~((<uint64_t>1) << (slot & 63))
    st.frees += 1
    st.bytes_in_use -= class_size(s.cls)
    if s.nfree == 0:
        lists.push_front(&partial[s.cls], &s.node)
    s.nfree += 1
    if s.nfree == s.nslots and partial[s.cls].count > 1:
        release(s)                    # empty, and its class has another slab

cdef void release(Slab* s) noexcept nogil:
    lists.remove(&partial[s.cls], &s.node)
    s.magic = 0
    st.slab_pages -= 1
    pmm.free_page(hal.virt_to_phys(s))

cdef size_t ksize(void* p) noexcept nogil:
    cdef Slab* s
    cdef int slot
    if not plausible(p):
        return 0
    if (<uint64_t>p & (pmm.PAGE_SIZE - 1)) == HEADER and (<Large*>(<char*>p - HEADER)).magic == LARGE_MAGIC:
        return (<Large*>(<char*>p - HEADER)).npages * pmm.PAGE_SIZE - HEADER
    s = slab_of(p, &slot)
    if s == NULL or not (s.bitmap[slot >> 6] >> (slot & 63)) & 1:
        return 0
    return class_size(s.cls)

cdef void* krealloc(void* p, size_t n) noexcept nogil:
    cdef size_t have
    cdef void* q
    if p == NULL:
        return kmalloc(n)
    have = ksize(p)
    if have == 0:
        refuse(p, b"krealloc of a non-heap pointer")
        return NULL
    if n <= have:
        return p
    q = kmalloc(n)
    if q == NULL:
        return NULL
    memcpy(q, p, have if have < n else n)
    kfree(p)
    return q

cdef void trim() noexcept nogil:
    cdef int c
    cdef Slab* s
    cdef Slab* nxt
    for c in range(CLASSES):
        s = <Slab*>partial[c].head
        while s != NULL:
            nxt = <Slab*>s.node.next
            if s.nfree == s.nslots:
                release(s)
            s = nxt

cdef void stats(HeapStats* out) noexcept nogil:
    out[0] = st

# ---- hosted helpers --------------------------------------------------------
def py_malloc(size_t n):
    return <uint64_t>kmalloc(n)

def py_free(uint64_t p):
    kfree(<void*>p)

def py_realloc(uint64_t p, size_t n):
    return <uint64_t>krealloc(<void*>p, n)

def py_size(uint64_t p):
    return ksize(<void*>p)

def py_trim():
    trim()

def py_stats():
    cdef HeapStats s
    stats(&s)
    return s

def py_reset():
    """Forget all heap state (after the simulated machine was reset)."""
    global st
    memset(partial, 0, sizeof(partial))
    memset(&st, 0, sizeof(HeapStats))

def py_write(uint64_t p, bytes data):
    memcpy(<void*>p, <const char*>data, len(data))

def py_read(uint64_t p, size_t n):
    return (<char*>p)[:n]
