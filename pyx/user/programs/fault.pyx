# fault KIND: does something that makes the CPU fault in ring 3 -- the
# kernel must end only this process.  KIND: pf gp divide ud kernel.
from libc.stdint cimport uint64_t
from user cimport sdk
from kwe.common cimport kstr

cdef extern from *:
    void __builtin_trap() nogil

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
    sdk.puts(b"fault: still alive?\n")
    return 1
