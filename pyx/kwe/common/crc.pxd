# CRC-32/IEEE (zlib's) for code outside the kernel, user programs and the
# hosted build: the widest folding this CPU has and its OS saves the
# registers of, chosen at run time -- crc_vpclmul (512-bit lanes), else
# crc_clmul (128-bit), else operations.crc32's table.  In KWE's ring 3 that
# is crc_clmul: the kernel saves SSE state per process, not AVX-512's.
from libc.stdint cimport uint8_t, uint32_t

cdef enum:
    PATH_TABLE = 0
    PATH_CLMUL = 1
    PATH_VPCLMUL = 2

cdef int path() noexcept nogil          # which of the three crc32() uses
cdef uint32_t crc32(uint32_t crc, const uint8_t* p, size_t n) noexcept nogil
