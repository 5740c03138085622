# cython: binding=False
# (binding=False: py_crc32 is a plain builtin, called as zlib.crc32 is.)  See crc.pxd.  Compiled without AVX-512 on purpose: this code decides
# whether AVX-512 code may run, so it must itself run everywhere.
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from kwe.common cimport operations, crc_clmul, crc_vpclmul

cdef extern from "isa.h" nogil:
    void isa_cpuid(uint32_t, uint32_t, uint32_t*)
    uint64_t isa_xgetbv(uint32_t)

cdef enum:
    CPUID1_OSXSAVE = 1 << 27            # ECX: the OS turned XSAVE (and XGETBV) on
    CPUID7_AVX512F = 1 << 16            # EBX
    CPUID7_AVX512BW = 1 << 30           # EBX
    CPUID7_VPCLMULQDQ = 1 << 10         # ECX
    # XCR0: the OS saves SSE, AVX, opmask and both halves of the ZMM registers
    XCR0_AVX512 = (1 << 1) | (1 << 2) | (1 << 5) | (1 << 6) | (1 << 7)
    WIDE_MIN = 256                      # crc_vpclmul's shortest input
    CLMUL_MIN = 64                      # crc_clmul's (it takes the table below)

cdef int chosen = 0                    # 0: not chosen yet, else the path + 1

cdef bint wide_available() noexcept nogil:
    cdef uint32_t r[4]
    cdef uint32_t need = CPUID7_AVX512F | CPUID7_AVX512BW | (<uint32_t>1 << 31)   # and AVX512VL
    isa_cpuid(0, 0, r)
    if r[0] < 7:
        return False
    isa_cpuid(1, 0, r)
    if not (r[2] & CPUID1_OSXSAVE) or (isa_xgetbv(0) & XCR0_AVX512) != XCR0_AVX512:
        return False
    isa_cpuid(7, 0, r)
    return (r[1] & need) == need and (r[2] & CPUID7_VPCLMULQDQ) != 0

cdef int path() noexcept nogil:
    global chosen
    if chosen == 0:
        chosen = 1 + (PATH_VPCLMUL if crc_clmul.clmul_available() and wide_available() else
                      PATH_CLMUL if crc_clmul.clmul_available() else PATH_TABLE)
    return chosen - 1

cdef uint32_t crc32(uint32_t crc, const uint8_t* p, size_t n) noexcept nogil:
    cdef int how = path()
    if how == PATH_VPCLMUL and n >= WIDE_MIN:
        return crc_vpclmul.crc32_vpclmul(crc, p, n)
    if how != PATH_TABLE and n >= CLMUL_MIN:
        return crc_clmul.crc32_clmul(crc, p, n)
    return operations.crc32(crc, p, n)

def py_crc32(bytes data, uint32_t value=0):
    """Hosted entry: zlib.crc32's contract."""
    return crc32(value, <const uint8_t*><const char*>data, len(data))

def py_crc32_by(int how, bytes data, size_t start, size_t n, uint32_t value=0):
    """The CRC of data[start:start+n] by one path (PATH_*), from wherever it
    lies in memory: the tests reach every alignment this way."""
    cdef const uint8_t* p = <const uint8_t*><const char*>data + start
    if start > <size_t>len(data) or n > <size_t>len(data) - start:
        raise ValueError("outside data")
    if how > path() or how < 0 or (how == PATH_VPCLMUL and n < WIDE_MIN):
        raise ValueError("this CPU cannot take that path (or the input is too short for it)")
    if how == PATH_VPCLMUL:
        return crc_vpclmul.crc32_vpclmul(value, p, n)
    return crc_clmul.crc32_clmul(value, p, n) if how == PATH_CLMUL else operations.crc32(value, p, n)

def py_path():
    """'table', 'clmul' or 'vpclmul': what crc32() uses on this machine."""
    return ("table", "clmul", "vpclmul")[path()]
