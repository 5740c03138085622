# See crc_vpclmul.pxd.  The method is crc_clmul's, on four 128-bit lanes per
# register and four registers: 256 bytes folded per step.  The constants
# (x^e mod P, bit-reflected, shifted left once; checked in
# tests/hosted/test_crc_fast.py):
#   x^(2048+32), x^(2048-32)   fold 256 bytes ahead (the main loop)
#   x^(1536+-32), x^(1024+-32), x^(512+-32)
#                              fold 192, 128 and 64 bytes ahead (registers into one)
from libc.stdint cimport uint8_t, uint32_t, int64_t
from kwe.common.crc_fold cimport __m128i, tail, _mm_set_epi64x, _mm_cvtsi32_si128, _mm_xor_si128

cdef extern from "<immintrin.h>" nogil:
    ctypedef struct __m512i:
        pass
    __m512i _mm512_loadu_si512(const void* p)
    __m512i _mm512_clmulepi64_epi128(__m512i a, __m512i b, int imm)
    __m512i _mm512_ternarylogic_epi64(__m512i a, __m512i b, __m512i c, int imm)
    __m512i _mm512_broadcast_i32x4(__m128i a)
    __m512i _mm512_zextsi128_si512(__m128i a)
    __m512i _mm512_xor_si512(__m512i a, __m512i b)
    __m512i _mm512_setzero_si512()
    __m512i _mm512_set_epi64(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t)
    __m128i _mm512_extracti32x4_epi32(__m512i a, int imm)
    __m128i _mm_ternarylogic_epi64(__m128i a, __m128i b, __m128i c, int imm)
    void _mm_prefetch(const char* p, int hint)
    int _MM_HINT_T0

cdef enum:
    XOR3 = 0x96                 # vpternlogq's truth table for a ^ b ^ c
    AHEAD = 2048                # how far ahead the main loop prefetches...
    BIG = 32768                 # ...while this much is left (less fits in L1)

cdef inline __m512i fold(__m512i x, __m512i k, __m512i next) noexcept nogil:
    """Every lane of x advanced by k's distance, then + next (crc_fold.fold, x4)."""
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00),
                                     _mm512_clmulepi64_epi128(x, k, 0x11), next, XOR3)

cdef inline __m512i load(const uint8_t* p) noexcept nogil:
    return _mm512_loadu_si512(p)

cdef inline __m512i broadcast(int64_t hi, int64_t lo) noexcept nogil:
    return _mm512_broadcast_i32x4(_mm_set_epi64x(hi, lo))

cdef inline void ahead(const uint8_t* p) noexcept nogil:
    cdef int i
    for i in range(4):
        _mm_prefetch(<const char*>p + 64 * i, _MM_HINT_T0)

cdef uint32_t crc32_vpclmul(uint32_t crc, const uint8_t* p, size_t n) noexcept nogil:
    cdef __m512i k2048 = broadcast(<int64_t>0x1322D1430, <int64_t>0x11542778A)
    cdef __m512i x0, x1, x2, x3
    x0 = _mm512_xor_si512(load(p), _mm512_zextsi128_si512(_mm_cvtsi32_si128(<int>~crc)))
    x1, x2, x3 = load(p + 64), load(p + 128), load(p + 192)
    p += 256
    n -= 256
    while n >= 256:
        if n >= BIG:                        # from L2 on, hardware prefetch alone falls short
            ahead(p + AHEAD)
        x0 = fold(x0, k2048, load(p))
        x1 = fold(x1, k2048, load(p + 64))
        x2 = fold(x2, k2048, load(p + 128))
        x3 = fold(x3, k2048, load(p + 192))
        p += 256
        n -= 256
    return rest(registers_into_one(x0, x1, x2, x3), p, n)

cdef inline __m512i registers_into_one(__m512i x0, __m512i x1, __m512i x2, __m512i x3) noexcept nogil:
    """Each folded by its own distance, the multiplies in parallel."""
    cdef __m512i k1536 = broadcast(<int64_t>0x12E958AC4, <int64_t>0x1821D8BC0)
    cdef __m512i k1024 = broadcast(<int64_t>0x14A7FE880, <int64_t>0x1E88EF372)
    cdef __m512i k512 = broadcast(<int64_t>0x1C6E41596, <int64_t>0x154442BD4)
    return fold(x0, k1536, fold(x1, k1024, fold(x2, k512, x3)))

cdef inline uint32_t rest(__m512i x, const uint8_t* p, size_t n) noexcept nogil:
    """64 bytes at a time into x, then its four lanes into one, then crc_fold's tail."""
    cdef __m512i k512 = broadcast(<int64_t>0x1C6E41596, <int64_t>0x154442BD4)
    # lane by lane, lowest first: x^(384+-32), x^(256+-32), x^(128+-32), none
    cdef __m512i klanes = _mm512_set_epi64(0, 0, <int64_t>0x0CCAA009E, <int64_t>0x1751997D0,
                                           <int64_t>0x15A546366, <int64_t>0x0F1DA05AA,
                                           <int64_t>0x174359406, <int64_t>0x3DB1ECDC)
    cdef __m512i t
    cdef __m128i lane
    while n >= 64:
        x = fold(x, k512, load(p))
        p += 64
        n -= 64
    t = fold(x, klanes, _mm512_setzero_si512())
    lane = _mm_ternarylogic_epi64(_mm512_extracti32x4_epi32(t, 0), _mm512_extracti32x4_epi32(t, 1),
                                  _mm512_extracti32x4_epi32(t, 2), XOR3)
    return tail(_mm_xor_si128(lane, _mm512_extracti32x4_epi32(x, 3)), p, n)
