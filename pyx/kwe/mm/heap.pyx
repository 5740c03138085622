# See heap.pxd.
#
# A slab page is [64-byte header][slots][uint16 size of each slot's object]
# [owner account of each slot's object];
# the header holds the class, counts, list links and a bitmap of allocated
# slots.  A large allocation starts with a 64-byte header too, so every
# pointer handed out is 16-byte aligned and its page header says what it is.
# Slabs live on two lists per class (partial: a slot free; full), large
# allocations on one, so check() can reach every object.  Headers are wiped
# when freed.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memset, memcpy
cimport kwe.common.list as lists
from kwe.common.list cimport ListNode, List
from kwe.base cimport hal, sanitize, checks
from kwe.mm cimport pmm, account
from kwe.mm.account cimport Account
from kwe.base.console cimport kprintf

cdef enum:
    HEADER = 64
    CLASSES = 7                  # 16 << 0 .. 16 << 6 = 1024
    MAX_SMALL = 1024             # object + guard
    SLAB_MAGIC = 0x51AB5
    LARGE_MAGIC = 0x1A46E
    LOUD_REPORTS = 16            # problems printed in full; the rest are counted
    UNPOISONED = 0xFFFF          # a free slot's size when it was freed with the checks off

cdef struct Slab:                # 64 bytes, at the start of a slab page
    ListNode node                # first, so the lists' nodes are the slabs
    uint32_t magic
    uint16_t cls
    uint16_t nslots
    uint16_t nfree
    uint16_t pad0
    uint32_t pad1
    uint64_t bitmap[4]           # 1 = allocated; 155 slots at most

cdef struct Large:               # 64 bytes, at the start of a large allocation
    ListNode node
    uint64_t npages
    uint64_t size                # as requested
    uint32_t magic               # at Slab.magic's offset: neither header passes for the other
    uint32_t pad
    Account* owner
    uint64_t pad2[2]

cdef List partial[CLASSES]       # per class, the slabs with at least one free slot
cdef List full[CLASSES]
cdef List larges
cdef HeapStats st

# ---- patterns ----------------------------------------------------------------
cdef bint filled(const uint8_t* p, size_t n, uint8_t b) noexcept nogil:
    """Are all n bytes at p equal to b?  Four words at a time where aligned,
    differences OR-ed together (straight-line code, one test per 32 bytes)."""
    cdef uint64_t word = <uint64_t>b * 0x0101010101010101U, diff = 0
    cdef const uint64_t* w
    while n and (<uint64_t>p & 7):
        if p[0] != b:
            return False
        p += 1
        n -= 1
    w = <const uint64_t*>p
    while n >= 32:
        diff = (w[0] ^ word) | (w[1] ^ word) | (w[2] ^ word) | (w[3] ^ word)
        if diff:
            return False
        w += 4
        n -= 32
    while n >= 8:
        if w[0] != word:
            return False
        w += 1
        n -= 8
    p = <const uint8_t*>w
    while n:
        if p[0] != b:
            return False
        p += 1
        n -= 1
    return True

cdef void report(void* p, const char* what, uint64_t size) noexcept nogil:
    st.corruptions += 1
    if st.corruptions <= LOUD_REPORTS:
        kprintf(b"heap: CORRUPT object %p (%u bytes): %s\n", <uint64_t>p, size, <uint64_t>what)

cdef void guard(uint8_t* end, size_t n) noexcept nogil:
    """Fill and poison the n guard bytes after an object's end."""
    memset(end, GUARD_BYTE, n)
    sanitize.poison(end, n)

cdef bint intact(uint8_t* p, size_t n, uint8_t b) noexcept nogil:
    """Are n poisoned bytes at p still all b?  (They stay poisoned.)"""
    cdef bint ok
    sanitize.unpoison(p, n)
    ok = filled(p, n, b)
    sanitize.poison(p, n)
    return ok

cdef bint guard_intact(uint8_t* end, size_t n) noexcept nogil:
    return intact(end, n, GUARD_BYTE)

# ---- slabs -------------------------------------------------------------------
cdef int class_of(size_t n) noexcept nogil:
    cdef int c = 0
    while (<size_t>16 << c) < n:
        c += 1
    return c

cdef size_t class_size(int c) noexcept nogil:
    return <size_t>16 << c

cdef inline uint8_t* slot_at(Slab* s, int i) noexcept nogil:
    return <uint8_t*>s + HEADER + i * class_size(s.cls)

cdef enum:
    PER_SLOT = sizeof(uint16_t) + sizeof(Account*)      # size and owner, at the page's end

cdef inline Account** owners_of(Slab* s) noexcept nogil:
    return <Account**>(<uint8_t*>s + pmm.PAGE_SIZE - s.nslots * sizeof(Account*))

cdef inline uint16_t* sizes_of(Slab* s) noexcept nogil:
    return <uint16_t*>(<uint8_t*>owners_of(s) - s.nslots * sizeof(uint16_t))

cdef inline uint16_t slots_per_page(int c) noexcept nogil:
    return <uint16_t>((pmm.PAGE_SIZE - HEADER) / (class_size(c) + PER_SLOT))

cdef inline bint slot_used(Slab* s, int i) noexcept nogil:
    return (s.bitmap[i >> 6] >> (i & 63)) & 1

cdef void free_slot_fill(Slab* s, int i) noexcept nogil:
    sanitize.unpoison(slot_at(s, i), class_size(s.cls))
    memset(slot_at(s, i), FREE_BYTE, class_size(s.cls))
    sanitize.poison(slot_at(s, i), class_size(s.cls))

cdef Slab* new_slab(int c) noexcept nogil:
    cdef uint64_t pa = pmm.alloc_page()
    cdef Slab* s
    cdef int i
    if pa == 0:
        return NULL
    s = <Slab*>hal.phys_to_virt(pa)
    memset(s, 0, pmm.PAGE_SIZE)
    s.magic = SLAB_MAGIC
    s.cls = c
    s.nslots = slots_per_page(c)
    s.nfree = s.nslots
    for i in range(s.nslots):
        free_slot_fill(s, i)
    st.slab_pages += 1
    lists.push_front(&partial[c], &s.node)
    return s

cdef int first_free(Slab* s) noexcept nogil:
    cdef int i
    for i in range(s.nslots):
        if not slot_used(s, i):
            return i
    return -1

cdef void* slab_alloc(size_t n, Account* owner) noexcept nogil:
    cdef int c = class_of(n + GUARD_MIN), i
    cdef Slab* s = <Slab*>partial[c].head
    cdef uint8_t* p
    if s == NULL:
        s = new_slab(c)
        if s == NULL:
            return NULL
    i = first_free(s)
    p = slot_at(s, i)
    sanitize.unpoison(p, class_size(c))
    if sizes_of(s)[i] != UNPOISONED and checks.enabled() and not filled(p, class_size(c), FREE_BYTE):
        report(p, b"written after it was freed", class_size(c))
    s.bitmap[i >> 6] |= (<uint64_t>1) << (i & 63)
    sizes_of(s)[i] = <uint16_t>n
    owners_of(s)[i] = owner
    guard(p + n, class_size(c) - n)
    s.nfree -= 1
    if s.nfree == 0:
        lists.remove(&partial[c], &s.node)
        lists.push_front(&full[c], &s.node)
    return p

cdef Slab* slab_of(void* p, int* slot) noexcept nogil:
    """The slab p belongs to and its slot index, or NULL if p is not a slab slot."""
    cdef uint64_t page = <uint64_t>p & ~<uint64_t>(pmm.PAGE_SIZE - 1)
    cdef Slab* s = <Slab*>page
    cdef uint64_t off = <uint64_t>p - page
    if s.magic != SLAB_MAGIC or s.cls >= CLASSES or off < HEADER or (off - HEADER) % class_size(s.cls):
        return NULL
    slot[0] = <int>((off - HEADER) / class_size(s.cls))
    if slot[0] >= s.nslots:
        return NULL
    return s

cdef void slab_free(Slab* s, int i) noexcept nogil:
    cdef uint8_t* p = slot_at(s, i)
    cdef size_t n = sizes_of(s)[i]
    cdef bint verify = checks.enabled()
    if verify and not guard_intact(p + n, class_size(s.cls) - n):
        report(p, b"written past its end", n)
    s.bitmap[i >> 6] &= ~((<uint64_t>1) << (i & 63))
    uncharge(owners_of(s)[i], n)
    sizes_of(s)[i] = 0 if verify else UNPOISONED       # a free slot's size: poisoned or not
    owners_of(s)[i] = NULL
    if verify:
        free_slot_fill(s, i)
    if s.nfree == 0:
        lists.remove(&full[s.cls], &s.node)
        lists.push_front(&partial[s.cls], &s.node)
    s.nfree += 1
    if s.nfree == s.nslots and partial[s.cls].count > 1:
        release(s)                    # empty, and its class has another slab

cdef void release(Slab* s) noexcept nogil:
    lists.remove(&partial[s.cls], &s.node)
    s.magic = 0
    st.slab_pages -= 1
    pmm.free_page(hal.virt_to_phys(s))

# ---- large allocations ---------------------------------------------------------
cdef inline Large* large_of(void* p) noexcept nogil:
    """p's large header, or NULL if p does not start a large allocation."""
    cdef Large* l = <Large*>(<char*>p - HEADER)
    if (<uint64_t>p & (pmm.PAGE_SIZE - 1)) == HEADER and l.magic == LARGE_MAGIC:
        return l
    return NULL

cdef inline size_t large_room(Large* l) noexcept nogil:
    return l.npages * pmm.PAGE_SIZE - HEADER

cdef void* large_alloc(size_t n, Account* owner) noexcept nogil:
    cdef uint64_t npages = (n + GUARD_MIN + HEADER + pmm.PAGE_SIZE - 1) / pmm.PAGE_SIZE
    cdef uint64_t pa = pmm.alloc_pages(npages)
    cdef Large* l
    if pa == 0:
        return NULL
    l = <Large*>hal.phys_to_virt(pa)
    memset(l, 0, HEADER)
    l.magic = LARGE_MAGIC
    l.npages = npages
    l.size = n
    l.owner = owner
    guard(<uint8_t*>l + HEADER + n, large_room(l) - n)
    st.large_pages += npages
    lists.push_front(&larges, &l.node)
    return <char*>l + HEADER

cdef void large_free(Large* l) noexcept nogil:
    if checks.enabled() and not guard_intact(<uint8_t*>l + HEADER + l.size, large_room(l) - l.size):
        report(<uint8_t*>l + HEADER, b"written past its end", l.size)
    lists.remove(&larges, &l.node)
    st.large_pages -= l.npages
    uncharge(l.owner, l.size)
    l.magic = 0
    pmm.free_pages(hal.virt_to_phys(l), l.npages)

# ---- the interface ---------------------------------------------------------------
cdef void* kmalloc_for(Account* owner, size_t n) noexcept nogil:
    cdef void* p
    if n == 0:
        n = 1
    if n > (<size_t>1 << 40) or not account.take(owner, account.RES_HEAP, n):
        return NULL
    p = slab_alloc(n, owner) if n + GUARD_MIN <= MAX_SMALL else large_alloc(n, owner)
    if p == NULL:
        account.give(owner, account.RES_HEAP, n)
        return NULL
    st.allocs += 1
    st.bytes_in_use += n
    if owner != NULL:
        owner.objects += 1
    return p

cdef void uncharge(Account* owner, size_t n) noexcept nogil:
    st.bytes_in_use -= n
    account.give(owner, account.RES_HEAP, n)
    if owner != NULL:
        owner.objects -= 1

cdef void* kmalloc(size_t n) noexcept nogil:
    return kmalloc_for(NULL, n)

cdef void* kzalloc_for(Account* owner, size_t n) noexcept nogil:
    cdef void* p = kmalloc_for(owner, n)
    if p != NULL:
        memset(p, 0, n)
    return p

cdef void* kzalloc(size_t n) noexcept nogil:
    return kzalloc_for(NULL, n)

cdef void refuse(void* p, const char* why) noexcept nogil:
    st.bad_frees += 1
    kprintf(b"heap: kfree(%p) refused: %s\n", <uint64_t>p, <uint64_t>why)

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
    l = large_of(p)
    if l != NULL:
        large_free(l)
        st.frees += 1
        return
    s = slab_of(p, &slot)
    if s == NULL:
        refuse(p, b"not a heap pointer")
    elif not slot_used(s, slot):
        refuse(p, b"double free")
    else:
        slab_free(s, slot)
        st.frees += 1

cdef size_t ksize(void* p) noexcept nogil:
    cdef Slab* s
    cdef int slot
    if not plausible(p):
        return 0
    if large_of(p) != NULL:
        return large_of(p).size
    s = slab_of(p, &slot)
    if s == NULL or not slot_used(s, slot):
        return 0
    return sizes_of(s)[slot]

cdef Account* owner_of(void* p) noexcept nogil:
    """The account p is charged to (ksize(p) must be non-zero)."""
    cdef int slot
    if large_of(p) != NULL:
        return large_of(p).owner
    return owners_of(slab_of(p, &slot))[slot]

cdef void* krealloc(void* p, size_t n) noexcept nogil:
    cdef size_t have
    cdef void* q
    if p == NULL:
        return kmalloc(n)
    have = ksize(p)
    if have == 0:
        refuse(p, b"krealloc of a non-heap pointer")
        return NULL
    if n == have:
        return p
    q = kmalloc_for(owner_of(p), n)
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
    out.objects_in_use = st.allocs - st.frees

# ---- the walk ----------------------------------------------------------------------
cdef struct Tally:
    uint64_t objects
    uint64_t bytes
    uint64_t charged             # bytes of objects with an owner

cdef void count(Tally* t, uint64_t n, Account* owner) noexcept nogil:
    t.objects += 1
    t.bytes += n
    if owner != NULL:
        t.charged += n

cdef uint64_t check_slot(Slab* s, int i, Tally* t) noexcept nogil:
    cdef uint8_t* p = slot_at(s, i)
    cdef size_t n = sizes_of(s)[i], size = class_size(s.cls)
    if slot_used(s, i):
        count(t, n, owners_of(s)[i])
        if n + GUARD_MIN > size or not guard_intact(p + n, size - n):
            report(p, b"written past its end (found by the heap walk)", n)
            return 1
        return 0
    if n != UNPOISONED and not intact(p, size, FREE_BYTE):
        report(p, b"written after it was freed (found by the heap walk)", size)
        return 1
    return 0

cdef uint64_t check_slab(Slab* s, int c, bint is_full, Tally* t) noexcept nogil:
    cdef uint64_t bad = 0, used = 0
    cdef int i
    if s.magic != SLAB_MAGIC or s.cls != c or s.nslots != slots_per_page(c):
        report(s, b"slab header overwritten", pmm.PAGE_SIZE)
        return 1
    for i in range(s.nslots):
        used += slot_used(s, i)
        bad += check_slot(s, i, t)
    if used + s.nfree != s.nslots or is_full != (s.nfree == 0):
        report(s, b"slab counts disagree with its bitmap", pmm.PAGE_SIZE)
        bad += 1
    return bad

cdef uint64_t check_list(List* l, int c, bint is_full, Tally* t) noexcept nogil:
    cdef uint64_t bad = 0
    cdef ListNode* n = l.head
    while n != NULL:
        bad += check_slab(<Slab*>n, c, is_full, t)
        n = n.next
    return bad

cdef uint64_t check_larges(Tally* t) noexcept nogil:
    cdef uint64_t bad = 0
    cdef ListNode* n = larges.head
    cdef Large* l
    while n != NULL:
        l = <Large*>n
        count(t, l.size, l.owner)
        if l.magic != LARGE_MAGIC or l.size + GUARD_MIN > large_room(l):
            report(<uint8_t*>l + HEADER, b"large header overwritten", l.size)
            bad += 1
        elif not guard_intact(<uint8_t*>l + HEADER + l.size, large_room(l) - l.size):
            report(<uint8_t*>l + HEADER, b"written past its end (found by the heap walk)", l.size)
            bad += 1
        n = n.next
    return bad

cdef uint64_t check() noexcept nogil:
    cdef uint64_t bad = 0
    cdef Tally t
    cdef int c
    memset(&t, 0, sizeof(t))
    for c in range(CLASSES):
        bad += check_list(&partial[c], c, False, &t)
        bad += check_list(&full[c], c, True, &t)
    bad += check_larges(&t)
    if t.objects != st.allocs - st.frees or t.bytes != st.bytes_in_use:
        kprintf(b"heap: walk found %u objects, %u bytes; the counters say %u, %u\n",
                t.objects, t.bytes, st.allocs - st.frees, st.bytes_in_use)
        bad += 1
    if t.charged != account.total().used[account.RES_HEAP]:
        kprintf(b"heap: walk found %u bytes charged to processes; their accounts say %u\n",
                t.charged, account.total().used[account.RES_HEAP])
        bad += 1
    return bad

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

def py_check():
    return check()

def py_reset():
    """Forget all heap state (after the simulated machine was reset)."""
    global st
    memset(partial, 0, sizeof(partial))
    memset(full, 0, sizeof(full))
    lists.init(&larges)
    memset(&st, 0, sizeof(HeapStats))

def py_write(uint64_t p, bytes data):
    memcpy(<void*>p, <const char*>data, len(data))

def py_scribble(uint64_t p, bytes data):
    """Write where no code may (a guard, a free slot) without ASan seeing it:
    tests of the kernel's own pattern checks, in either hosted build."""
    cdef bint was = sanitize.is_poisoned(<void*>p)
    sanitize.unpoison(<void*>p, len(data))
    memcpy(<void*>p, <const char*>data, len(data))
    if was:
        sanitize.poison(<void*>p, len(data))

def py_read(uint64_t p, size_t n):
    return (<char*>p)[:n]

def py_peek(uint64_t p, size_t n):
    """Read where no code may (a guard, a free slot) without ASan seeing it."""
    cdef bint was = sanitize.is_poisoned(<void*>p)
    sanitize.unpoison(<void*>p, n)
    out = (<char*>p)[:n]
    if was:
        sanitize.poison(<void*>p, n)
    return out
