# See kstack.pxd.  Freed slots are reused (a growable list of slot numbers);
# the region has room for millions of them.
from libc.stdint cimport uint32_t, uint64_t
from kwe.mm cimport vmm, heap, pmm

cdef uint64_t next_slot = 0
cdef uint64_t* free_slots = NULL
cdef uint64_t nfree = 0, cap = 0, nlive = 0

cdef uint64_t slot_base(uint64_t slot) noexcept nogil:
    return vmm.KSTACK_BASE + slot * SLOT_PAGES * pmm.PAGE_SIZE

cdef uint64_t take_slot() noexcept nogil:
    global next_slot, nfree
    if nfree:
        nfree -= 1
        return free_slots[nfree]
    next_slot += 1
    return next_slot - 1

cdef bint give_slot(uint64_t slot) noexcept nogil:
    global free_slots, cap, nfree
    cdef uint64_t* grown
    if nfree == cap:
        grown = <uint64_t*>heap.krealloc(free_slots, (cap * 2 + 16) * sizeof(uint64_t))
        if grown == NULL:
            return False                     # the slot leaks, nothing breaks
        free_slots = grown
        cap = cap * 2 + 16
    free_slots[nfree] = slot
    nfree += 1
    return True

cdef uint64_t alloc(uint64_t pages) noexcept nogil:
    global nlive
    cdef uint64_t slot, top
    if pages == 0 or pages > MAX_PAGES:
        return 0
    slot = take_slot()
    top = slot_base(slot + 1)
    if vmm.map_new(vmm.kernel_space(), top - pages * pmm.PAGE_SIZE, pages,
                   vmm.MAP_WRITE | vmm.MAP_GLOBAL) != vmm.VMM_OK:
        give_slot(slot)
        return 0
    nlive += 1
    return top

cdef bint take_free(uint64_t slot) noexcept nogil:
    """Remove slot from the free list if it is there."""
    global nfree
    cdef uint64_t i
    for i in range(nfree):
        if free_slots[i] == slot:
            nfree -= 1
            free_slots[i] = free_slots[nfree]
            return True
    return False

cdef void retire(uint64_t slot) noexcept nogil:
    """A slot is free again: shrink the used range when it is the top one,
    so after a burst of processes the bookkeeping goes back to nothing."""
    global next_slot, free_slots, cap
    if slot + 1 != next_slot:
        give_slot(slot)
        return
    next_slot -= 1
    while next_slot > 0 and take_free(next_slot - 1):
        next_slot -= 1
    if nfree == 0 and free_slots != NULL:
        heap.kfree(free_slots)
        free_slots = NULL
        cap = 0

cdef void free(uint64_t top) noexcept nogil:
    global nlive
    cdef uint64_t va = top - pmm.PAGE_SIZE
    cdef uint64_t slot = (top - vmm.KSTACK_BASE) / (SLOT_PAGES * pmm.PAGE_SIZE) - 1
    while va >= slot_base(slot) and vmm.unmap(vmm.kernel_space(), va, NULL) == vmm.VMM_OK:
        va -= pmm.PAGE_SIZE
    nlive -= 1
    retire(slot)

cdef bint is_guard(uint64_t va) noexcept nogil:
    return (vmm.KSTACK_BASE <= va < slot_base(next_slot)
            and not vmm.translate(vmm.kernel_space(), va, NULL, NULL))

cdef uint64_t live() noexcept nogil:
    return nlive

cdef void reset() noexcept nogil:
    global next_slot, free_slots, nfree, cap, nlive
    next_slot = nfree = cap = nlive = 0
    free_slots = NULL
