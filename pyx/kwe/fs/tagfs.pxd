# TagFS: files found by tags, on a block device, with a journal.
#
# On disk (4 KiB blocks; docs/tagfs.md):
#   0            superblock (CRC-checked; changes go through the journal)
#   1            its copy as mkfs wrote it (the layout, to find the journal
#                if block 0 is torn)
#   2..          journal (MAX_TX_BLOCKS + 2 blocks by default)
#   then         allocation bitmap, one bit per block
#   then         data: B+tree nodes and file contents
# Six B+trees index everything (TREE_*): files by id, their extents, tag
# names, tag ids, postings (tag, file) and per-file tags (file, tag).
#
# Every operation is atomic (its blocks roll back if it fails) and goes
# into the current transaction; sync() commits it.  Writes larger than a
# transaction are committed in pieces.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from kwe.dev.blockdev cimport BlockDev
from kwe.fs.bcache cimport Cache
from kwe.fs.btree cimport Tree

cdef enum:
    VERSION = 1
    TREE_FILES = 0              # file id -> FileRec
    TREE_EXTENTS = 1            # file id << 20 | n -> Extent
    TREE_TAGNAMES = 2           # hash(name) (+ probe) -> TagRec
    TREE_TAGIDS = 3             # tag id -> the TAGNAMES key
    TREE_POSTINGS = 4           # tag id << 40 | file id
    TREE_FILETAGS = 5           # file id << 24 | tag id
    NTREES = 6
    TAG_MAX = 118
    DEFAULT_JOURNAL_BLOCKS = 2048
    COMMIT_THRESHOLD = 512      # dirty blocks that make the next operation commit first
    WRITE_CHUNK_BLOCKS = 128    # blocks of file data per operation in large writes
    DEFAULT_CACHE_BLOCKS = 4096

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
    uint32_t checksum           # CRC32 of everything above

cdef struct FileRec:            # 64 bytes
    uint64_t size
    uint64_t ctime
    uint64_t mtime
    uint32_t ntags
    uint32_t next_extent        # key suffix for its next extent
    uint32_t label              # its class (abi.FILE_*): kept by the kernel, not a tag
    uint32_t reserved0
    uint64_t reserved[3]

cdef struct Extent:             # 16 bytes
    uint32_t logical            # first file block it holds
    uint32_t physical
    uint32_t count
    uint32_t reserved

cdef struct TagRec:             # 128 bytes
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
    uint64_t alloc_hint
    Clock now
    int failed                  # an I/O error happened: read-only until remounted
    bint mounted

# Make a filesystem on the whole device.
cdef int mkfs(BlockDev* dev, uint64_t journal_blocks, uint64_t now) noexcept nogil
# Replay the journal and mount (replayed: blocks the journal put back).
cdef int mount(FS* fs, BlockDev* dev, uint64_t cache_blocks, Clock now, uint32_t* replayed) noexcept nogil
cdef int unmount(FS* fs) noexcept nogil
cdef int sync(FS* fs) noexcept nogil
cdef uint64_t pending_blocks(FS* fs) noexcept nogil     # dirty, not yet committed

# Operation boundaries (the tag index and the Storage deck use them too).
cdef int begin(FS* fs) noexcept nogil
cdef int finish(FS* fs, int err) noexcept nogil

# Files and tags.  Each call is one atomic operation and returns E_OK or an
# E_* code of kwe.common.abi (E_NOENT, E_NOSPC, E_EXIST, E_INVAL, E_RANGE, E_IO).
# Tags are "key" or "key=value": 1..TAG_MAX bytes, no spaces, no parentheses,
# and not the query words AND, OR, NOT.
# tags: space-separated; label: the file's class (abi.FILE_*)
cdef int create(FS* fs, const char* tags, uint32_t label, uint64_t* id) noexcept nogil
cdef int delete(FS* fs, uint64_t id) noexcept nogil
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
