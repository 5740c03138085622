# See crc_clmul.pxd; the steps are crc_fold's.  Four lanes, each folded 64
# bytes ahead, by x^(512+32), x^(512-32); at the end the lanes fold into one
# by 48, 32 and 16 bytes: x^(384+-32), x^(256+-32), x^(128+-32).
from libc.stdint cimport uint8_t, uint32_t, int64_t
from kwe.common cimport operations
from kwe.common.crc_fold cimport (__m128i, load, fold, k128, tail, _mm_xor_si128,
                                  _mm_cvtsi32_si128, _mm_set_epi64x)

cdef extern from "isa.h" nogil:
    void isa_cpuid(uint32_t, uint32_t, uint32_t*)

cdef enum:
    CPUID_PCLMUL = 1 << 1
    CPUID_SSE41 = 1 << 19

cdef int clmul_state = 0                     # 0: not checked yet, 1: yes, 2: no

cdef bint clmul_available() noexcept nogil:
    global clmul_state
    cdef uint32_t r[4]
    if clmul_state == 0:
        isa_cpuid(1, 0, r)
        clmul_state = 1 if (r[2] & CPUID_PCLMUL) and (r[2] & CPUID_SSE41) else 2
    return clmul_state == 1

cdef uint32_t crc32_clmul(uint32_t crc, const uint8_t* p, size_t n) noexcept nogil:
    cdef __m128i k512 = _mm_set_epi64x(<int64_t>0x1C6E41596, <int64_t>0x154442BD4)
    cdef __m128i x0, x1, x2, x3
    if n < 64:
        return operations.crc32(crc, p, n)
    # the bit-reflected register, pre-inverted, enters with the first bytes
    x0 = _mm_xor_si128(load(p), _mm_cvtsi32_si128(<int>~crc))
    x1, x2, x3 = load(p + 16), load(p + 32), load(p + 48)
    p += 64
    n -= 64
    while n >= 64:
        x0 = fold(x0, k512, load(p))
        x1 = fold(x1, k512, load(p + 16))
        x2 = fold(x2, k512, load(p + 32))
        x3 = fold(x3, k512, load(p + 48))
        p += 64
        n -= 64
    return tail(lanes_into_one(x0, x1, x2, x3), p, n)

cdef inline __m128i lanes_into_one(__m128i x0, __m128i x1, __m128i x2, __m128i x3) noexcept nogil:
    """Each lane folded by its own distance: the multiplies run in parallel."""
    cdef __m128i k384 = _mm_set_epi64x(<int64_t>0x174359406, <int64_t>0x3DB1ECDC)
    cdef __m128i k256 = _mm_set_epi64x(<int64_t>0x15A546366, <int64_t>0x0F1DA05AA)
    return fold(x0, k384, fold(x1, k256, fold(x2, k128(), x3)))

def py_crc32(bytes data, uint32_t value=0):
    """Hosted entry, the kernel's folding (128-bit lanes): zlib.crc32's contract."""
    if not clmul_available():
        return operations.crc32(value, <const uint8_t*><const char*>data, len(data))
    return crc32_clmul(value, <const uint8_t*><const char*>data, len(data))

def py_clmul_available():
    return clmul_available()
