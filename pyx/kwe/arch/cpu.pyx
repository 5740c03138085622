# See cpu.pxd.
from libc.stdint cimport uint32_t, uint64_t
from kwe.base cimport hal
from kwe.base.console cimport kputs

cdef enum:
    LEAF_FEATURES = 7
    EBX_SMEP = 1 << 7
    EBX_SMAP = 1 << 20
    ECX_UMIP = 1 << 2

cdef uint64_t supported() noexcept nogil:
    cdef uint32_t r[4]
    cdef uint64_t bits = 0
    hal.cpuid(0, 0, r)
    if r[0] < LEAF_FEATURES:
        return 0
    hal.cpuid(LEAF_FEATURES, 0, r)
    if r[1] & EBX_SMEP:
        bits |= CR4_SMEP
    if r[1] & EBX_SMAP:
        bits |= CR4_SMAP
    if r[2] & ECX_UMIP:
        bits |= CR4_UMIP
    return bits

cdef void print_names(uint64_t bits) noexcept nogil:
    if bits & CR4_SMEP:
        kputs(b" smep")
    if bits & CR4_SMAP:
        kputs(b" smap")
    if bits & CR4_UMIP:
        kputs(b" umip")

cdef void protect() noexcept nogil:
    cdef uint64_t on = supported()
    cdef uint64_t off = CR4_PROTECTIONS & ~on
    hal.write_cr(4, hal.read_cr(4) | on)
    kputs(b"cpu:")                          # e.g. "cpu: smep smap umip on"
    if on:
        print_names(on)
        kputs(b" on")
    if on and off:
        kputs(b";")
    if off:
        print_names(off)
        kputs(b" not in CPUID")
    kputs(b"\n")

def py_protect():
    protect()
    return hal.read_cr(4)
