# Virtual address ranges in the kernel's KMAP region (vmm.KMAP_BASE), for
# kernel-side views of memory that is not contiguous physically (a
# process's rings).  Only addresses: callers map and unmap the pages.
from libc.stdint cimport uint64_t

# n pages of unused kernel virtual space; 0 if memory for bookkeeping ran out.
cdef uint64_t reserve(uint64_t npages) noexcept nogil
cdef void release(uint64_t va, uint64_t npages) noexcept nogil
cdef void reset() noexcept nogil                  # forget everything (hosted tests)
