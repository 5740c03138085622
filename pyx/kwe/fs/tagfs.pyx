# See tagfs.pxd and docs/tagfs.md.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy, memset, memcmp
from kwe.common cimport abi, operations, kstr
from kwe.common.tags cimport check as check_tag
from kwe.dev cimport blockdev
from kwe.fs cimport bcache, btree, journal, checksum, tagbits
from kwe.mm cimport heap, pmm
from kwe.dev.blockdev cimport BlockDev, BLOCK
from kwe.fs.btree cimport Tree, Cursor
from kwe.common.format cimport format_buf

cdef enum:
    TAG_PROBES = 64
    BITMAP_MAGIC = 0x4D42574B        # "KWBM", before a bitmap block's checksum
    BITMAP_SUM_FIELD = BLOCK - 4
    MIN_JOURNAL = 64

cdef uint32_t value_size(int tree) noexcept nogil:
    if tree == TREE_FILES:
        return sizeof(FileRec)
    if tree == TREE_CHUNKS:
        return sizeof(Chunk)
    if tree == TREE_TAGNAMES:
        return sizeof(TagRec)
    if tree == TREE_TAGIDS:
        return 8
    return 0

cdef void say(FS* fs, const char* fmt, uint64_t a=0, uint64_t b=0) noexcept nogil:
    """Why a mount was refused or a check failed, for fs.why."""
    cdef uint64_t args[2]
    args[0], args[1] = a, b
    format_buf(fs.why, WHY_MAX, fmt, args, 2)

# ---- the superblock ---------------------------------------------------------------------
cdef uint32_t sb_checksum(Super* sb, uint64_t bno) noexcept nogil:
    cdef uint32_t seed = checksum.seed(sb.uuid)
    return checksum.bytes_sum(seed, bno, <const uint8_t*>sb, <uint32_t>(<char*>&sb.checksum - <char*>sb))

cdef void sb_seal(Super* sb, uint64_t bno) noexcept nogil:
    sb.checksum = sb_checksum(sb, bno)

cdef uint64_t bitmap_blocks_for(uint64_t nblocks) noexcept nogil:
    return (nblocks + BITMAP_BITS - 1) / BITMAP_BITS

cdef bint geometry_valid(Super* sb, uint64_t dev_blocks) noexcept nogil:
    """The layout adds up and fits the device (every later number is checked
    against these)."""
    cdef int i
    if sb.block_size != BLOCK or sb.nblocks > dev_blocks or sb.journal_start != 2:
        return False
    if sb.journal_blocks < MIN_JOURNAL or sb.journal_blocks > sb.nblocks:
        return False
    if sb.bitmap_start != 2 + sb.journal_blocks or sb.bitmap_blocks != bitmap_blocks_for(sb.nblocks):
        return False
    if sb.data_start != sb.bitmap_start + sb.bitmap_blocks or sb.data_start >= sb.nblocks:
        return False
    for i in range(NTREES):
        if sb.roots[i] != 0 and (sb.roots[i] < sb.data_start or sb.roots[i] >= sb.nblocks):
            return False
    return sb.free_blocks <= sb.nblocks - sb.data_start

cdef bint counts_valid(Super* sb) noexcept nogil:
    return (1 <= sb.next_file_id <= (<uint64_t>1 << FILE_ID_BITS) and 1 <= sb.next_tag_id <= (1 << TAG_ID_BITS)
            and sb.nfiles < sb.next_file_id and sb.ntags < sb.next_tag_id)

cdef int read_super(FS* fs, BlockDev* dev, uint64_t bno, uint8_t* block, Super* out) noexcept nogil:
    """The superblock (or its copy) at bno, checked; fs.why says why not."""
    cdef Super* sb = <Super*>block
    if blockdev.read(dev, bno, 1, block) != 0:
        say(fs, b"block %u: unreadable", bno)
        return abi.E_IO
    if memcmp(sb.magic, b"KWETAGFS", 8) != 0:
        say(fs, b"no TagFS here (block %u has no KWETAGFS signature)", bno)
        return abi.E_CORRUPT
    if sb.version != VERSION:
        say(fs, b"TagFS format version %u, this KWE reads version %u: make a new image"
                b" (tools/kwe fs mkfs, or tools/kwe build for kwe.img)", sb.version, VERSION)
        return abi.E_NOTSUP
    if sb_checksum(sb, bno) != sb.checksum:
        say(fs, b"superblock (block %u) fails its checksum", bno)
        return abi.E_CORRUPT
    if not geometry_valid(sb, dev.nblocks) or not counts_valid(sb):
        say(fs, b"superblock (block %u): its layout or counts do not add up (device of %u blocks)",
            bno, dev.nblocks)
        return abi.E_CORRUPT
    memcpy(out, sb, sizeof(Super))
    return abi.E_OK

# ---- making a filesystem ------------------------------------------------------------
cdef void fill_bitmap(uint8_t* block, uint64_t i, uint64_t data_start, uint64_t nblocks,
                      uint32_t seed, uint64_t bno) noexcept nogil:
    """Bitmap block i: metadata and the space past the end are used."""
    cdef uint64_t b
    memset(block, 0, BLOCK)
    for b in range(i * BITMAP_BITS, (i + 1) * BITMAP_BITS):
        if b < data_start or b >= nblocks:
            block[(b % BITMAP_BITS) >> 3] |= <uint8_t>(1 << (b & 7))
    seal_bitmap(block, seed, bno)

cdef void seal_bitmap(uint8_t* block, uint32_t seed, uint64_t bno) noexcept nogil:
    (<uint32_t*>(block + BLOCK - 8))[0] = BITMAP_MAGIC
    checksum.seal(seed, bno, block, BITMAP_SUM_FIELD)

cdef void layout(Super* sb, uint64_t nblocks, uint64_t journal_blocks, uint64_t now,
                 const uint8_t* uuid) noexcept nogil:
    memset(sb, 0, sizeof(Super))
    memcpy(sb.magic, b"KWETAGFS", 8)
    sb.version = VERSION
    sb.block_size = BLOCK
    sb.nblocks = nblocks
    sb.journal_start = 2
    sb.journal_blocks = journal_blocks
    sb.bitmap_start = 2 + journal_blocks
    sb.bitmap_blocks = bitmap_blocks_for(nblocks)
    sb.data_start = sb.bitmap_start + sb.bitmap_blocks
    sb.next_file_id = 1
    sb.next_tag_id = 1
    sb.free_blocks = nblocks - sb.data_start
    sb.created = now
    sb.state = SUPER_CLEAN
    memcpy(sb.uuid, uuid, 16)

cdef uint64_t default_journal(uint64_t nblocks) noexcept nogil:
    """A big volume gets a big journal: commits (each writes its blocks twice)
    then come less often than once every few hundred changed blocks."""
    cdef uint64_t j = nblocks / 16
    if j < DEFAULT_JOURNAL_BLOCKS:
        return DEFAULT_JOURNAL_BLOCKS
    return j if j < MAX_DEFAULT_JOURNAL else MAX_DEFAULT_JOURNAL

cdef int mkfs(BlockDev* dev, uint64_t journal_blocks, uint64_t now, const uint8_t* uuid) noexcept nogil:
    cdef uint8_t* block = <uint8_t*>heap.kzalloc(BLOCK)
    cdef Super sb
    cdef uint64_t i
    cdef int err = abi.E_OK
    if block == NULL:
        return abi.E_NOMEM
    if journal_blocks == 0:
        journal_blocks = default_journal(dev.nblocks)
    if journal_blocks < MIN_JOURNAL:
        journal_blocks = MIN_JOURNAL
    layout(&sb, dev.nblocks, journal_blocks, now, uuid)
    if sb.data_start + 64 > dev.nblocks or journal_blocks > dev.nblocks:
        heap.kfree(block)
        return abi.E_NOSPC
    for i in range(sb.bitmap_blocks):
        fill_bitmap(block, i, sb.data_start, sb.nblocks, checksum.seed(uuid), sb.bitmap_start + i)
        if blockdev.write(dev, sb.bitmap_start + i, 1, block) != 0:
            err = abi.E_IO
    memset(block, 0, BLOCK)
    if err == abi.E_OK and (blockdev.write(dev, 2, 1, block) != 0 or blockdev.flush(dev) != 0):
        err = abi.E_IO                              # an empty journal
    sb.state = 0                                    # the copy is only a layout: never "clean"
    if err == abi.E_OK:
        err = write_super(dev, &sb, 1, block)
    sb.state = SUPER_CLEAN
    if err == abi.E_OK:
        err = write_super(dev, &sb, 0, block)
    heap.kfree(block)
    return err

cdef int write_super(BlockDev* dev, Super* sb, uint64_t bno, uint8_t* block) noexcept nogil:
    """Write sb, sealed for bno, straight to the disk (not through the journal)."""
    memset(block, 0, BLOCK)
    memcpy(block, sb, sizeof(Super))
    sb_seal(<Super*>block, bno)
    if blockdev.write(dev, bno, 1, block) != 0 or blockdev.flush(dev) != 0:
        return abi.E_IO
    return abi.E_OK

# ---- checks the cache runs on every block it reads --------------------------------------
cdef bint verify(void* ctx, uint64_t bno, uint8_t kind, uint32_t tag, const uint8_t* data) noexcept nogil:
    cdef FS* fs = <FS*>ctx
    if kind == bcache.KIND_DATA:
        return data_sum(fs, bno, data) == tag
    if kind == bcache.KIND_NODE:
        return (tag < NTREES and bno >= fs.sb.data_start
                and checksum.sealed(fs.seed, bno, data, btree.NODE_SUM_FIELD)
                and btree.node_valid(data, <uint16_t>tag, value_size(tag), fs.sb.data_start, fs.sb.nblocks))
    if kind == bcache.KIND_BITMAP:
        return ((<const uint32_t*>(data + BLOCK - 8))[0] == BITMAP_MAGIC
                and checksum.sealed(fs.seed, bno, data, BITMAP_SUM_FIELD))
    if kind == bcache.KIND_SUPER:
        return bno == 0 and sb_checksum(<Super*>data, 0) == (<Super*>data).checksum
    return False

cdef uint32_t seal(void* ctx, uint64_t bno, uint8_t kind, uint32_t tag, uint8_t* data,
                   uint32_t* field) noexcept nogil:
    """bcache.SealFn: a node's or bitmap block's sum is the one sealed into it,
    a data block's the one its chunk holds (the cache's tag); the superblock's
    covers only its fields, so the journal gets one of the whole block."""
    cdef FS* fs = <FS*>ctx
    field[0] = checksum.NO_FIELD
    if kind == bcache.KIND_NODE:
        checksum.seal(fs.seed, bno, data, btree.NODE_SUM_FIELD)
        field[0] = btree.NODE_SUM_FIELD
        return (<uint32_t*>(data + btree.NODE_SUM_FIELD))[0]
    if kind == bcache.KIND_BITMAP:
        seal_bitmap(data, fs.seed, bno)
        field[0] = BITMAP_SUM_FIELD
        return (<uint32_t*>(data + BITMAP_SUM_FIELD))[0]
    if kind == bcache.KIND_DATA:
        return tag
    if kind == bcache.KIND_SUPER:
        sb_seal(<Super*>data, bno)
    return checksum.block_sum(fs.seed, bno, data, checksum.NO_FIELD)

cdef uint32_t data_sum(FS* fs, uint64_t bno, const uint8_t* block) noexcept nogil:
    return checksum.block_sum(fs.seed, bno, block, checksum.NO_FIELD)

cdef uint64_t mark(FS* fs) noexcept nogil:
    return fs.cache.faults

cdef int64_t settle(FS* fs, uint64_t since, int64_t result) noexcept nogil:
    if fs.cache.faults == since:
        return result
    if not fs.failed:
        say(fs, b"block %u failed a check: the volume is read-only; run fsck", fs.cache.bad_bno)
        fs.failed = abi.E_CORRUPT
    return abi.E_CORRUPT

# ---- mounting -------------------------------------------------------------------------
cdef int find_layout(FS* fs, BlockDev* dev, uint8_t* block, Super* sb) noexcept nogil:
    """The superblock, or the copy mkfs left in block 1 if block 0 was torn."""
    cdef int err
    cdef char first[WHY_MAX]
    if dev.nblocks < 2 + MIN_JOURNAL:
        say(fs, b"no TagFS here (%u blocks of 4 KiB: too small to hold one)", dev.nblocks)
        return abi.E_CORRUPT
    err = read_super(fs, dev, 0, block, sb)
    if err == abi.E_OK or err == abi.E_NOTSUP:
        return err
    kstr.copy(first, fs.why, WHY_MAX)
    if read_super(fs, dev, 1, block, sb) == abi.E_OK:
        return abi.E_OK
    kstr.copy(fs.why, first, WHY_MAX)               # block 0's problem is the one to tell
    return err

cdef int replay_journal(FS* fs, BlockDev* dev, Super* sb, uint32_t* replayed) noexcept nogil:
    cdef journal.Bounds b
    cdef int err
    b.seed, b.first_home, b.end = checksum.seed(sb.uuid), sb.bitmap_start, sb.nblocks
    err = journal.replay(dev, sb.journal_start, sb.journal_blocks, &b, replayed)
    if err == journal.JOURNAL_CORRUPT:
        say(fs, b"the journal's committed transaction names blocks outside the filesystem")
        return abi.E_CORRUPT
    if err != journal.JOURNAL_OK:
        say(fs, b"the journal is unreadable")
        return abi.E_IO
    return abi.E_OK

cdef int load_super(FS* fs, BlockDev* dev, uint32_t flags, uint32_t* replayed) noexcept nogil:
    cdef uint8_t* block = <uint8_t*>heap.kmalloc(BLOCK)
    cdef Super layout
    cdef int err
    if block == NULL:
        return abi.E_NOMEM
    err = find_layout(fs, dev, block, &layout)
    if err == abi.E_OK and (flags & MOUNT_RDONLY) and layout.state != SUPER_CLEAN:
        say(fs, b"the volume was not unmounted cleanly: its journal must be replayed, so mount it read-write")
        err = abi.E_ROFS
    fs.was_clean = err == abi.E_OK and layout.state == SUPER_CLEAN
    if err == abi.E_OK and layout.state != SUPER_CLEAN:
        err = replay_journal(fs, dev, &layout, replayed)
    if err == abi.E_OK:
        err = read_super(fs, dev, 0, block, &fs.sb)
    if err == abi.E_OK and memcmp(fs.sb.uuid, layout.uuid, 16) != 0:
        say(fs, b"blocks 0 and 1 belong to different volumes")
        err = abi.E_CORRUPT
    heap.kfree(block)
    return err

cdef int check_roots(FS* fs) noexcept nogil:
    cdef int i
    for i in range(NTREES):
        if fs.trees[i].root and bcache.get(&fs.cache, fs.trees[i].root, bcache.KIND_NODE, i) == NULL:
            say(fs, b"the root of tree %u (block %u) is unreadable or fails its checks", i, fs.trees[i].root)
            return abi.E_CORRUPT
    return abi.E_OK

cdef int record_state(FS* fs, uint32_t state) noexcept nogil:
    """Write the superblock with this state straight to block 0 (not through
    the journal): SUPER_CLEAN at unmount, 0 when a read-write mount begins."""
    cdef uint8_t* block = <uint8_t*>heap.kmalloc(BLOCK)
    cdef int err
    if block == NULL:
        return abi.E_NOMEM
    fs.sb.state = state
    err = write_super(fs.dev, &fs.sb, 0, block)
    heap.kfree(block)
    if err != abi.E_OK:
        say(fs, b"the superblock cannot be written")
    return err

cdef uint64_t cache_for(BlockDev* dev, uint64_t share) noexcept nogil:
    cdef uint64_t n = pmm.free_count() / (share if share else DEFAULT_CACHE_SHARE)
    if n > dev.nblocks:
        n = dev.nblocks
    return n if n > MIN_CACHE_BLOCKS else MIN_CACHE_BLOCKS

cdef int mount(FS* fs, BlockDev* dev, uint64_t cache_blocks, Clock now, uint32_t flags,
               uint32_t* replayed) noexcept nogil:
    cdef int i, err
    memset(fs, 0, sizeof(FS))
    replayed[0] = 0
    fs.flags = flags
    err = load_super(fs, dev, flags, replayed)
    if err != abi.E_OK:
        return err
    fs.dev = dev
    fs.now = now
    fs.seed = checksum.seed(fs.sb.uuid)
    if not bcache.init(&fs.cache, dev, cache_blocks if cache_blocks else cache_for(dev, 0)):
        return abi.E_NOMEM
    fs.cache.verify, fs.cache.seal, fs.cache.ctx = verify, seal, fs
    for i in range(NTREES):
        btree.init(&fs.trees[i], &fs.cache, <uint16_t>i, fs.sb.roots[i], value_size(i), alloc_block, fs)
    fs.alloc_hint = fs.sb.data_start
    tagbits.init(&fs.bits, fs.cache.cap * BLOCK / BITS_SHARE, FILE_ID_BITS)
    err = check_roots(fs)
    if err == abi.E_OK and not (fs.flags & MOUNT_RDONLY):
        err = record_state(fs, 0)               # not clean until unmount() says so again
    if err != abi.E_OK:
        bcache.destroy(&fs.cache)
        return err
    fs.mounted = True
    return abi.E_OK

cdef int unmount(FS* fs) noexcept nogil:
    cdef int err = abi.E_OK
    if not fs.mounted:
        return abi.E_OK
    if not (fs.flags & MOUNT_RDONLY) and not fs.failed:
        err = sync(fs)
        if err == abi.E_OK:
            err = record_state(fs, SUPER_CLEAN)     # everything is home: no replay next time
    bcache.destroy(&fs.cache)
    tagbits.drop_all(&fs.bits)
    fs.mounted = False
    return err

# ---- operations and commits ---------------------------------------------------------------
cdef int begin(FS* fs) noexcept nogil:
    cdef int err
    if not fs.mounted:
        return abi.E_INVAL
    if fs.failed or (fs.flags & MOUNT_RDONLY):
        return abi.E_ROFS
    if fs.cache.ndirty > commit_threshold(fs):      # room in the journal for this operation
        err = sync(fs)
        if err != abi.E_OK:
            return err
    bcache.begin_op(&fs.cache)
    fs.op_mark = mark(fs)
    return abi.E_OK

cdef uint64_t commit_threshold(FS* fs) noexcept nogil:
    """Dirty blocks that make the next operation commit first: a quarter of
    the journal, which leaves room for the largest operation (a write of
    WRITE_CHUNK_BLOCKS, or a bulk-load piece of another quarter)."""
    return fs.sb.journal_blocks / 4

cdef bint fits_journal(FS* fs) noexcept nogil:
    return journal.blocks_needed(fs.cache.ndirty + 1) <= fs.sb.journal_blocks

cdef bint store_super(FS* fs) noexcept nogil:
    """Put the in-memory superblock (with the trees' roots) into block 0 if it
    changed (the cache seals it at commit)."""
    cdef const uint8_t* cur
    cdef uint8_t* b
    cdef int i
    for i in range(NTREES):
        fs.sb.roots[i] = fs.trees[i].root
    cur = bcache.get(&fs.cache, 0, bcache.KIND_SUPER, 0)
    if cur == NULL:
        return False
    if memcmp(cur, &fs.sb, <size_t>(<char*>&fs.sb.checksum - <char*>&fs.sb)) == 0:
        return True
    b = bcache.modify(&fs.cache, 0, bcache.KIND_SUPER, 0)
    if b == NULL:
        return False
    memcpy(b, &fs.sb, sizeof(Super))
    return True

cdef void reload_super(FS* fs) noexcept nogil:
    """After a rollback: the in-memory copy follows block 0 again."""
    cdef const uint8_t* cur = bcache.get(&fs.cache, 0, bcache.KIND_SUPER, 0)
    cdef int i
    if cur != NULL:
        memcpy(&fs.sb, cur, sizeof(Super))
    for i in range(NTREES):
        fs.trees[i].root = fs.sb.roots[i]
        fs.trees[i].changes += 1                # what the rollback undid is changed back

cdef int finish(FS* fs, int err) noexcept nogil:
    if err == abi.E_OK and not store_super(fs):
        err = abi.E_IO
    if err == abi.E_IO and fs.cache.out_of_memory:
        err = abi.E_NOMEM                           # the cache could not grow: not the disk's fault
    fs.cache.out_of_memory = False
    err = <int>settle(fs, fs.op_mark, err)
    if err == abi.E_OK and not fits_journal(fs):
        err = abi.E_NOSPC                           # one operation bigger than the journal
    bcache.end_op(&fs.cache, err == abi.E_OK)
    if err != abi.E_OK:
        reload_super(fs)
    bcache.trim(&fs.cache)
    return err

cdef uint64_t pending_blocks(FS* fs) noexcept nogil:
    return fs.cache.ndirty

cdef int sync(FS* fs) noexcept nogil:
    cdef int err
    if fs.failed:
        return abi.E_ROFS
    if fs.cache.ndirty == 0:
        return abi.E_OK
    bcache.begin_op(&fs.cache)
    fs.sb.txid += 1
    err = abi.E_OK if store_super(fs) else abi.E_IO
    bcache.end_op(&fs.cache, err == abi.E_OK)
    if err == abi.E_OK and bcache.commit(&fs.cache, fs.sb.journal_start, fs.sb.journal_blocks,
                                         fs.sb.txid, fs.seed) != journal.JOURNAL_OK:
        err = abi.E_IO
    if err != abi.E_OK:
        say(fs, b"a commit failed: the volume is read-only until it is mounted again")
        fs.failed = err
    return err

# ---- the block bitmap -------------------------------------------------------------------
cdef const uint8_t* bitmap_of(FS* fs, uint64_t bno) noexcept nogil:
    return bcache.get(&fs.cache, fs.sb.bitmap_start + bno / BITMAP_BITS, bcache.KIND_BITMAP, 0)

cdef uint8_t* bitmap_for_change(FS* fs, uint64_t bno) noexcept nogil:
    return bcache.modify(&fs.cache, fs.sb.bitmap_start + bno / BITMAP_BITS, bcache.KIND_BITMAP, 0)

cdef uint64_t alloc_block(void* ctx) noexcept nogil:
    cdef FS* fs = <FS*>ctx
    cdef uint64_t start = fs.alloc_hint, bno, tried = 0, i
    cdef uint64_t total = fs.sb.nblocks
    cdef const uint8_t* bits
    cdef uint8_t* w
    if fs.sb.free_blocks == 0:
        return 0
    if start < fs.sb.data_start or start >= total:
        start = fs.sb.data_start
    bno = start
    while tried < total:
        bits = bitmap_of(fs, bno)
        if bits == NULL:
            return 0
        i = bno % BITMAP_BITS
        if (i & 63) == 0 and i + 64 <= BITMAP_BITS and bno + 64 <= total \
                and (<const uint64_t*>bits)[i >> 6] == <uint64_t>0xFFFFFFFFFFFFFFFFU:
            bno += 64                                   # a full word: skip it
            tried += 64
        elif bits[i >> 3] & (1 << (i & 7)):
            bno += 1
            tried += 1
        else:
            w = bitmap_for_change(fs, bno)
            if w == NULL:
                return 0
            w[i >> 3] |= <uint8_t>(1 << (i & 7))
            fs.sb.free_blocks -= 1
            fs.alloc_hint = bno + 1
            return bno
        if bno >= total:
            bno = fs.sb.data_start
    return 0

cdef bint free_block(FS* fs, uint64_t bno) noexcept nogil:
    cdef uint8_t* w
    cdef uint64_t i = bno % BITMAP_BITS
    if bno < fs.sb.data_start or bno >= fs.sb.nblocks:
        bcache.fault(&fs.cache, bno)
        return False
    w = bitmap_for_change(fs, bno)
    if w == NULL:
        return False
    if not (w[i >> 3] & (1 << (i & 7))) or fs.sb.free_blocks >= fs.sb.nblocks - fs.sb.data_start:
        bcache.fault(&fs.cache, bno)                   # freeing a free block: two owners
        return False
    w[i >> 3] &= <uint8_t>~(1 << (i & 7))
    fs.sb.free_blocks += 1
    return True

cdef int bt(int err) noexcept nogil:
    """A B-tree result as an E_* code."""
    if err == btree.BT_OK:
        return abi.E_OK
    if err == btree.BT_EXISTS:
        return abi.E_EXIST
    if err == btree.BT_NOT_FOUND:
        return abi.E_NOENT
    if err == btree.BT_NO_SPACE:
        return abi.E_NOSPC
    return abi.E_IO

# ---- files --------------------------------------------------------------------------------
cdef bint file_valid(FileRec* rec) noexcept nogil:
    return rec.size <= <uint64_t>MAX_FILE_BLOCKS * BLOCK and rec.label < abi.FILE_CLASSES

cdef int get_file(FS* fs, uint64_t id, FileRec* rec) noexcept nogil:
    cdef int err = bt(btree.lookup(&fs.trees[TREE_FILES], id, rec))
    if err == abi.E_OK and not file_valid(rec):
        bcache.fault(&fs.cache, fs.trees[TREE_FILES].root)
        return abi.E_CORRUPT
    return err

cdef int put_file(FS* fs, uint64_t id, FileRec* rec) noexcept nogil:
    return bt(btree.insert(&fs.trees[TREE_FILES], id, rec, True))

cdef int stat(FS* fs, uint64_t id, FileRec* out) noexcept nogil:
    cdef uint64_t m
    if not fs.mounted:
        return abi.E_INVAL
    m = mark(fs)
    return <int>settle(fs, m, get_file(fs, id, out))

cdef int new_file(FS* fs, uint32_t label, uint64_t* id) noexcept nogil:
    cdef FileRec rec
    cdef int err
    if fs.sb.next_file_id >> FILE_ID_BITS:
        return abi.E_NOSPC
    memset(&rec, 0, sizeof(FileRec))
    rec.ctime = rec.mtime = fs.now()
    rec.label = label
    id[0] = fs.sb.next_file_id
    err = put_file(fs, id[0], &rec)
    if err == abi.E_OK:
        fs.sb.next_file_id += 1
        fs.sb.nfiles += 1
    return err

cdef int create_in_op(FS* fs, const char* taglist, size_t len, uint32_t label, uint64_t* id) noexcept nogil:
    """A file with the space-separated tags of taglist[:len]; its record is
    stored twice only: new, and with its tag count."""
    cdef FileRec rec
    cdef size_t n, at = 0
    cdef int err = new_file(fs, label, id) if label < abi.FILE_CLASSES else abi.E_RANGE
    if err == abi.E_OK:
        err = get_file(fs, id[0], &rec)
    while err == abi.E_OK and at < len:
        while at < len and taglist[at] == c' ':
            at += 1
        n = 0
        while at + n < len and taglist[at + n] != c' ':
            n += 1
        if n:
            err = link_tag(fs, id[0], &rec, taglist + at, n)
        at += n
    if err == abi.E_OK and rec.ntags:
        err = put_file(fs, id[0], &rec)
    return err

cdef int create(FS* fs, const char* taglist, uint32_t label, uint64_t* id) noexcept nogil:
    cdef int err = begin(fs)
    if err != abi.E_OK:
        return err
    return finish(fs, create_in_op(fs, taglist, kstr.length(taglist) if taglist != NULL else 0, label, id))

cdef int create_many(FS* fs, const char* lists, uint32_t label, uint64_t* ids, uint64_t count,
                     uint64_t* made) noexcept nogil:
    cdef uint64_t i = 0, dirty0
    cdef size_t n
    cdef int err = abi.E_OK
    made[0] = 0
    while err == abi.E_OK and i < count:
        err = begin(fs)
        dirty0 = fs.cache.ndirty
        # a piece takes at most a quarter of the journal beyond what begin() left pending
        while err == abi.E_OK and i < count and fs.cache.ndirty - dirty0 < fs.sb.journal_blocks / 4:
            n = 0
            while lists[n] and lists[n] != c'\n':
                n += 1
            err = create_in_op(fs, lists, n, label, &ids[i])
            lists += n + (lists[n] == c'\n')
            i += 1
        if fs.cache.in_op:
            err = finish(fs, err)
        if err == abi.E_OK:
            made[0] = i                         # this piece is in; a failed one is rolled back whole
    return err

cdef int adopt(FS* fs, uint64_t id, uint32_t label, uint64_t ctime, uint64_t mtime) noexcept nogil:
    cdef FileRec rec
    cdef int err = begin(fs)
    if err != abi.E_OK:
        return err
    if id == 0 or id >> FILE_ID_BITS or label >= abi.FILE_CLASSES:
        return finish(fs, abi.E_RANGE)
    memset(&rec, 0, sizeof(FileRec))
    rec.ctime, rec.mtime, rec.label = ctime, mtime, label
    err = bt(btree.insert(&fs.trees[TREE_FILES], id, &rec, False))
    if err == abi.E_OK:
        fs.sb.nfiles += 1
        if id >= fs.sb.next_file_id:
            fs.sb.next_file_id = id + 1
    return finish(fs, err)

# ---- file data: chunks of CHUNK_BLOCKS blocks, each with its blocks' checksums -------------
cdef uint64_t chunk_key(uint64_t id, uint32_t n) noexcept nogil:
    return (id << CHUNK_BITS) | n

cdef bint chunk_valid(FS* fs, Chunk* c) noexcept nogil:
    cdef int i
    for i in range(CHUNK_BLOCKS):
        if c.physical[i] != 0 and (c.physical[i] < fs.sb.data_start or c.physical[i] >= fs.sb.nblocks):
            return False
    return True

cdef int get_chunk(FS* fs, uint64_t id, uint32_t n, Chunk* out) noexcept nogil:
    cdef int err = bt(btree.lookup(&fs.trees[TREE_CHUNKS], chunk_key(id, n), out))
    if err == abi.E_OK and not chunk_valid(fs, out):
        bcache.fault(&fs.cache, fs.trees[TREE_CHUNKS].root)
        return abi.E_CORRUPT
    if err == abi.E_NOENT:
        memset(out, 0, sizeof(Chunk))
    return err

cdef int put_chunk(FS* fs, uint64_t id, uint32_t n, Chunk* c) noexcept nogil:
    cdef int i, err
    for i in range(CHUNK_BLOCKS):
        if c.physical[i]:
            return bt(btree.insert(&fs.trees[TREE_CHUNKS], chunk_key(id, n), c, True))
    err = btree.remove(&fs.trees[TREE_CHUNKS], chunk_key(id, n))     # all hole: no entry
    return abi.E_OK if err == btree.BT_NOT_FOUND else bt(err)

cdef void prefer_after(FS* fs, Chunk* c, uint32_t slot) noexcept nogil:
    """Place a new block right after the one before it, to keep files contiguous."""
    if slot > 0 and c.physical[slot - 1]:
        fs.alloc_hint = c.physical[slot - 1] + 1

cdef uint8_t* block_for_write(FS* fs, Chunk* c, uint32_t slot, bint whole, int* err) noexcept nogil:
    """The cached block behind chunk slot `slot`, ready to change: a new one
    for a hole, or the old one checked first (unless it is overwritten whole)."""
    cdef uint64_t pb = c.physical[slot]
    cdef uint8_t* blk
    if pb == 0:
        prefer_after(fs, c, slot)
        pb = alloc_block(fs)
        if pb == 0:
            err[0] = abi.E_NOSPC
            return NULL
        c.physical[slot] = <uint32_t>pb
        whole = True
    if whole:
        blk = bcache.fresh(&fs.cache, pb, bcache.KIND_DATA, 0)
    else:
        blk = bcache.modify(&fs.cache, pb, bcache.KIND_DATA, c.crc[slot])
    if blk == NULL:
        err[0] = abi.E_IO
    return blk

cdef void resum(FS* fs, Chunk* c, uint32_t slot, const uint8_t* blk) noexcept nogil:
    """The block changed: its checksum, in the chunk and in the cache."""
    c.crc[slot] = data_sum(fs, c.physical[slot], blk)
    bcache.retag(&fs.cache, c.physical[slot], c.crc[slot])

cdef int write_into_chunk(FS* fs, uint64_t id, uint64_t off, const uint8_t* data, uint64_t n) noexcept nogil:
    """Write n bytes at off, all within one chunk."""
    cdef Chunk c
    cdef uint32_t slot
    cdef uint64_t done = 0, take, at
    cdef uint8_t* blk
    cdef int err = get_chunk(fs, id, <uint32_t>(off / BLOCK / CHUNK_BLOCKS), &c)
    if err == abi.E_NOENT:
        err = abi.E_OK
    while err == abi.E_OK and done < n:
        slot = <uint32_t>((off + done) / BLOCK % CHUNK_BLOCKS)
        at = (off + done) % BLOCK
        take = BLOCK - at if BLOCK - at < n - done else n - done
        blk = block_for_write(fs, &c, slot, take == BLOCK, &err)
        if blk != NULL:
            memcpy(blk + at, data + done, take)
            resum(fs, &c, slot, blk)
            done += take
    if err == abi.E_OK:
        err = put_chunk(fs, id, <uint32_t>(off / BLOCK / CHUNK_BLOCKS), &c)
    return err

cdef int write_chunk(FS* fs, uint64_t id, uint64_t off, const uint8_t* data, uint64_t n) noexcept nogil:
    """One operation's worth of a write: chunk by chunk, then the file's size."""
    cdef FileRec rec
    cdef uint64_t done = 0, take, span = CHUNK_BLOCKS * BLOCK
    cdef int err = get_file(fs, id, &rec)
    while err == abi.E_OK and done < n:
        take = span - (off + done) % span
        if take > n - done:
            take = n - done
        err = write_into_chunk(fs, id, off + done, data + done, take)
        done += take
    if err == abi.E_OK:
        if off + n > rec.size:
            rec.size = off + n
        rec.mtime = fs.now()
        err = put_file(fs, id, &rec)
    return err

cdef int write(FS* fs, uint64_t id, uint64_t off, const uint8_t* data, uint64_t n) noexcept nogil:
    cdef uint64_t chunk = WRITE_CHUNK_BLOCKS * BLOCK, take
    cdef int err = abi.E_OK
    if off + n < off or off + n > <uint64_t>MAX_FILE_BLOCKS * BLOCK:
        return abi.E_RANGE
    while err == abi.E_OK:                              # one transaction-sized piece at a time
        take = n if n < chunk else chunk
        err = begin(fs)
        if err == abi.E_OK:
            err = finish(fs, write_chunk(fs, id, off, data, take))
        off += take
        data += take
        n -= take
        if n == 0:
            break
    return err

cdef int read_block(FS* fs, Chunk* c, uint32_t slot, uint64_t at, uint8_t* out, uint64_t take) noexcept nogil:
    cdef const uint8_t* blk
    if c.physical[slot] == 0:
        memset(out, 0, take)                            # a hole
        return abi.E_OK
    blk = bcache.get(&fs.cache, c.physical[slot], bcache.KIND_DATA, c.crc[slot])
    if blk == NULL:
        return abi.E_IO
    memcpy(out, blk + at, take)
    return abi.E_OK

cdef int read_range(FS* fs, uint64_t id, uint64_t off, uint8_t* buf, uint64_t n) noexcept nogil:
    cdef Chunk c
    cdef uint64_t done = 0, take, at, pos
    cdef uint32_t have = 0xFFFFFFFFU
    cdef int err = abi.E_OK
    while err == abi.E_OK and done < n:
        pos = off + done
        at = pos % BLOCK
        take = BLOCK - at if BLOCK - at < n - done else n - done
        if pos / BLOCK / CHUNK_BLOCKS != have:          # each chunk looked up once
            have = <uint32_t>(pos / BLOCK / CHUNK_BLOCKS)
            err = get_chunk(fs, id, have, &c)
            if err == abi.E_NOENT:
                err = abi.E_OK
        if err == abi.E_OK:
            err = read_block(fs, &c, <uint32_t>(pos / BLOCK % CHUNK_BLOCKS), at, buf + done, take)
        done += take
    return err

cdef int64_t read(FS* fs, uint64_t id, uint64_t off, uint8_t* buf, uint64_t n) noexcept nogil:
    cdef FileRec rec
    cdef uint64_t m
    cdef int err = stat(fs, id, &rec)
    if err != abi.E_OK:
        return err
    if off >= rec.size:
        return 0
    if n > rec.size - off:
        n = rec.size - off
    m = mark(fs)
    err = <int>settle(fs, m, read_range(fs, id, off, buf, n))
    bcache.trim(&fs.cache)
    return err if err != abi.E_OK else <int64_t>n

cdef int cut_chunks(FS* fs, uint64_t id, uint64_t keep_blocks) noexcept nogil:
    """Free every block at or after file block keep_blocks."""
    cdef Cursor cur
    cdef uint64_t key, first = keep_blocks / CHUNK_BLOCKS
    cdef uint32_t* doomed = NULL
    cdef uint32_t ndoomed = 0, cap = 0, i
    cdef int err = abi.E_OK
    btree.seek(&fs.trees[TREE_CHUNKS], &cur, chunk_key(id, <uint32_t>first))
    while btree.next(&fs.trees[TREE_CHUNKS], &cur, &key, NULL) and (key >> CHUNK_BITS) == id:
        if ndoomed == cap:
            cap = cap * 2 + 16
            doomed = <uint32_t*>heap.krealloc(doomed, cap * 4)
            if doomed == NULL:
                return abi.E_NOMEM
        doomed[ndoomed] = <uint32_t>(key & ((1 << CHUNK_BITS) - 1))
        ndoomed += 1
    if cur.err != btree.BT_OK:
        err = abi.E_IO
    for i in range(ndoomed):                            # the tree is not walked while it changes
        if err == abi.E_OK:
            err = trim_chunk(fs, id, doomed[i], keep_blocks)
    heap.kfree(doomed)
    return err

cdef int trim_chunk(FS* fs, uint64_t id, uint32_t n, uint64_t keep_blocks) noexcept nogil:
    cdef Chunk c
    cdef uint32_t slot
    cdef uint64_t base = <uint64_t>n * CHUNK_BLOCKS
    cdef int err = get_chunk(fs, id, n, &c)
    if err != abi.E_OK:
        return err
    for slot in range(CHUNK_BLOCKS):
        if base + slot >= keep_blocks and c.physical[slot]:
            if not free_block(fs, c.physical[slot]):
                return abi.E_IO
            c.physical[slot] = 0
            c.crc[slot] = 0
    return put_chunk(fs, id, n, &c)

cdef int zero_tail(FS* fs, uint64_t id, uint64_t size) noexcept nogil:
    """Bytes past the new end of the last block read as zeros if the file grows again."""
    cdef Chunk c
    cdef uint32_t n = <uint32_t>(size / BLOCK / CHUNK_BLOCKS), slot = <uint32_t>(size / BLOCK % CHUNK_BLOCKS)
    cdef uint8_t* blk
    cdef int err
    if size % BLOCK == 0:
        return abi.E_OK
    err = get_chunk(fs, id, n, &c)
    if err != abi.E_OK or c.physical[slot] == 0:
        return abi.E_OK if err == abi.E_NOENT else err
    blk = block_for_write(fs, &c, slot, False, &err)
    if blk == NULL:
        return err
    memset(blk + size % BLOCK, 0, BLOCK - size % BLOCK)
    resum(fs, &c, slot, blk)
    return put_chunk(fs, id, n, &c)

cdef int truncate_in_op(FS* fs, uint64_t id, uint64_t size) noexcept nogil:
    cdef FileRec rec
    cdef int err = get_file(fs, id, &rec)
    if err == abi.E_OK and size < rec.size:
        err = cut_chunks(fs, id, (size + BLOCK - 1) / BLOCK)
        if err == abi.E_OK:
            err = zero_tail(fs, id, size)
    if err == abi.E_OK:
        rec.size = size
        rec.mtime = fs.now()
        err = put_file(fs, id, &rec)
    return err

cdef int truncate(FS* fs, uint64_t id, uint64_t size) noexcept nogil:
    cdef int err
    if size > <uint64_t>MAX_FILE_BLOCKS * BLOCK:
        return abi.E_RANGE
    err = begin(fs)
    if err != abi.E_OK:
        return err
    return finish(fs, truncate_in_op(fs, id, size))

# ---- tags ----------------------------------------------------------------------------------
cdef bint valid_tag(const char* s, size_t n) noexcept nogil:
    # The rules are kwe.common.tags'; TAG_MAX here is what a TagRec holds (the same 118).
    return n <= TAG_MAX and check_tag(s, n) == 0

cdef bint tag_valid(FS* fs, TagRec* rec) noexcept nogil:
    return 1 <= rec.length <= TAG_MAX and 1 <= rec.tag_id < fs.sb.next_tag_id and rec.nfiles > 0

cdef int corrupt(FS* fs, int tree) noexcept nogil:
    """A record of `tree` that its checksum let through but the rules do not."""
    bcache.fault(&fs.cache, fs.trees[tree].root)
    return abi.E_CORRUPT

cdef uint64_t tag_hash(const char* s, size_t n) noexcept nogil:
    cdef uint64_t h = <uint64_t>0xCBF29CE484222325U       # FNV-1a
    cdef size_t i
    for i in range(n):
        h = (h ^ <uint8_t>s[i]) * <uint64_t>0x100000001B3U
    return h & ~<uint64_t>0xFF                              # room for probing

cdef int tag_slot(FS* fs, const char* s, size_t n, bint make, uint64_t* key, TagRec* rec) noexcept nogil:
    """Find (or make) the tag's TAGNAMES entry: its key and record."""
    cdef uint64_t h = tag_hash(s, n), k
    cdef int probe, err
    for probe in range(TAG_PROBES):
        k = h + <uint64_t>probe
        err = btree.lookup(&fs.trees[TREE_TAGNAMES], k, rec)
        if err == btree.BT_OK and not tag_valid(fs, rec):
            return corrupt(fs, TREE_TAGNAMES)
        if err == btree.BT_OK:
            if rec.length == n and memcmp(rec.name, s, n) == 0:
                key[0] = k
                return abi.E_OK
            continue
        if err != btree.BT_NOT_FOUND:
            return abi.E_IO
        if not make:
            return abi.E_NOENT
        if fs.sb.next_tag_id >> TAG_ID_BITS:
            return abi.E_NOSPC
        memset(rec, 0, sizeof(TagRec))
        rec.tag_id = <uint32_t>fs.sb.next_tag_id
        rec.length = <uint16_t>n
        memcpy(rec.name, s, n)
        err = bt(btree.insert(&fs.trees[TREE_TAGNAMES], k, rec, False))
        if err == abi.E_OK:
            err = bt(btree.insert(&fs.trees[TREE_TAGIDS], rec.tag_id, &k, False))
        if err == abi.E_OK:
            fs.sb.next_tag_id += 1
            fs.sb.ntags += 1
            key[0] = k
        return err
    return abi.E_NOSPC                                  # 64 colliding names: give up

cdef int add_tag(FS* fs, uint64_t id, const char* s, size_t n) noexcept nogil:
    cdef FileRec file
    cdef int err = get_file(fs, id, &file) if valid_tag(s, n) else abi.E_INVAL
    if err == abi.E_OK:
        err = link_tag(fs, id, &file, s, n)
    if err == abi.E_OK:
        err = put_file(fs, id, &file)
    return err

cdef int link_tag(FS* fs, uint64_t id, FileRec* file, const char* s, size_t n) noexcept nogil:
    """Tag file id (its record in *file, counted here, stored by the caller)."""
    cdef TagRec tag
    cdef uint64_t key
    cdef int err = tag_slot(fs, s, n, True, &key, &tag) if valid_tag(s, n) else abi.E_INVAL
    if err == abi.E_OK:
        err = bt(btree.insert(&fs.trees[TREE_POSTINGS], (<uint64_t>tag.tag_id << FILE_ID_BITS) | id, NULL, False))
    if err == abi.E_OK:
        err = bt(btree.insert(&fs.trees[TREE_FILETAGS], (id << TAG_ID_BITS) | tag.tag_id, NULL, False))
    if err == abi.E_OK and (tag.nfiles == 0xFFFFFFFFU or file.ntags == 0xFFFFFFFFU):
        err = abi.E_RANGE
    if err == abi.E_OK:
        tag.nfiles += 1
        file.ntags += 1
        err = bt(btree.insert(&fs.trees[TREE_TAGNAMES], key, &tag, True))
    return err

cdef int drop_tag(FS* fs, uint64_t id, uint64_t key, TagRec* tag) noexcept nogil:
    """Take file `id` out of the tag's postings (the tag goes when no file has it)."""
    cdef FileRec file
    cdef int err = bt(btree.remove(&fs.trees[TREE_POSTINGS], (<uint64_t>tag.tag_id << FILE_ID_BITS) | id))
    if err == abi.E_OK:
        err = bt(btree.remove(&fs.trees[TREE_FILETAGS], (id << TAG_ID_BITS) | tag.tag_id))
    if err == abi.E_OK:
        err = get_file(fs, id, &file)
    if err == abi.E_OK and (file.ntags == 0 or tag.nfiles == 0 or fs.sb.ntags == 0):
        err = corrupt(fs, TREE_FILES)                   # the counts disagree with the indexes
    if err == abi.E_OK:
        file.ntags -= 1
        err = put_file(fs, id, &file)
    if err != abi.E_OK:
        return err
    tag.nfiles -= 1
    if tag.nfiles:
        return bt(btree.insert(&fs.trees[TREE_TAGNAMES], key, tag, True))
    fs.sb.ntags -= 1
    err = bt(btree.remove(&fs.trees[TREE_TAGNAMES], key))
    return bt(btree.remove(&fs.trees[TREE_TAGIDS], tag.tag_id)) if err == abi.E_OK else err

cdef int tag(FS* fs, uint64_t id, const char* name, size_t n) noexcept nogil:
    cdef int err = begin(fs)
    if err != abi.E_OK:
        return err
    return finish(fs, add_tag(fs, id, name, n))

cdef int untag(FS* fs, uint64_t id, const char* name, size_t n) noexcept nogil:
    cdef TagRec rec
    cdef uint64_t key
    cdef int err = begin(fs)
    if err != abi.E_OK:
        return err
    err = tag_slot(fs, name, n, False, &key, &rec) if valid_tag(name, n) else abi.E_INVAL
    if err == abi.E_OK and not has_tag(fs, id, rec.tag_id):
        err = abi.E_NOENT
    if err == abi.E_OK:
        err = drop_tag(fs, id, key, &rec)
    return finish(fs, err)

cdef bint has_tag(FS* fs, uint64_t file_id, uint32_t tag_id) noexcept nogil:
    return btree.lookup(&fs.trees[TREE_FILETAGS], (file_id << TAG_ID_BITS) | tag_id, NULL) == btree.BT_OK

cdef int find_tag(FS* fs, const char* name, size_t n, uint32_t* tag_id, uint32_t* nfiles) noexcept nogil:
    cdef TagRec rec
    cdef uint64_t key
    cdef int err
    if not valid_tag(name, n):
        return abi.E_INVAL
    err = tag_slot(fs, name, n, False, &key, &rec)
    if err == abi.E_OK:
        tag_id[0] = rec.tag_id
        nfiles[0] = rec.nfiles
    return err

cdef int tag_of_id(FS* fs, uint32_t tag_id, uint64_t* key, TagRec* rec) noexcept nogil:
    cdef int err = bt(btree.lookup(&fs.trees[TREE_TAGIDS], tag_id, key))
    if err == abi.E_OK:
        err = bt(btree.lookup(&fs.trees[TREE_TAGNAMES], key[0], rec))
    if err == abi.E_NOENT or (err == abi.E_OK and (rec.tag_id != tag_id or not tag_valid(fs, rec))):
        return corrupt(fs, TREE_TAGIDS)                 # an id whose name is gone or another's
    return err

cdef int64_t tags(FS* fs, uint64_t id, char* out, size_t cap) noexcept nogil:
    cdef Cursor cur
    cdef uint64_t k, key
    cdef TagRec rec
    cdef FileRec file
    cdef size_t len = 0, i
    cdef uint64_t m = mark(fs)
    cdef int err = stat(fs, id, &file)
    if err != abi.E_OK:
        return err
    btree.seek(&fs.trees[TREE_FILETAGS], &cur, id << TAG_ID_BITS)
    while err == abi.E_OK and btree.next(&fs.trees[TREE_FILETAGS], &cur, &k, NULL) and (k >> TAG_ID_BITS) == id:
        err = tag_of_id(fs, <uint32_t>(k & ((1 << TAG_ID_BITS) - 1)), &key, &rec)
        for i in range(rec.length + 1 if err == abi.E_OK else 0):
            if len + 1 < cap:
                out[len] = rec.name[i] if i < rec.length else c'\n'
            len += 1
    if cap:
        out[len if len < cap else cap - 1] = 0
    if err == abi.E_OK and cur.err != btree.BT_OK:
        err = abi.E_IO
    return settle(fs, m, err if err != abi.E_OK else <int64_t>len)

# ---- deleting ------------------------------------------------------------------------------
cdef int delete_in_op(FS* fs, uint64_t id) noexcept nogil:
    cdef Cursor cur
    cdef uint64_t k, key
    cdef TagRec rec
    cdef FileRec file
    cdef int err = get_file(fs, id, &file)
    while err == abi.E_OK:                      # untag one at a time: the tree changes each time
        btree.seek(&fs.trees[TREE_FILETAGS], &cur, id << TAG_ID_BITS)
        if not btree.next(&fs.trees[TREE_FILETAGS], &cur, &k, NULL) or (k >> TAG_ID_BITS) != id:
            break
        err = tag_of_id(fs, <uint32_t>(k & ((1 << TAG_ID_BITS) - 1)), &key, &rec)
        if err == abi.E_OK:
            err = drop_tag(fs, id, key, &rec)
    if err == abi.E_OK:
        err = cut_chunks(fs, id, 0)
    if err == abi.E_OK:
        err = bt(btree.remove(&fs.trees[TREE_FILES], id))
    if err == abi.E_OK:
        fs.sb.nfiles -= 1
    return err

cdef int delete(FS* fs, uint64_t id) noexcept nogil:
    cdef int err = begin(fs)
    if err != abi.E_OK:
        return err
    return finish(fs, delete_in_op(fs, id))
