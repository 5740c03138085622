# See pmm.pxd.
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memset
from kwe.base cimport hal, sanitize
from kwe.base.boot cimport E820Entry, E820_USABLE
from kwe.base.console cimport kprintf

cdef extern from *:
    int __builtin_ctzll(unsigned long long) nogil

cdef uint64_t* used = NULL           # 1 = not free
cdef uint64_t* reserved = NULL       # 1 = never handed out
cdef uint64_t npages = 0             # pages covered by the bitmaps
cdef uint64_t lowest_free = 0        # every page below this one is in use
cdef PmmStats st

cdef inline bint test(uint64_t* bits, uint64_t i) noexcept nogil:
    return (bits[i >> 6] >> (i & 63)) & 1

cdef inline void set_bit(uint64_t* bits, uint64_t i) noexcept nogil:
    bits[i >> 6] |= (<uint64_t>1) << (i & 63)

cdef inline void clear_bit(uint64_t* bits, uint64_t i) noexcept nogil:
    bits[i >> 6] &= ~((<uint64_t>1) << (i & 63))

cdef uint64_t page_up(uint64_t a) noexcept nogil:
    return (a + PAGE_SIZE - 1) & ~<uint64_t>(PAGE_SIZE - 1)

cdef uint64_t page_down(uint64_t a) noexcept nogil:
    return a & ~<uint64_t>(PAGE_SIZE - 1)

# ---- poisoning (hosted ASan build only; no-ops elsewhere) -----------------------
# Free pages are poisoned, so a stray access from kernel code running hosted
# (an overflow off the end of a page, a use after free) is reported where it
# happens.  Pages in use and everything the allocator never hands out (low
# memory, the kernel image, the bitmaps, E820 holes) stay accessible: the boot
# code, hal_sim and the tests read and write them directly.

cdef inline void handed_out(uint64_t pa, uint64_t n) noexcept nogil:
    if sanitize.KWE_ASAN:                 # not even the phys_to_virt call otherwise
        sanitize.unpoison(hal.phys_to_virt(pa), n * PAGE_SIZE)

cdef inline void taken_back(uint64_t pa, uint64_t n) noexcept nogil:
    if sanitize.KWE_ASAN:
        sanitize.poison(hal.phys_to_virt(pa), n * PAGE_SIZE)

cdef void poison_free_pages() noexcept nogil:
    """Make every page's poisoning match the bitmap, whatever an earlier
    machine or init left behind."""
    cdef uint64_t i
    for i in range(npages):
        if test(used, i):
            handed_out(i << PAGE_SHIFT, 1)
        else:
            taken_back(i << PAGE_SHIFT, 1)

cdef void reserve_range(uint64_t start, uint64_t end) noexcept nogil:
    """Mark [start, end) reserved and used (page-rounded outward)."""
    cdef uint64_t i
    i = page_down(start) >> PAGE_SHIFT
    while i < npages and (i << PAGE_SHIFT) < end:
        if not test(reserved, i) and not test(used, i):
            st.free_pages -= 1
            st.reserved_pages += 1
        set_bit(reserved, i)
        set_bit(used, i)
        i += 1

cdef uint64_t place_bitmaps(const E820Entry* map, uint32_t count, uint64_t bytes,
                            uint64_t above) noexcept nogil:
    """Physical address of `bytes` of usable RAM at or above `above`, or 0."""
    cdef uint32_t k
    cdef uint64_t start, end
    for k in range(count):
        if map[k].type != E820_USABLE:
            continue
        start = page_up(map[k].base)
        if start < above:
            start = page_up(above)
        end = page_down(map[k].base + map[k].length)
        if end > start and end - start >= bytes:
            return start
    return 0

cdef bint init(const E820Entry* map, uint32_t count, uint64_t reserve_start,
               uint64_t reserve_end) noexcept nogil:
    global used, reserved, npages, lowest_free
    cdef uint32_t k
    cdef uint64_t i, start, end, words, at
    memset(&st, 0, sizeof(PmmStats))
    for k in range(count):
        if map[k].type == E820_USABLE and map[k].base + map[k].length > st.max_phys:
            st.max_phys = page_down(map[k].base + map[k].length)
    npages = st.max_phys >> PAGE_SHIFT
    words = (npages + 63) / 64
    at = place_bitmaps(map, count, 2 * words * 8, reserve_end if reserve_end > LOW_MEMORY_END else LOW_MEMORY_END)
    if npages == 0 or at == 0:
        return False
    used = <uint64_t*>hal.phys_to_virt(at)
    reserved = used + words
    memset(used, 0xFF, words * 8)                 # everything unavailable ...
    memset(reserved, 0xFF, words * 8)
    for k in range(count):                        # ... but what E820 calls usable
        if map[k].type != E820_USABLE:
            continue
        start = page_up(map[k].base) >> PAGE_SHIFT
        end = page_down(map[k].base + map[k].length) >> PAGE_SHIFT
        i = start
        while i < end and i < npages:
            if test(used, i):
                clear_bit(used, i)
                clear_bit(reserved, i)
                st.total_pages += 1
                st.free_pages += 1
            i += 1
    reserve_range(0, LOW_MEMORY_END)
    reserve_range(reserve_start, reserve_end)
    reserve_range(at, at + 2 * words * 8)
    lowest_free = 0
    if sanitize.KWE_ASAN:
        poison_free_pages()
    return True

cdef uint64_t find_free(uint64_t from_page) noexcept nogil:
    """Index of the first free page at or after from_page, or npages."""
    cdef uint64_t w = from_page >> 6, words = (npages + 63) / 64, bits, i
    bits = ~used[w] & (~(<uint64_t>0) << (from_page & 63))
    while True:
        if bits:
            i = (w << 6) + <uint64_t>__builtin_ctzll(bits)
            return i if i < npages else npages
        w += 1
        if w >= words:
            return npages
        bits = ~used[w]

# First fit from the lowest free page: small allocations pack at the bottom,
# so large contiguous runs stay available above them (a next-fit hint that
# walks all of memory leaves long-lived pages everywhere and breaks every run).
cdef uint64_t alloc_page() noexcept nogil:
    global lowest_free
    cdef uint64_t i = find_free(lowest_free)
    if i == npages:
        return 0
    set_bit(used, i)
    st.free_pages -= 1
    lowest_free = i + 1
    handed_out(i << PAGE_SHIFT, 1)
    return i << PAGE_SHIFT

cdef uint64_t alloc_pages(uint64_t n) noexcept nogil:
    global lowest_free
    cdef uint64_t i = lowest_free, run, k
    if n == 1:
        return alloc_page()
    if n == 0 or n > st.free_pages:
        return 0
    while True:                                   # first fit
        i = find_free(i)
        if i + n > npages:
            return 0
        run = 1
        while run < n and not test(used, i + run):
            run += 1
        if run == n:
            for k in range(n):
                set_bit(used, i + k)
            st.free_pages -= n
            if i == lowest_free:
                lowest_free = i + n
            handed_out(i << PAGE_SHIFT, n)
            return i << PAGE_SHIFT
        i += run

cdef uint64_t alloc_zeroed(uint64_t n) noexcept nogil:
    cdef uint64_t pa = alloc_pages(n)
    if pa:
        memset(hal.phys_to_virt(pa), 0, n * PAGE_SIZE)
    return pa

cdef int check_free(uint64_t pa) noexcept nogil:
    cdef uint64_t i = pa >> PAGE_SHIFT
    if pa & (PAGE_SIZE - 1):
        return PMM_BAD_ADDRESS
    if i >= npages or test(reserved, i):
        return PMM_NOT_OWNED
    if not test(used, i):
        return PMM_DOUBLE_FREE
    return PMM_OK

cdef int free_pages(uint64_t pa, uint64_t n) noexcept nogil:
    global lowest_free
    cdef uint64_t k
    cdef int err
    for k in range(n):                            # all or nothing
        err = check_free(pa + k * PAGE_SIZE)
        if err != PMM_OK:
            if err == PMM_DOUBLE_FREE:
                st.double_frees += 1
                kprintf(b"pmm: double free of page %p refused\n", pa + k * PAGE_SIZE)
            else:
                st.bad_frees += 1
                kprintf(b"pmm: free of page %p refused: not owned by the allocator\n",
                        pa + k * PAGE_SIZE)
            return err
    for k in range(n):
        clear_bit(used, (pa >> PAGE_SHIFT) + k)
    taken_back(pa, n)
    st.free_pages += n
    if (pa >> PAGE_SHIFT) < lowest_free:
        lowest_free = pa >> PAGE_SHIFT
    return PMM_OK

cdef int free_page(uint64_t pa) noexcept nogil:
    return free_pages(pa, 1)

cdef uint64_t free_count() noexcept nogil:
    return st.free_pages

cdef void stats(PmmStats* out) noexcept nogil:
    out[0] = st

cdef bint is_allocated(uint64_t pa) noexcept nogil:
    cdef uint64_t i = pa >> PAGE_SHIFT
    return i < npages and test(used, i) and not test(reserved, i)

# ---- hosted helpers --------------------------------------------------------
def py_init(list ranges, uint64_t reserve_start=0, uint64_t reserve_end=0):
    """ranges: [(base, length, type)] like E820."""
    cdef E820Entry m[64]
    cdef uint32_t n = len(ranges), k
    if n > 64:
        raise ValueError("too many ranges")
    for k in range(n):
        m[k].base, m[k].length, m[k].type = ranges[k]
        m[k].ext = 1
    return init(m, n, reserve_start, reserve_end)

def py_alloc(uint64_t n=1):
    return alloc_pages(n)

def py_free(uint64_t pa, uint64_t n=1):
    return free_pages(pa, n)

def py_stats():
    cdef PmmStats s
    stats(&s)
    return s

def py_is_allocated(uint64_t pa):
    return is_allocated(pa)
