# See uaccess.pxd.
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy
from kwe.mm cimport vmm, pmm
from kwe.base cimport hal
from kwe.mm.vmm cimport AddressSpace

cdef bint copy(AddressSpace* s, uint64_t va, uint8_t* kbuf, uint64_t n, bint to_user) noexcept nogil:
    cdef uint64_t pa, take
    cdef uint32_t f
    if not vmm.user_range_ok(s, va, n, to_user):
        return False
    while n:
        vmm.translate(s, va, &pa, &f)
        take = pmm.PAGE_SIZE - (va & (pmm.PAGE_SIZE - 1))
        if take > n:
            take = n
        if to_user:
            memcpy(hal.phys_to_virt(pa), kbuf, take)
        else:
            memcpy(kbuf, hal.phys_to_virt(pa), take)
        va += take
        kbuf += take
        n -= take
    return True

cdef bint copy_in(AddressSpace* s, void* dst, uint64_t va, uint64_t n) noexcept nogil:
    return copy(s, va, <uint8_t*>dst, n, False)

cdef bint copy_out(AddressSpace* s, uint64_t va, const void* src, uint64_t n) noexcept nogil:
    return copy(s, va, <uint8_t*>src, n, True)
