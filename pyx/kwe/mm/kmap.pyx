# See kmap.pxd.  A sorted list of free ranges below a bump pointer; freed
# ranges merge with their neighbours, and one that ends at the bump pointer
# lowers it.
from libc.stdint cimport uint64_t
from kwe.mm cimport heap, vmm, pmm

cdef struct Range:
    uint64_t start
    uint64_t npages
    Range* next

cdef Range* free_list = NULL
cdef uint64_t top = 0                # bytes above KMAP_BASE handed out so far

cdef uint64_t reserve(uint64_t npages) noexcept nogil:
    global top
    cdef Range** link = &free_list
    cdef Range* r
    cdef uint64_t va
    while link[0] != NULL:
        r = link[0]
        if r.npages >= npages:
            va = r.start
            r.start += npages * pmm.PAGE_SIZE
            r.npages -= npages
            if r.npages == 0:
                link[0] = r.next
                heap.kfree(r)
            return va
        link = &r.next
    va = vmm.KMAP_BASE + top
    top += npages * pmm.PAGE_SIZE
    return va

cdef void release(uint64_t va, uint64_t npages) noexcept nogil:
    global top
    cdef Range** link = &free_list
    cdef Range* r
    cdef Range* prev = NULL
    cdef uint64_t end = va + npages * pmm.PAGE_SIZE
    while link[0] != NULL and link[0].start < va:
        prev = link[0]
        link = &link[0].next
    if prev != NULL and prev.start + prev.npages * pmm.PAGE_SIZE == va:
        prev.npages += npages                        # merge down
        r = prev
    else:
        r = <Range*>heap.kmalloc(sizeof(Range))
        if r == NULL:
            return                                   # the range is lost, nothing breaks
        r.start, r.npages, r.next = va, npages, link[0]
        link[0] = r
    if r.next != NULL and r.start + r.npages * pmm.PAGE_SIZE == r.next.start:
        prev = r.next                                # merge up
        r.npages += prev.npages
        r.next = prev.next
        heap.kfree(prev)
    if r.next == NULL and r.start + r.npages * pmm.PAGE_SIZE == vmm.KMAP_BASE + top:
        top = r.start - vmm.KMAP_BASE                # give back to the bump pointer
        unlink_last(r)

cdef void unlink_last(Range* r) noexcept nogil:
    global free_list
    cdef Range** link = &free_list
    while link[0] != r:
        link = &link[0].next
    link[0] = NULL
    heap.kfree(r)

def py_reserve(uint64_t n):
    return reserve(n)

def py_release(uint64_t va, uint64_t n):
    release(va, n)

def py_state():
    out = []
    cdef Range* r = free_list
    while r != NULL:
        out.append((r.start, r.npages))
        r = r.next
    return top, out

cdef void reset() noexcept nogil:
    global free_list, top
    free_list = NULL
    top = 0

def py_reset():
    reset()
