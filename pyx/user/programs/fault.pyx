# fault KIND: does something that makes the CPU fault in ring 3 -- the
# kernel must end only this process.  KIND: pf gp divide ud kernel, or one
# of the instructions UMIP keeps from ring 3 (#GP): sgdt sidt sldt smsw str.
from libc.stdint cimport uint8_t, uint64_t
from user cimport sdk
from kwe.common cimport kstr

cdef extern from *:
    """
    static inline void umip_sgdt(uint8_t *out) { __asm__ volatile("sgdt %0" : "=m"(*(uint8_t (*)[10])out)); }
    static inline void umip_sidt(uint8_t *out) { __asm__ volatile("sidt %0" : "=m"(*(uint8_t (*)[10])out)); }
    static inline uint64_t umip_sldt(void) { uint64_t v = 0; __asm__ volatile("sldt %0" : "=r"(v)); return v; }
    static inline uint64_t umip_smsw(void) { uint64_t v = 0; __asm__ volatile("smsw %0" : "=r"(v)); return v; }
    static inline uint64_t umip_str(void) { uint64_t v = 0; __asm__ volatile("str %0" : "=r"(v)); return v; }
    """
    void umip_sgdt(uint8_t* out) nogil
    void umip_sidt(uint8_t* out) nogil
    uint64_t umip_sldt() nogil
    uint64_t umip_smsw() nogil
    uint64_t umip_str() nogil
    void __builtin_trap() nogil

cdef bint umip_kind(const char* kind) noexcept nogil:
    """Run the UMIP instruction KIND names; False if KIND is none of them."""
    cdef uint8_t table[10]
    if kstr.equal(kind, b"sgdt"):
        umip_sgdt(table)
        sdk.printf(b"fault: GDT at %p\n", (<uint64_t*>(table + 2))[0])
    elif kstr.equal(kind, b"sidt"):
        umip_sidt(table)
        sdk.printf(b"fault: IDT at %p\n", (<uint64_t*>(table + 2))[0])
    elif kstr.equal(kind, b"sldt"):
        sdk.printf(b"fault: LDT selector %lx\n", umip_sldt())
    elif kstr.equal(kind, b"smsw"):
        sdk.printf(b"fault: CR0 low bits %lx\n", umip_smsw())
    elif kstr.equal(kind, b"str"):
        sdk.printf(b"fault: TSS selector %lx\n", umip_str())
    else:
        return False
    return True

cdef public int umain() noexcept nogil:
    cdef char kind[16]
    cdef uint64_t zero = sdk.arg_u64(1, 0)
    cdef uint64_t addr
    sdk.arg(0, kind, sizeof(kind))
    sdk.printf(b"fault: pid %u about to %s\n", sdk.info().pid, <uint64_t>kind)
    if kstr.equal(kind, b"pf"):
        addr = sdk.arg_u64(1, 0x1000)
        sdk.printf(b"%u\n", (<uint64_t*>addr)[0])
    elif kstr.equal(kind, b"kernel"):                # read the kernel's own memory
        addr = sdk.arg_u64(1, <uint64_t>0xFFFFFFFF80100000U)
        sdk.printf(b"%u\n", (<uint64_t*>addr)[0])
    elif kstr.equal(kind, b"gp"):                    # a non-canonical address
        addr = sdk.arg_u64(1, <uint64_t>0x8000000000000000U)
        sdk.printf(b"%u\n", (<uint64_t*>addr)[0])
    elif kstr.equal(kind, b"divide"):
        sdk.printf(b"%u\n", 7 / zero)
    elif kstr.equal(kind, b"ud"):
        __builtin_trap()
    else:
        umip_kind(kind)
    sdk.puts(b"fault: still alive?\n")
    return 1
