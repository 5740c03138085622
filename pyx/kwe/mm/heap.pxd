# The kernel heap.  Small objects come from slabs: pages cut into equal slots
# of one size class (16, 32, ... 1024); larger ones get whole pages from the
# PMM.  Everything is reached through the direct map.  kfree of NULL is a
# no-op; a double free or a pointer the heap never gave out is refused,
# counted and reported, never followed.
#
# Every object is followed by a guard zone of at least GUARD_MIN bytes
# (filled with GUARD_BYTE) and every free slot is filled with FREE_BYTE, so
# a write past an object's end or into freed memory is seen: at kfree, when
# the slot is handed out again, and by check(), a walk over the whole heap
# that the kernel runs before it powers off.  The hosted ASan build also
# poisons guards and free slots (kwe.base.sanitize): any access is reported
# at once.
from libc.stdint cimport uint64_t
from kwe.mm.account cimport Account

cdef enum:
    GUARD_MIN = 16
    GUARD_BYTE = 0xCC
    FREE_BYTE = 0x6B

cdef struct HeapStats:
    uint64_t allocs
    uint64_t frees
    uint64_t bytes_in_use       # as requested by callers
    uint64_t objects_in_use
    uint64_t slab_pages
    uint64_t large_pages
    uint64_t bad_frees          # double frees and foreign pointers
    uint64_t corruptions        # guard zones or free slots found overwritten

cdef void* kmalloc(size_t n) noexcept nogil
cdef void* kzalloc(size_t n) noexcept nogil
# The same, charged to a process's account (RES_HEAP) until freed: NULL when
# its limit or the limit over all processes would be passed.  The object
# remembers its owner, so kfree gives the bytes back to the right account.
cdef void* kmalloc_for(Account* owner, size_t n) noexcept nogil
cdef void* kzalloc_for(Account* owner, size_t n) noexcept nogil
cdef void* krealloc(void* p, size_t n) noexcept nogil
cdef void kfree(void* p) noexcept nogil
# The size an allocation was asked with (its usable size), 0 for a bad pointer.
cdef size_t ksize(void* p) noexcept nogil
# Give cached empty slab pages back to the PMM.
cdef void trim() noexcept nogil
cdef void stats(HeapStats* out) noexcept nogil
# Walk every slab and large allocation: headers, free counts, guard zones,
# free-slot poison, and the totals against the stats and the accounts.  Returns the number of
# problems found (each is printed, the first few in full).
cdef uint64_t check() noexcept nogil
