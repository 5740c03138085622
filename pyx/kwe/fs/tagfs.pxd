# TagFS: files found by tags, on a block device, with a journal.
#
# On disk (4 KiB blocks; docs/tagfs.md):
#   0            superblock (checksummed; changes go through the journal)
#   1            its copy as mkfs wrote it (the layout, to find the journal
#                if block 0 is torn)
#   2..          journal (MAX_TX_BLOCKS + 2 blocks by default)
#   then         allocation bitmap, one bit per block (BITMAP_BITS a block)
#   then         data: B+tree nodes and file contents
# Six B+trees index everything (TREE_*): files by id, their block maps, tag
# names, tag ids, postings (tag, file) and per-file tags (file, tag).
#
# Integrity (kwe.fs.checksum): the superblock, every tree node, every bitmap
# block and the journal carry a checksum seeded with the volume's UUID and
# the block's number; every data block's checksum is in the block-map chunk
# that points to it.  Everything is checked when it is read, and every
# number read from the disk is range-checked before use.  A failed check is
# E_CORRUPT to the caller and makes the volume read-only (E_ROFS) until it
# is mounted again.
# Every operation is atomic (its blocks roll back if it fails) and goes
# into the current transaction; sync() commits it.  Writes larger than a
# transaction are committed in pieces.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from kwe.dev.blockdev cimport BlockDev
from kwe.fs.bcache cimport Cache
from kwe.fs.btree cimport Tree
from kwe.fs.tagbits cimport BitCache

cdef enum:
    VERSION = 2
    TREE_FILES = 0              # file id -> FileRec
    TREE_CHUNKS = 1             # file id << 20 | n -> Chunk (file blocks n*8 .. n*8+7)
    TREE_TAGNAMES = 2           # hash(name) (+ probe) -> TagRec
    TREE_TAGIDS = 3             # tag id -> the TAGNAMES key
    TREE_POSTINGS = 4           # tag id << FILE_ID_BITS | file id
    TREE_FILETAGS = 5           # file id << TAG_ID_BITS | tag id
    NTREES = 6
    FILE_ID_BITS = 40           # the key layouts of the two trees above
    TAG_ID_BITS = 24
    TAG_MAX = 118
    DEFAULT_JOURNAL_BLOCKS = 2048   # at least; a sixteenth of a bigger volume, up to MAX_DEFAULT_JOURNAL
    MAX_DEFAULT_JOURNAL = 65536
    WRITE_CHUNK_BLOCKS = 128    # blocks of file data per operation in large writes
    MIN_CACHE_BLOCKS = 256
    DEFAULT_CACHE_SHARE = 4     # an unsized cache may grow to 1/4 of the free memory at mount
    BITS_SHARE = 8              # dense tags' bitmaps may take 1/8 of what the block cache may hold
    CHUNK_BLOCKS = 8            # file blocks a Chunk maps
    CHUNK_BITS = 20
    MAX_FILE_BLOCKS = CHUNK_BLOCKS << CHUNK_BITS     # 32 GiB
    BITMAP_BITS = (4096 - 8) * 8                     # bits a bitmap block holds; then "KWBM" and its sum
    SUPER_CLEAN = 1             # Super.state: unmounted cleanly, nothing to replay
    MOUNT_RDONLY = 1            # mount flags
    WHY_MAX = 160

cdef struct Super:
    char magic[8]               # "KWETAGFS"
    uint32_t version
    uint32_t block_size
    uint64_t nblocks
    uint64_t journal_start
    uint64_t journal_blocks
    uint64_t bitmap_start
    uint64_t bitmap_blocks
    uint64_t data_start
    uint64_t roots[8]
    uint64_t next_file_id
    uint64_t next_tag_id
    uint64_t nfiles
    uint64_t ntags
    uint64_t free_blocks
    uint64_t txid
    uint64_t created
    uint8_t uuid[16]            # seeds every checksum
    uint32_t state              # SUPER_CLEAN, or 0 while mounted (or after a crash)
    uint32_t checksum           # of everything above, seeded (kwe.fs.checksum)

cdef struct FileRec:            # 64 bytes
    uint64_t size
    uint64_t ctime
    uint64_t mtime
    uint32_t ntags
    uint32_t reserved0
    uint32_t label              # its class (abi.FILE_*): kept by the kernel, not a tag
    uint32_t reserved1
    uint64_t reserved[3]

cdef struct Chunk:              # 64 bytes: CHUNK_BLOCKS consecutive blocks of a file
    uint32_t physical[CHUNK_BLOCKS]     # 0: a hole
    uint32_t crc[CHUNK_BLOCKS]          # checksum.block_sum of each (seeded, NO_FIELD)

cdef struct TagRec:             # 132 bytes
    uint32_t tag_id
    uint32_t nfiles
    uint16_t length
    char name[TAG_MAX]
    uint16_t reserved

ctypedef uint64_t (*Clock)() noexcept nogil      # seconds since 1970

cdef struct FS:
    BlockDev* dev
    Cache cache
    Super sb
    Tree trees[NTREES]
    BitCache bits               # dense tags' bitmaps, for queries (kwe.fs.tagbits)
    uint64_t alloc_hint
    Clock now
    uint32_t seed               # checksum.seed(sb.uuid)
    uint32_t flags              # MOUNT_*
    int failed                  # E_IO or E_CORRUPT happened: read-only until remounted
    uint64_t op_mark            # cache faults when the current operation began
    bint mounted
    bint was_clean              # the superblock said SUPER_CLEAN: nothing was replayed
    char why[WHY_MAX]           # what the last refused mount or failed check found

# Make a filesystem on the whole device, with this 16-byte UUID.
cdef int mkfs(BlockDev* dev, uint64_t journal_blocks, uint64_t now, const uint8_t* uuid) noexcept nogil
# Check the superblock, replay the journal unless the volume was unmounted
# cleanly, check the tree roots, and mount (replayed: blocks the journal put
# back).  cache_blocks: how many clean blocks the cache keeps between
# operations; 0 sizes it from memory (cache_for).  A disk that fails a check is refused: E_CORRUPT (E_NOTSUP for
# another format version), with fs.why saying what and how to go on.
cdef int mount(FS* fs, BlockDev* dev, uint64_t cache_blocks, Clock now, uint32_t flags,
               uint32_t* replayed) noexcept nogil
cdef int unmount(FS* fs) noexcept nogil             # commits, and records a clean unmount
# The cache an unsized mount gets: 1/share of the free memory, at least
# MIN_CACHE_BLOCKS, at most the whole volume.
cdef uint64_t cache_for(BlockDev* dev, uint64_t share) noexcept nogil
cdef int sync(FS* fs) noexcept nogil
cdef uint64_t pending_blocks(FS* fs) noexcept nogil     # dirty, not yet committed

# Operation boundaries (the tag index and the Storage deck use them too).
cdef int begin(FS* fs) noexcept nogil
cdef int finish(FS* fs, int err) noexcept nogil
# Reads between these: a check that failed since `mark` makes the result
# E_CORRUPT (and the volume read-only), whatever the reader computed.
cdef uint64_t mark(FS* fs) noexcept nogil
cdef int64_t settle(FS* fs, uint64_t mark, int64_t result) noexcept nogil

# Files and tags.  Each call is one atomic operation and returns E_OK or an
# E_* code of kwe.common.abi (E_NOENT, E_NOSPC, E_EXIST, E_INVAL, E_RANGE, E_IO,
# E_CORRUPT, E_ROFS).
# Tags are what kwe.common.tags.check() accepts ("key" or "key=value", UTF-8, ...).
# tags: space-separated; label: the file's class (abi.FILE_*)
cdef int create(FS* fs, const char* tags, uint32_t label, uint64_t* id) noexcept nogil
# Bulk loading: count files, their tag lists separated by '\n', into ids,
# many to an operation (pieces that fit the journal); made: how many are
# in.  A failing piece is rolled back whole and ends the load.
cdef int create_many(FS* fs, const char* lists, uint32_t label, uint64_t* ids, uint64_t count,
                     uint64_t* made) noexcept nogil
cdef int delete(FS* fs, uint64_t id) noexcept nogil
# Repair only: an empty file with a given id and times (E_EXIST if taken).
cdef int adopt(FS* fs, uint64_t id, uint32_t label, uint64_t ctime, uint64_t mtime) noexcept nogil
cdef int stat(FS* fs, uint64_t id, FileRec* out) noexcept nogil
cdef int write(FS* fs, uint64_t id, uint64_t offset, const uint8_t* data, uint64_t n) noexcept nogil
cdef int64_t read(FS* fs, uint64_t id, uint64_t offset, uint8_t* buf, uint64_t n) noexcept nogil
cdef int truncate(FS* fs, uint64_t id, uint64_t size) noexcept nogil
cdef int tag(FS* fs, uint64_t id, const char* name, size_t n) noexcept nogil
cdef int untag(FS* fs, uint64_t id, const char* name, size_t n) noexcept nogil
# The file's tags, one per line, into out (NUL-terminated); the full length, or < 0.
cdef int64_t tags(FS* fs, uint64_t id, char* out, size_t cap) noexcept nogil
cdef bint valid_tag(const char* name, size_t n) noexcept nogil
# For queries: a tag's id and file count (E_NOENT if no file has it).
cdef int find_tag(FS* fs, const char* name, size_t n, uint32_t* tag_id, uint32_t* nfiles) noexcept nogil
cdef bint has_tag(FS* fs, uint64_t file_id, uint32_t tag_id) noexcept nogil
# A tag's record by id (E_CORRUPT if the indexes disagree).
cdef int tag_of_id(FS* fs, uint32_t tag_id, uint64_t* key, TagRec* rec) noexcept nogil
# A file's chunk n, range-checked (E_NOENT: all hole).
cdef int get_chunk(FS* fs, uint64_t id, uint32_t n, Chunk* out) noexcept nogil
cdef uint32_t data_sum(FS* fs, uint64_t bno, const uint8_t* block) noexcept nogil
