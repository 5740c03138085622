# The CPU's protections of the kernel against ring 3, turned on at boot when
# CPUID has them: SMEP (ring 0 never runs a user page), SMAP (ring 0 never
# reads or writes one: the kernel reaches user memory only through page-table
# walks and the direct map, kwe.mm.uaccess) and UMIP (ring 3 cannot read the
# descriptor-table registers or CR0: SGDT SIDT SLDT SMSW STR raise #GP).
from libc.stdint cimport uint64_t

cdef enum:
    CR4_UMIP = 1 << 11
    CR4_SMEP = 1 << 20
    CR4_SMAP = 1 << 21
    CR4_PROTECTIONS = CR4_UMIP | CR4_SMEP | CR4_SMAP

# Turn on those the CPU has, and say which on the console.
cdef void protect() noexcept nogil
# The CR4_PROTECTIONS bits this CPU supports (CPUID leaf 7).
cdef uint64_t supported() noexcept nogil
