# The kernel's float32 vector code, compiled with SSE (see meson.build): in
# the kernel, call it only between fpu.begin() and fpu.end().  The CRC32
# folding the Operations deck uses is kwe.common.crc_clmul, compiled the same way.
from libc.stdint cimport uint64_t

cdef void vec_add_f32(const float* a, const float* b, float* out, size_t n) noexcept nogil
cdef void vec_mul_f32(const float* a, const float* b, float* out, size_t n) noexcept nogil
# The dot product, accumulated in double; returned as its IEEE-754 bits.
cdef uint64_t vec_dot_f32(const float* a, const float* b, size_t n) noexcept nogil
