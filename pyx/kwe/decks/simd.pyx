# See simd.pxd.
from libc.stdint cimport uint64_t
from libc.string cimport memcpy

# ---- float32 vectors -------------------------------------------------------------------
cdef void vec_add_f32(const float* a, const float* b, float* out, size_t n) noexcept nogil:
    cdef size_t i
    for i in range(n):
        out[i] = a[i] + b[i]

cdef void vec_mul_f32(const float* a, const float* b, float* out, size_t n) noexcept nogil:
    cdef size_t i
    for i in range(n):
        out[i] = a[i] * b[i]

cdef uint64_t vec_dot_f32(const float* a, const float* b, size_t n) noexcept nogil:
    cdef double s = 0.0
    cdef uint64_t bits
    cdef size_t i
    for i in range(n):
        s += <double>a[i] * <double>b[i]
    memcpy(&bits, &s, 8)
    return bits
