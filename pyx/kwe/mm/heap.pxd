# The kernel heap.  Small objects (<= 1024 bytes) come from slabs: pages cut
# into equal slots of one size class (16, 32, ... 1024); larger ones get
# whole pages from the PMM.  Everything is reached through the direct map.
# kfree of NULL is a no-op; a double free or a pointer the heap never gave
# out is refused, counted and reported, never followed.
from libc.stdint cimport uint64_t

cdef struct HeapStats:
    uint64_t allocs
    uint64_t frees
    uint64_t bytes_in_use       # as requested by callers
    uint64_t slab_pages
    uint64_t large_pages
    uint64_t bad_frees          # double frees and foreign pointers

cdef void* kmalloc(size_t n) noexcept nogil
cdef void* kzalloc(size_t n) noexcept nogil
cdef void* krealloc(void* p, size_t n) noexcept nogil
cdef void kfree(void* p) noexcept nogil
# Usable size of an allocation (>= what was asked), 0 for a bad pointer.
cdef size_t ksize(void* p) noexcept nogil
# Give cached empty slab pages back to the PMM.
cdef void trim() noexcept nogil
cdef void stats(HeapStats* out) noexcept nogil
