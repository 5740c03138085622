# The write-ahead journal: a transaction's blocks reach their home only
# after the whole transaction is safely in the journal.
#
#   journal[0 .. k-1]    descriptors: "KWJD", txid, n, k, and up to
#                        PER_DESCRIPTOR home block numbers each
#   journal[k .. k+n-1]  the n blocks' new contents
#   journal[k+n]         commit: "KWJC", txid, n, CRC32 of all the above,
#                        seeded with the volume (kwe.fs.checksum) so a
#                        journal left by another volume never replays
#
# commit() writes descriptors and blocks, flushes, writes the commit block,
# flushes (the transaction is now committed), then writes every block home
# and flushes.  Each transaction reuses the journal from its start, which is
# safe because the previous one was already home.  replay() rewrites the
# journal's transaction if its commit block is there and its CRC matches;
# that is idempotent, and a half-written transaction fails the check and
# is ignored.  A transaction whose CRC holds but which names a home outside
# [first_home, end) (block 0, the superblock, is always allowed) was not
# written by TagFS: replay refuses it whole (JOURNAL_CORRUPT) and writes
# nothing.
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from kwe.dev.blockdev cimport BlockDev

cdef enum:
    JOURNAL_OK = 0
    JOURNAL_IO = -1
    JOURNAL_TOO_BIG = -2
    JOURNAL_CORRUPT = -3
    PER_DESCRIPTOR = 508

# Journal blocks a transaction of n blocks needs.
cdef uint64_t blocks_needed(uint64_t n) noexcept nogil
cdef int commit(BlockDev* d, uint64_t jstart, uint64_t jblocks, uint64_t txid, uint32_t seed,
                uint64_t* homes, uint8_t** blocks, uint32_t n) noexcept nogil
# Replay what the journal holds; *replayed = blocks rewritten (0: nothing committed there).
cdef struct Bounds:                 # where a journaled block may go home
    uint32_t seed
    uint64_t first_home
    uint64_t end

cdef int replay(BlockDev* d, uint64_t jstart, uint64_t jblocks, Bounds* b, uint32_t* replayed) noexcept nogil
