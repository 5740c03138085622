# The 128-bit steps of CRC-32 folding that crc_clmul and crc_vpclmul share:
# inline, so each compiles them with its own instruction set (a .pxd with no
# module behind it).  Intel, "Fast CRC Computation for Generic Polynomials
# Using PCLMULQDQ" (2009), in its bit-reflected form; P = 0x104C11DB7.  Each
# constant is x^e mod P, bit-reflected as 32 bits and shifted left once,
# derived and checked in tests/hosted/test_crc_fast.py.
from libc.stdint cimport uint8_t, uint32_t, int64_t
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

cdef inline __m128i load(const uint8_t* p) noexcept nogil:
    return _mm_loadu_si128(<const __m128i*>p)

cdef inline __m128i fold(__m128i x, __m128i k, __m128i next) noexcept nogil:
    """x advanced by k's distance (low half by k.lo, high half by k.hi), then + next."""
    return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00),
                                       _mm_clmulepi64_si128(x, k, 0x11)), next)

# x^(128+32), x^(128-32): one lane 16 bytes ahead
cdef inline __m128i k128() noexcept nogil:
    return _mm_set_epi64x(<int64_t>0x0CCAA009E, <int64_t>0x1751997D0)

cdef inline uint32_t tail(__m128i x, const uint8_t* p, size_t n) noexcept nogil:
    """The CRC of everything folded into x, then of p[0..n)."""
    cdef __m128i k5 = _mm_set_epi64x(0, <int64_t>0x163CD6124)            # x^64
    # P' = reflected P, MU = x^64 / P: Barrett reduction to 32 bits
    cdef __m128i poly = _mm_set_epi64x(<int64_t>0x1F7011641, <int64_t>0x1DB710641)
    cdef __m128i mask = _mm_setr_epi32(-1, 0, -1, 0)
    cdef __m128i t
    while n >= 16:
        x = fold(x, k128(), load(p))
        p += 16
        n -= 16
    # 128 bits -> 64: the low half times x^(128-32), added to the high half
    x = _mm_xor_si128(_mm_srli_si128(x, 8), _mm_clmulepi64_si128(x, k128(), 0x10))
    # 64 -> 32 bits wide enough for Barrett: the low 32 bits times x^64
    t = _mm_srli_si128(x, 4)
    x = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x, mask), k5, 0x00), t)
    # Barrett: q = (low 32 bits * MU) low 32 bits; crc = x - q * P
    t = _mm_and_si128(_mm_clmulepi64_si128(_mm_and_si128(x, mask), poly, 0x10), mask)
    x = _mm_xor_si128(x, _mm_clmulepi64_si128(t, poly, 0x00))
    return operations.crc32(~(<uint32_t>_mm_extract_epi32(x, 1)), p, n)   # the last 0..15 bytes
