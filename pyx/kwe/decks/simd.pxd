# The kernel's SIMD code: the only module compiled with SSE4.2 and PCLMULQDQ
# (see meson.build).  In the kernel, call it only between fpu.begin() and
# fpu.end(); check clmul_available() before crc32_clmul().
from libc.stdint cimport uint8_t, uint32_t, uint64_t

cdef void vec_add_f32(const float* a, const float* b, float* out, size_t n) noexcept nogil
cdef void vec_mul_f32(const float* a, const float* b, float* out, size_t n) noexcept nogil
# The dot product, accumulated in double; returned as its IEEE-754 bits.
cdef uint64_t vec_dot_f32(const float* a, const float* b, size_t n) noexcept nogil

# Does this CPU have PCLMULQDQ and SSE4.1?  (CPUID, checked once.)
cdef bint clmul_available() noexcept nogil
# CRC-32/IEEE (zlib's) by carry-less multiplication folding: the same
# answers as operations.crc32, several times faster on long buffers.
cdef uint32_t crc32_clmul(uint32_t crc, const uint8_t* p, size_t n) noexcept nogil
