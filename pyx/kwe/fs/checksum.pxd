# Checksums of TagFS's on-disk blocks.  Every sum is seeded with the
# volume's UUID and the block's own number, so a block from another volume,
# one written to the wrong place, or two swapped blocks all fail as surely
# as a flipped bit.  A metadata block carries its sum in a 4-byte field of
# its own (at `field`; the sum covers the block with that field as zeros);
# a data block's sum lives in the metadata that points to it (NO_FIELD).
from libc.stdint cimport uint8_t, uint32_t, uint64_t

cdef enum:
    NO_FIELD = 0xFFFFFFFF

cdef uint32_t seed(const uint8_t* uuid) noexcept nogil          # uuid: 16 bytes
cdef uint32_t block_sum(uint32_t seed, uint64_t bno, const uint8_t* block, uint32_t field) noexcept nogil
cdef void seal(uint32_t seed, uint64_t bno, uint8_t* block, uint32_t field) noexcept nogil
cdef bint sealed(uint32_t seed, uint64_t bno, const uint8_t* block, uint32_t field) noexcept nogil
# The same over a buffer shorter than a block (the superblock's fields).
cdef uint32_t bytes_sum(uint32_t seed, uint64_t bno, const uint8_t* p, uint32_t n) noexcept nogil
