# The write-ahead journal: a transaction's blocks reach their home only
# after the whole transaction is safely in the journal.
#
#   journal[0 .. k-1]    descriptors: "KWJD", txid, n, k, and up to
#                        PER_DESCRIPTOR entries each: a block's home, and the
#                        checksum that covers it (kwe.fs.checksum, seeded with
#                        the volume and the home) with where that sum's field is
#   journal[k .. k+n-1]  the n blocks' new contents
#   journal[k+n]         commit: "KWJC", txid, n, CRC32 of the descriptors,
#                        seeded with the volume, so a journal left by another
#                        volume never replays
#
# Each block's content is checksummed once per commit: a metadata block's
# sum is the one its seal wrote into it, a data block's the one its chunk
# records.  commit() writes descriptors and blocks, flushes, writes the
# commit block, flushes (the transaction is now committed), then writes every
# block home and flushes.  Each transaction reuses the journal from its start,
# which is safe because the previous one was already home.  replay() rewrites
# the journal's transaction if its commit block is there, its CRC matches and
# every block matches its entry's sum; that is idempotent, and a
# half-written transaction fails the check and is ignored.  A transaction
# whose checks hold but which names a home outside [first_home, end) (block
# 0, the superblock, is always allowed) was not written by TagFS: replay
# refuses it whole (JOURNAL_CORRUPT) and writes nothing.
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from kwe.dev.blockdev cimport BlockDev

cdef enum:
    JOURNAL_OK = 0
    JOURNAL_IO = -1
    JOURNAL_TOO_BIG = -2
    JOURNAL_CORRUPT = -3
    PER_DESCRIPTOR = 254           # (4096 - 24) / 16 entries

cdef struct Entry:                 # 16 bytes
    uint64_t home
    uint32_t sum
    uint32_t field                 # checksum.NO_FIELD: the sum covers the whole block

# Journal blocks a transaction of n blocks needs.
cdef uint64_t blocks_needed(uint64_t n) noexcept nogil
cdef int commit(BlockDev* d, uint64_t jstart, uint64_t jblocks, uint64_t txid, uint32_t seed,
                Entry* entries, uint8_t** blocks, uint32_t n) noexcept nogil
# Replay what the journal holds; *replayed = blocks rewritten (0: nothing committed there).
cdef struct Bounds:                 # where a journaled block may go home
    uint32_t seed
    uint64_t first_home
    uint64_t end

cdef int replay(BlockDev* d, uint64_t jstart, uint64_t jblocks, Bounds* b, uint32_t* replayed) noexcept nogil
