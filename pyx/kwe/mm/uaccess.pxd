# Copying between the kernel and a process's memory.  Every page is checked
# in the process's own page tables (present, user, writable for copy_out),
# so a pointer into kernel memory or into nothing fails cleanly; the bytes
# move through the direct map, whichever address space is active.
from libc.stdint cimport uint64_t
from kwe.mm.vmm cimport AddressSpace

cdef bint copy_in(AddressSpace* s, void* dst, uint64_t va, uint64_t n) noexcept nogil
cdef bint copy_out(AddressSpace* s, uint64_t va, const void* src, uint64_t n) noexcept nogil
