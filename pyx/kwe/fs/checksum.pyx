# See checksum.pxd.
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from kwe.common cimport operations
from kwe.dev.blockdev cimport BLOCK

cdef uint8_t zeros[4]

cdef uint32_t seed(const uint8_t* uuid) noexcept nogil:
    return operations.crc32(0, uuid, 16)

cdef uint32_t start(uint32_t seed, uint64_t bno) noexcept nogil:
    return operations.crc32(seed, <const uint8_t*>&bno, 8)

cdef uint32_t block_sum(uint32_t seed, uint64_t bno, const uint8_t* block, uint32_t field) noexcept nogil:
    cdef uint32_t crc = start(seed, bno)
    if field >= BLOCK:
        return operations.crc32(crc, block, BLOCK)
    crc = operations.crc32(crc, block, field)
    crc = operations.crc32(crc, zeros, 4)
    return operations.crc32(crc, block + field + 4, BLOCK - field - 4)

cdef void seal(uint32_t seed, uint64_t bno, uint8_t* block, uint32_t field) noexcept nogil:
    (<uint32_t*>(block + field))[0] = block_sum(seed, bno, block, field)

cdef bint sealed(uint32_t seed, uint64_t bno, const uint8_t* block, uint32_t field) noexcept nogil:
    return (<const uint32_t*>(block + field))[0] == block_sum(seed, bno, block, field)

cdef uint32_t bytes_sum(uint32_t seed, uint64_t bno, const uint8_t* p, uint32_t n) noexcept nogil:
    return operations.crc32(start(seed, bno), p, n)
