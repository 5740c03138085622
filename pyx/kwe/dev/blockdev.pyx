# See blockdev.pxd.
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy, memset
from libc.stdlib cimport malloc, free, realloc
from kwe.dev cimport ata

cdef struct AtaRegion:
    uint64_t first_sector

cdef AtaRegion region               # one ATA disk, so one region is enough

cdef int ata_read(void* ctx, uint64_t block, uint32_t count, void* buf) noexcept nogil:
    cdef AtaRegion* r = <AtaRegion*>ctx
    return BDEV_OK if ata.read(r.first_sector + block * SECTORS_PER_BLOCK, count * SECTORS_PER_BLOCK,
                               buf) == ata.ATA_OK else BDEV_IO

cdef int ata_write(void* ctx, uint64_t block, uint32_t count, const void* buf) noexcept nogil:
    cdef AtaRegion* r = <AtaRegion*>ctx
    return BDEV_OK if ata.write(r.first_sector + block * SECTORS_PER_BLOCK, count * SECTORS_PER_BLOCK,
                                buf) == ata.ATA_OK else BDEV_IO

cdef int ata_flush(void* ctx) noexcept nogil:
    return BDEV_OK if ata.flush() == ata.ATA_OK else BDEV_IO

cdef void ata_region(BlockDev* d, uint64_t first_sector, uint64_t nblocks) noexcept nogil:
    region.first_sector = first_sector
    d.ctx = &region
    d.read, d.write, d.flush = ata_read, ata_write, ata_flush
    d.nblocks = nblocks

cdef int read(BlockDev* d, uint64_t block, uint32_t count, void* buf) noexcept nogil:
    if block > d.nblocks or count > d.nblocks - block:
        return BDEV_RANGE
    return d.read(d.ctx, block, count, buf)

cdef int write(BlockDev* d, uint64_t block, uint32_t count, const void* buf) noexcept nogil:
    if block > d.nblocks or count > d.nblocks - block:
        return BDEV_RANGE
    return d.write(d.ctx, block, count, buf)

cdef int flush(BlockDev* d) noexcept nogil:
    return d.flush(d.ctx)

# ---- hosted: a disk in memory ------------------------------------------------------
cdef struct Mem:
    uint8_t* data
    uint64_t nblocks
    bint recording
    uint8_t* log                    # records: [u64 block (or FLUSH)][4096 bytes unless FLUSH]
    uint64_t log_len, log_cap
    uint64_t writes, flushes
    int64_t fail_after              # writes left before the disk "dies" (-1: never)

cdef enum:
    FLUSH_MARK = 0xFFFFFFFFFFFFFFFF

cdef void log_append(Mem* m, uint64_t tag, const void* data) noexcept nogil:
    cdef uint64_t need = 8 + (BLOCK if data != NULL else 0)
    if m.log_len + need > m.log_cap:
        m.log_cap = (m.log_cap + need) * 2
        m.log = <uint8_t*>realloc(m.log, m.log_cap)
    memcpy(m.log + m.log_len, &tag, 8)
    if data != NULL:
        memcpy(m.log + m.log_len + 8, data, BLOCK)
    m.log_len += need

cdef int mem_read(void* ctx, uint64_t block, uint32_t count, void* buf) noexcept nogil:
    cdef Mem* m = <Mem*>ctx
    memcpy(buf, m.data + block * BLOCK, count * BLOCK)
    return BDEV_OK

cdef int mem_write(void* ctx, uint64_t block, uint32_t count, const void* buf) noexcept nogil:
    cdef Mem* m = <Mem*>ctx
    cdef uint32_t i
    for i in range(count):
        if m.fail_after == 0:
            return BDEV_IO
        if m.fail_after > 0:
            m.fail_after -= 1
        memcpy(m.data + (block + i) * BLOCK, <const uint8_t*>buf + i * BLOCK, BLOCK)
        m.writes += 1
        if m.recording:
            log_append(m, block + i, <const uint8_t*>buf + i * BLOCK)
    return BDEV_OK

cdef int mem_flush(void* ctx) noexcept nogil:
    cdef Mem* m = <Mem*>ctx
    m.flushes += 1
    if m.recording:
        log_append(m, FLUSH_MARK, NULL)
    return BDEV_OK

cdef class MemDisk:
    """A block device in memory.  image: initial bytes (a multiple of 4096)."""
    cdef Mem m
    cdef BlockDev dev

    def __cinit__(self, uint64_t nblocks=0, bytes image=None):
        if image is not None:
            nblocks = len(image) // BLOCK
        self.m.data = <uint8_t*>malloc(nblocks * BLOCK if nblocks else 1)
        if self.m.data == NULL:
            raise MemoryError()
        memset(self.m.data, 0, nblocks * BLOCK)
        if image is not None:
            memcpy(self.m.data, <const char*>image, nblocks * BLOCK)
        self.m.nblocks = nblocks
        self.m.fail_after = -1
        self.dev.ctx = &self.m
        self.dev.read, self.dev.write, self.dev.flush = mem_read, mem_write, mem_flush
        self.dev.nblocks = nblocks

    def __dealloc__(self):
        free(self.m.data)
        free(self.m.log)

    def device(self):
        """The BlockDev's address, for hosted TagFS entry points."""
        return <uint64_t>&self.dev

    def image(self):
        return (<char*>self.m.data)[:self.m.nblocks * BLOCK]

    def record(self, bint on=True):
        """Start (or stop) logging every block write and flush."""
        self.m.recording = on
        self.m.log_len = 0

    def log(self):
        """[(block, data) or ("flush", None)] in the order the device saw them."""
        out = []
        cdef uint64_t at = 0, tag
        while at < self.m.log_len:
            memcpy(&tag, self.m.log + at, 8)
            if tag == FLUSH_MARK:
                out.append(("flush", None))
                at += 8
            else:
                out.append((tag, (<char*>self.m.log)[at + 8:at + 8 + BLOCK]))
                at += 8 + BLOCK
        return out

    def fail_after(self, int64_t n):
        """Fail every block write after the next n (-1: never)."""
        self.m.fail_after = n

    def stats(self):
        return {"writes": self.m.writes, "flushes": self.m.flushes, "blocks": self.m.nblocks}
