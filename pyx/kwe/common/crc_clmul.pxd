# CRC-32/IEEE (zlib's) by carry-less multiplication folding, 128 bits at a
# time: the same answers as operations.crc32, several times faster on long
# buffers.  Compiled with SSE4.2 and PCLMULQDQ (see pyx/kwe/meson.build):
# in the kernel call it only between fpu.begin() and fpu.end(); anywhere,
# check clmul_available() first.
from libc.stdint cimport uint8_t, uint32_t

# Does this CPU have PCLMULQDQ and SSE4.1?  (CPUID, checked once.)
cdef bint clmul_available() noexcept nogil
cdef uint32_t crc32_clmul(uint32_t crc, const uint8_t* p, size_t n) noexcept nogil
