# Block devices in 4 KiB blocks: the interface TagFS uses, with two
# backends -- the ATA disk (a region of it, in the kernel) and a memory disk
# (hosted: tests and tools/kwe fs), which can record every block write and
# flush so crash tests can replay any prefix of them.
from libc.stdint cimport uint8_t, uint32_t, uint64_t

cdef enum:
    BLOCK = 4096
    SECTORS_PER_BLOCK = 8
    BDEV_OK = 0
    BDEV_IO = -1                # the device reported an error
    BDEV_RANGE = -2             # beyond the end of the device

ctypedef int (*ReadFn)(void* ctx, uint64_t block, uint32_t count, void* buf) noexcept nogil
ctypedef int (*WriteFn)(void* ctx, uint64_t block, uint32_t count, const void* buf) noexcept nogil
ctypedef int (*FlushFn)(void* ctx) noexcept nogil

cdef struct BlockDev:
    void* ctx
    ReadFn read
    WriteFn write
    FlushFn flush
    uint64_t nblocks

# The ATA disk from sector `first_sector`, nblocks blocks long.
cdef void ata_region(BlockDev* d, uint64_t first_sector, uint64_t nblocks) noexcept nogil
cdef int read(BlockDev* d, uint64_t block, uint32_t count, void* buf) noexcept nogil
cdef int write(BlockDev* d, uint64_t block, uint32_t count, const void* buf) noexcept nogil
cdef int flush(BlockDev* d) noexcept nogil
