# See simd.pxd.
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy
from kwe.base cimport hal
from kwe.common cimport operations

cdef extern from "<immintrin.h>" nogil:
    ctypedef struct __m128i:
        pass
    __m128i _mm_loadu_si128(const __m128i* p)
    __m128i _mm_xor_si128(__m128i a, __m128i b)
    __m128i _mm_and_si128(__m128i a, __m128i b)
    __m128i _mm_clmulepi64_si128(__m128i a, __m128i b, int imm)
    __m128i _mm_cvtsi32_si128(int a)
    __m128i _mm_set_epi64x(int64_t hi, int64_t lo)
    __m128i _mm_setr_epi32(int a, int b, int c, int d)
    __m128i _mm_srli_si128(__m128i a, int imm)
    int _mm_extract_epi32(__m128i a, int imm)

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

# ---- CRC-32 by folding ----------------------------------------------------------------------
# Intel, "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ"
# (2009), in its bit-reflected form.  P = 0x104C11DB7.  Each constant is
# (x^e mod P), bit-reflected as 32 bits and shifted left once; derived, and
# checked, in tests/hosted/test_crc_fast.py:
#   K1 = x^(4*128+32)  K2 = x^(4*128-32)   fold 64 bytes ahead (four lanes)
#   K3 = x^(128+32)    K4 = x^(128-32)     fold 16 bytes ahead (one lane)
#   K5 = x^64                              128 bits -> 64
#   P' = reflected P,  MU = x^64 / P       Barrett reduction to 32 bits
cdef enum:
    CPUID_PCLMUL = 1 << 1
    CPUID_SSE41 = 1 << 19

cdef int clmul_state = 0                     # 0: not checked yet, 1: yes, 2: no

cdef bint clmul_available() noexcept nogil:
    global clmul_state
    cdef uint32_t r[4]
    if clmul_state == 0:
        hal.cpuid(1, 0, r)
        clmul_state = 1 if (r[2] & CPUID_PCLMUL) and (r[2] & CPUID_SSE41) else 2
    return clmul_state == 1

cdef inline __m128i fold(__m128i x, __m128i k, __m128i next) noexcept nogil:
    """x advanced by k's distance (low half by k.lo, high half by k.hi), then + next."""
    return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00),
                                       _mm_clmulepi64_si128(x, k, 0x11)), next)

cdef uint32_t crc32_clmul(uint32_t crc, const uint8_t* p, size_t n) noexcept nogil:
    cdef __m128i k1k2 = _mm_set_epi64x(<int64_t>0x1C6E41596, <int64_t>0x154442BD4)
    cdef __m128i k3k4 = _mm_set_epi64x(<int64_t>0x0CCAA009E, <int64_t>0x1751997D0)
    cdef __m128i k5 = _mm_set_epi64x(0, <int64_t>0x163CD6124)
    cdef __m128i poly = _mm_set_epi64x(<int64_t>0x1F7011641, <int64_t>0x1DB710641)
    cdef __m128i mask = _mm_setr_epi32(-1, 0, -1, 0)
    cdef __m128i x0, x1, x2, x3, t
    if n < 64:
        return operations.crc32(crc, p, n)
    crc = ~crc                                  # the bit-reflected register, pre-inverted
    x0 = _mm_xor_si128(_mm_loadu_si128(<const __m128i*>p), _mm_cvtsi32_si128(<int>crc))
    x1 = _mm_loadu_si128(<const __m128i*>(p + 16))
    x2 = _mm_loadu_si128(<const __m128i*>(p + 32))
    x3 = _mm_loadu_si128(<const __m128i*>(p + 48))
    p += 64
    n -= 64
    while n >= 64:                              # four lanes, each folded 64 bytes ahead
        x0 = fold(x0, k1k2, _mm_loadu_si128(<const __m128i*>p))
        x1 = fold(x1, k1k2, _mm_loadu_si128(<const __m128i*>(p + 16)))
        x2 = fold(x2, k1k2, _mm_loadu_si128(<const __m128i*>(p + 32)))
        x3 = fold(x3, k1k2, _mm_loadu_si128(<const __m128i*>(p + 48)))
        p += 64
        n -= 64
    x0 = fold(x0, k3k4, x1)                     # four lanes into one
    x0 = fold(x0, k3k4, x2)
    x0 = fold(x0, k3k4, x3)
    while n >= 16:
        x0 = fold(x0, k3k4, _mm_loadu_si128(<const __m128i*>p))
        p += 16
        n -= 16
    # 128 bits -> 64: the low half times K4, added to the high half
    x1 = _mm_xor_si128(_mm_srli_si128(x0, 8), _mm_clmulepi64_si128(x0, k3k4, 0x10))
    # 64 -> 32 bits wide enough for Barrett: the low 32 bits times K5
    t = _mm_srli_si128(x1, 4)
    x1 = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x1, mask), k5, 0x00), t)
    # Barrett: q = (low 32 bits * MU) low 32 bits; crc = x - q * P
    t = _mm_and_si128(_mm_clmulepi64_si128(_mm_and_si128(x1, mask), poly, 0x10), mask)
    x1 = _mm_xor_si128(x1, _mm_clmulepi64_si128(t, poly, 0x00))
    crc = ~(<uint32_t>_mm_extract_epi32(x1, 1))
    return operations.crc32(crc, p, n)          # the last 0..15 bytes

def py_crc32(bytes data, uint32_t value=0):
    """Hosted entry (SSE is free to use outside the kernel): zlib.crc32's contract."""
    if not clmul_available():
        return operations.crc32(value, <const uint8_t*><const char*>data, len(data))
    return crc32_clmul(value, <const uint8_t*><const char*>data, len(data))

def py_clmul_available():
    return clmul_available()
