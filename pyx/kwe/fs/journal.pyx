# See journal.pxd.
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.string cimport memset, memcpy
from kwe.dev cimport blockdev
from kwe.mm cimport heap
from kwe.common cimport operations
from kwe.fs cimport checksum
from kwe.dev.blockdev cimport BlockDev, BLOCK

cdef enum:
    JOURNAL_TORN = -100            # inside replay only: a transaction that never committed
    DESC_MAGIC = 0x444A574B        # "KWJD"
    COMMIT_MAGIC = 0x434A574B      # "KWJC"

cdef struct Descriptor:            # then Entry entries[up to PER_DESCRIPTOR]
    uint32_t magic
    uint32_t n                     # blocks in the transaction
    uint64_t txid
    uint32_t index                 # which descriptor this is
    uint32_t count                 # how many descriptors

cdef struct Commit:
    uint32_t magic
    uint32_t n
    uint64_t txid
    uint32_t crc

cdef uint64_t blocks_needed(uint64_t n) noexcept nogil:
    return (n + PER_DESCRIPTOR - 1) / PER_DESCRIPTOR + n + 1

cdef uint32_t descs_sum(uint32_t seed, uint8_t* descs, uint32_t k) noexcept nogil:
    return operations.crc32(seed, descs, <size_t>k * BLOCK)

cdef Entry* entry(uint8_t* descs, uint32_t i) noexcept nogil:
    return <Entry*>(descs + <size_t>(i / PER_DESCRIPTOR) * BLOCK + sizeof(Descriptor)) + i % PER_DESCRIPTOR

cdef bint blocks_match(uint32_t seed, uint8_t* descs, uint8_t** blocks, uint32_t n) noexcept nogil:
    """Does every journaled block still hold what its entry's sum covers?"""
    cdef uint32_t i
    cdef Entry* e
    for i in range(n):
        e = entry(descs, i)
        if checksum.block_sum(seed, e.home, blocks[i], e.field) != e.sum:
            return False
    return True

cdef uint8_t* descriptors(uint64_t txid, Entry* entries, uint32_t n, uint32_t k) noexcept nogil:
    cdef uint8_t* descs = <uint8_t*>heap.kzalloc(<size_t>k * BLOCK)
    cdef Descriptor* h
    cdef uint32_t i, take
    if descs == NULL:
        return NULL
    for i in range(k):
        h = <Descriptor*>(descs + <size_t>i * BLOCK)
        h.magic, h.n, h.txid, h.index, h.count = DESC_MAGIC, n, txid, i, k
        take = n - i * PER_DESCRIPTOR if n - i * PER_DESCRIPTOR < PER_DESCRIPTOR else PER_DESCRIPTOR
        memcpy(<uint8_t*>h + sizeof(Descriptor), entries + i * PER_DESCRIPTOR, take * sizeof(Entry))
    return descs

cdef int commit(BlockDev* d, uint64_t jstart, uint64_t jblocks, uint64_t txid, uint32_t seed,
                Entry* entries, uint8_t** blocks, uint32_t n) noexcept nogil:
    cdef uint32_t k = (n + PER_DESCRIPTOR - 1) / PER_DESCRIPTOR, i
    cdef uint8_t* descs
    cdef uint8_t* cblk
    cdef Commit* c
    cdef int err = JOURNAL_OK
    if blocks_needed(n) > jblocks:
        return JOURNAL_TOO_BIG
    descs = descriptors(txid, entries, n, k)
    cblk = <uint8_t*>heap.kzalloc(BLOCK)
    if descs == NULL or cblk == NULL:
        heap.kfree(descs)
        heap.kfree(cblk)
        return JOURNAL_IO
    c = <Commit*>cblk
    c.magic, c.n, c.txid = COMMIT_MAGIC, n, txid
    c.crc = descs_sum(seed, descs, k)
    # 1. the transaction into the journal; then, after a flush, its commit block
    if blockdev.write(d, jstart, k, descs) != 0:
        err = JOURNAL_IO
    for i in range(n):
        if err == JOURNAL_OK and blockdev.write(d, jstart + k + i, 1, blocks[i]) != 0:
            err = JOURNAL_IO
    if err == JOURNAL_OK and (blockdev.flush(d) != 0 or blockdev.write(d, jstart + k + n, 1, cblk) != 0
                              or blockdev.flush(d) != 0):
        err = JOURNAL_IO
    # 2. committed: now the homes
    for i in range(n):
        if err == JOURNAL_OK and blockdev.write(d, entries[i].home, 1, blocks[i]) != 0:
            err = JOURNAL_IO
    if err == JOURNAL_OK and blockdev.flush(d) != 0:
        err = JOURNAL_IO
    heap.kfree(descs)
    heap.kfree(cblk)
    return err

cdef int replay(BlockDev* d, uint64_t jstart, uint64_t jblocks, Bounds* b, uint32_t* replayed) noexcept nogil:
    # The first block goes on the heap: on the stack it would be a quarter of a
    # kernel stack (tools/build/stackcheck.py bounds frames).  No memory is an
    # I/O error, as for the other buffers replay needs.
    cdef uint8_t* first = <uint8_t*>heap.kmalloc(BLOCK)
    cdef int err
    replayed[0] = 0
    if first == NULL:
        return JOURNAL_IO
    err = replay_from(d, jstart, jblocks, b, replayed, first)
    heap.kfree(first)
    return err

cdef uint64_t home(uint8_t* descs, uint32_t i) noexcept nogil:
    return entry(descs, i).home

cdef bint homes_valid(uint8_t* descs, uint32_t n, Bounds* b) noexcept nogil:
    cdef uint32_t i
    cdef uint64_t h
    for i in range(n):
        h = home(descs, i)
        if h != 0 and (h < b.first_home or h >= b.end):
            return False
    return True

cdef int replay_from(BlockDev* d, uint64_t jstart, uint64_t jblocks, Bounds* bounds, uint32_t* replayed,
                     uint8_t* first) noexcept nogil:
    """replay(), with a block-sized buffer for the journal's first block."""
    cdef Descriptor* h = <Descriptor*>first
    cdef uint8_t* descs = NULL
    cdef uint8_t* cblk = NULL
    cdef uint8_t** blocks = NULL
    cdef Commit* c
    cdef uint32_t i, n = 0, k = 0
    cdef int err = JOURNAL_OK
    replayed[0] = 0
    if blockdev.read(d, jstart, 1, first) != 0:
        return JOURNAL_IO
    if h.magic != DESC_MAGIC or h.n == 0 or h.index != 0 or h.count != (h.n + PER_DESCRIPTOR - 1) / PER_DESCRIPTOR \
            or blocks_needed(h.n) > jblocks:
        return JOURNAL_OK                           # nothing committed here
    n, k = h.n, h.count
    descs = <uint8_t*>heap.kmalloc(<size_t>k * BLOCK)
    cblk = <uint8_t*>heap.kmalloc(BLOCK)
    blocks = <uint8_t**>heap.kzalloc(n * sizeof(uint8_t*))
    if descs == NULL or cblk == NULL or blocks == NULL or blockdev.read(d, jstart, k, descs) != 0 \
            or blockdev.read(d, jstart + k + n, 1, cblk) != 0:
        err = JOURNAL_IO
    c = <Commit*>cblk
    if err == JOURNAL_OK and c.magic == COMMIT_MAGIC and c.txid == h.txid and c.n == n:
        for i in range(n):
            blocks[i] = <uint8_t*>heap.kmalloc(BLOCK)
            if blocks[i] == NULL or blockdev.read(d, jstart + k + i, 1, blocks[i]) != 0:
                err = JOURNAL_IO
                break
        if err == JOURNAL_OK and (descs_sum(bounds.seed, descs, k) != c.crc
                                  or not blocks_match(bounds.seed, descs, blocks, n)):
            err = JOURNAL_TORN                      # never committed whole: ignored
        if err == JOURNAL_OK and not homes_valid(descs, n, bounds):
            err = JOURNAL_CORRUPT
        if err == JOURNAL_OK:
            for i in range(n):
                if blockdev.write(d, home(descs, i), 1, blocks[i]) != 0:
                    err = JOURNAL_IO
                    break
            if err == JOURNAL_OK and blockdev.flush(d) == 0:
                replayed[0] = n
    if blocks != NULL:
        for i in range(n):
            heap.kfree(blocks[i])
    heap.kfree(blocks)
    heap.kfree(descs)
    heap.kfree(cblk)
    return JOURNAL_OK if err == JOURNAL_TORN else err
