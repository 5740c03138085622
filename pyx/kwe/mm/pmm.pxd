# Physical memory: a bitmap allocator of 4 KiB pages over the E820 map.
# Two bits a page: "used" (allocated or never free) and "reserved" (never
# handed out: below 1 MiB, the kernel image, the bitmaps themselves, and
# anything E820 does not call usable).  Freeing a free page (double free)
# or a reserved/out-of-range page (not owned by the allocator) is refused,
# counted and reported; it never corrupts the bitmap.
from libc.stdint cimport uint32_t, uint64_t
from kwe.base.boot cimport E820Entry

cdef enum:
    PAGE_SIZE = 4096
    PAGE_SHIFT = 12
    LOW_MEMORY_END = 0x100000
    PMM_OK = 0
    PMM_DOUBLE_FREE = -1
    PMM_NOT_OWNED = -2
    PMM_BAD_ADDRESS = -3

cdef struct PmmStats:
    uint64_t total_pages        # pages E820 calls usable
    uint64_t free_pages
    uint64_t reserved_pages     # usable pages kept back (low memory, kernel, bitmaps)
    uint64_t max_phys           # end of the highest usable range
    uint64_t double_frees
    uint64_t bad_frees

# Take over memory.  [reserve_start, reserve_end) is kept back too (the
# kernel image); the bitmaps go in the first usable range above it.
cdef bint init(const E820Entry* map, uint32_t count, uint64_t reserve_start,
               uint64_t reserve_end) noexcept nogil
# One page / n physically contiguous pages; 0 when none are left.
cdef uint64_t alloc_page() noexcept nogil
cdef uint64_t alloc_pages(uint64_t n) noexcept nogil
# The same, zero-filled.
cdef uint64_t alloc_zeroed(uint64_t n) noexcept nogil
cdef int free_page(uint64_t pa) noexcept nogil
cdef int free_pages(uint64_t pa, uint64_t n) noexcept nogil
cdef uint64_t free_count() noexcept nogil
cdef void stats(PmmStats* out) noexcept nogil
# Is this page currently handed out?
cdef bint is_allocated(uint64_t pa) noexcept nogil
