# See tagfs.pxd and docs/tagfs.md.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy, memset, memcmp
from kwe.common cimport abi, operations, kstr
from kwe.dev cimport blockdev
from kwe.fs cimport bcache, btree, journal
from kwe.mm cimport heap
from kwe.dev.blockdev cimport BlockDev, BLOCK
from kwe.fs.btree cimport Tree, Cursor

cdef enum:
    BITS_PER_BLOCK = BLOCK * 8
    TAG_PROBES = 64
    FILE_ID_BITS = 40
    TAG_ID_BITS = 24
    EXTENT_BITS = 20
    ROUNDS = 1

cdef uint32_t value_size(int tree) noexcept nogil:
    if tree == TREE_FILES:
        return sizeof(FileRec)
    if tree == TREE_EXTENTS:
        return sizeof(Extent)
    if tree == TREE_TAGNAMES:
        return sizeof(TagRec)
    if tree == TREE_TAGIDS:
        return 8
    return 0

cdef uint32_t sb_checksum(Super* sb) noexcept nogil:
    return operations.crc32(0, <const uint8_t*>sb, <size_t>(<char*>&sb.checksum - <char*>sb))

cdef bint sb_valid(const uint8_t* block) noexcept nogil:
    cdef Super* sb = <Super*>block
    return (memcmp(sb.magic, b"KWETAGFS", 8) == 0 and sb.version == VERSION
            and sb_checksum(sb) == sb.checksum)

# ---- making a filesystem ------------------------------------------------------------
cdef int mkfs(BlockDev* dev, uint64_t journal_blocks, uint64_t now) noexcept nogil:
    cdef uint8_t* block = <uint8_t*>heap.kzalloc(BLOCK)
    cdef Super* sb = <Super*>block
    cdef uint64_t bitmap_blocks, data_start, i, b
    cdef int err = abi.E_OK
    if block == NULL:
        return abi.E_NOMEM
    if journal_blocks == 0:
        journal_blocks = DEFAULT_JOURNAL_BLOCKS
    if journal_blocks < 64:
        journal_blocks = 64
    bitmap_blocks = (dev.nblocks + BITS_PER_BLOCK - 1) / BITS_PER_BLOCK
    data_start = 2 + journal_blocks + bitmap_blocks
    if data_start + 64 > dev.nblocks:
        heap.kfree(block)
        return abi.E_NOSPC
    for i in range(bitmap_blocks):                  # metadata and the space past the end: used
        memset(block, 0, BLOCK)
        for b in range(i * BITS_PER_BLOCK, (i + 1) * BITS_PER_BLOCK):
            if b < data_start or b >= dev.nblocks:
                block[(b % BITS_PER_BLOCK) >> 3] |= <uint8_t>(1 << (b & 7))
        if blockdev.write(dev, 2 + journal_blocks + i, 1, block) != 0:
            err = abi.E_IO
    memset(block, 0, BLOCK)
    if err == abi.E_OK and (blockdev.write(dev, 2, 1, block) != 0 or blockdev.flush(dev) != 0):
        err = abi.E_IO                              # an empty journal
    memcpy(sb.magic, b"KWETAGFS", 8)
    sb.version = VERSION
    sb.block_size = BLOCK
    sb.nblocks = dev.nblocks
    sb.journal_start = 2
    sb.journal_blocks = journal_blocks
    sb.bitmap_start = 2 + journal_blocks
    sb.bitmap_blocks = bitmap_blocks
    sb.data_start = data_start
    sb.next_file_id = 1
    sb.next_tag_id = 1
    sb.free_blocks = dev.nblocks - data_start
    sb.created = now
    sb.checksum = sb_checksum(sb)
    if err == abi.E_OK and (blockdev.write(dev, 1, 1, block) != 0 or blockdev.write(dev, 0, 1, block) != 0
                            or blockdev.flush(dev) != 0):
        err = abi.E_IO
    heap.kfree(block)
    return err

# ---- mounting -------------------------------------------------------------------------
cdef int mount(FS* fs, BlockDev* dev, uint64_t cache_blocks, Clock now, uint32_t* replayed) noexcept nogil:
    cdef uint8_t* block = <uint8_t*>heap.kmalloc(BLOCK)
    cdef Super layout
    cdef int i, err = abi.E_OK
    memset(fs, 0, sizeof(FS))
    replayed[0] = 0
    if block == NULL:
        return abi.E_NOMEM
    # the layout: from block 0, or from the copy if block 0 was torn
    if blockdev.read(dev, 0, 1, block) == 0 and sb_valid(block):
        memcpy(&layout, block, sizeof(Super))
    elif blockdev.read(dev, 1, 1, block) == 0 and sb_valid(block):
        memcpy(&layout, block, sizeof(Super))
    else:
        heap.kfree(block)
        return abi.E_CORRUPT
    if layout.nblocks > dev.nblocks:
        heap.kfree(block)
        return abi.E_CORRUPT
    if journal.replay(dev, layout.journal_start, layout.journal_blocks, replayed) != journal.JOURNAL_OK:
        err = abi.E_IO
    if err == abi.E_OK and (blockdev.read(dev, 0, 1, block) != 0 or not sb_valid(block)):
        err = abi.E_CORRUPT
    if err == abi.E_OK:
        memcpy(&fs.sb, block, sizeof(Super))
    heap.kfree(block)
    if err != abi.E_OK:
        return err
    fs.dev = dev
    fs.now = now
    if not bcache.init(&fs.cache, dev, cache_blocks if cache_blocks else DEFAULT_CACHE_BLOCKS):
        return abi.E_NOMEM
    for i in range(NTREES):
        btree.init(&fs.trees[i], &fs.cache, fs.sb.roots[i], value_size(i), alloc_block, fs)
    fs.alloc_hint = fs.sb.data_start
    fs.mounted = True
    return abi.E_OK

cdef int unmount(FS* fs) noexcept nogil:
    cdef int err = sync(fs) if fs.mounted else abi.E_OK
    if fs.mounted:
        bcache.destroy(&fs.cache)
        fs.mounted = False
    return err

# ---- operations and commits ---------------------------------------------------------------
cdef int begin(FS* fs) noexcept nogil:
    cdef int err
    if not fs.mounted:
        return abi.E_INVAL
    if fs.failed:
        return abi.E_IO
    if fs.cache.ndirty > COMMIT_THRESHOLD:          # room in the journal for this operation
        err = sync(fs)
        if err != abi.E_OK:
            return err
    bcache.begin_op(&fs.cache)
    return abi.E_OK

cdef bint fits_journal(FS* fs) noexcept nogil:
    return journal.blocks_needed(fs.cache.ndirty + 1) <= fs.sb.journal_blocks

cdef bint store_super(FS* fs) noexcept nogil:
    """Put the in-memory superblock (with the trees' roots) into block 0 if it changed."""
    cdef const uint8_t* cur
    cdef uint8_t* b
    cdef int i
    for i in range(NTREES):
        fs.sb.roots[i] = fs.trees[i].root
    fs.sb.checksum = sb_checksum(&fs.sb)
    cur = bcache.get(&fs.cache, 0)
    if cur == NULL:
        return False
    if memcmp(cur, &fs.sb, sizeof(Super)) == 0:
        return True
    b = bcache.modify(&fs.cache, 0)
    if b == NULL:
        return False
    memcpy(b, &fs.sb, sizeof(Super))
    return True

cdef void reload_super(FS* fs) noexcept nogil:
    """After a rollback: the in-memory copy follows block 0 again."""
    cdef const uint8_t* cur = bcache.get(&fs.cache, 0)
    cdef int i
    if cur != NULL:
        memcpy(&fs.sb, cur, sizeof(Super))
    for i in range(NTREES):
        fs.trees[i].root = fs.sb.roots[i]

cdef int finish(FS* fs, int err) noexcept nogil:
    if err == abi.E_OK and not store_super(fs):
        err = abi.E_IO
    if err == abi.E_IO and fs.cache.out_of_memory:
        err = abi.E_NOMEM                           # the cache could not grow: not the disk's fault
    fs.cache.out_of_memory = False
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
        return abi.E_IO
    if fs.cache.ndirty == 0:
        return abi.E_OK
    bcache.begin_op(&fs.cache)
    fs.sb.txid += 1
    err = abi.E_OK if store_super(fs) else abi.E_IO
    bcache.end_op(&fs.cache, err == abi.E_OK)
    if err == abi.E_OK and bcache.commit(&fs.cache, fs.sb.journal_start, fs.sb.journal_blocks,
                                         fs.sb.txid) != journal.JOURNAL_OK:
        err = abi.E_IO
    if err != abi.E_OK:
        fs.failed = err
    return err

# ---- the block bitmap -------------------------------------------------------------------
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
        bits = bcache.get(&fs.cache, fs.sb.bitmap_start + bno / BITS_PER_BLOCK)
        if bits == NULL:
            return 0
        i = bno % BITS_PER_BLOCK
        if (i & 63) == 0 and bno + 64 <= total and (<const uint64_t*>bits)[i >> 6] == <uint64_t>0xFFFFFFFFFFFFFFFFU:
            bno += 64                                   # a full word: skip it
            tried += 64
        elif bits[i >> 3] & (1 << (i & 7)):
            bno += 1
            tried += 1
        else:
            w = bcache.modify(&fs.cache, fs.sb.bitmap_start + bno / BITS_PER_BLOCK)
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
    cdef uint8_t* w = bcache.modify(&fs.cache, fs.sb.bitmap_start + bno / BITS_PER_BLOCK)
    cdef uint64_t i = bno % BITS_PER_BLOCK
    if w == NULL or bno < fs.sb.data_start or bno >= fs.sb.nblocks:
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
cdef int get_file(FS* fs, uint64_t id, FileRec* rec) noexcept nogil:
    return bt(btree.lookup(&fs.trees[TREE_FILES], id, rec))

cdef int put_file(FS* fs, uint64_t id, FileRec* rec) noexcept nogil:
    return bt(btree.insert(&fs.trees[TREE_FILES], id, rec, True))

cdef int stat(FS* fs, uint64_t id, FileRec* out) noexcept nogil:
    if not fs.mounted:
        return abi.E_INVAL
    return get_file(fs, id, out)

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

cdef int create(FS* fs, const char* taglist, uint32_t label, uint64_t* id) noexcept nogil:
    cdef int err = begin(fs)
    cdef size_t n
    if err != abi.E_OK:
        return err
    if label >= abi.FILE_CLASSES:
        return finish(fs, abi.E_RANGE)
    err = new_file(fs, label, id)
    while err == abi.E_OK and taglist != NULL and taglist[0]:
        while taglist[0] == c' ':
            taglist += 1
        n = 0
        while taglist[n] and taglist[n] != c' ':
            n += 1
        if n:
            err = add_tag(fs, id[0], taglist, n)
        taglist += n
    return finish(fs, err)

# ---- file data ---------------------------------------------------------------------------
cdef uint64_t ext_key(uint64_t id, uint32_t n) noexcept nogil:
    return (id << EXTENT_BITS) | n

cdef uint64_t map_block(FS* fs, uint64_t id, uint32_t logical, Extent* last, uint64_t* last_key) noexcept nogil:
    """The physical block holding `logical` (0: a hole); last/last_key: the
    extent that ends highest (for appending), key 0 if the file has none."""
    cdef Cursor cur
    cdef uint64_t key
    cdef Extent e
    last_key[0] = 0
    btree.seek(&fs.trees[TREE_EXTENTS], &cur, ext_key(id, 0))
    while btree.next(&fs.trees[TREE_EXTENTS], &cur, &key, &e) and (key >> EXTENT_BITS) == id:
        if e.logical <= logical < e.logical + e.count:
            return e.physical + (logical - e.logical)
        if last_key[0] == 0 or e.logical + e.count > last.logical + last.count:
            last[0] = e
            last_key[0] = key
    return 0

cdef uint64_t place_block(FS* fs, uint64_t id, FileRec* rec, uint32_t logical, int* err) noexcept nogil:
    """A new block for `logical`, extending the file's last extent if it can."""
    cdef Extent last, e
    cdef uint64_t last_key, pb
    map_block(fs, id, logical, &last, &last_key)
    if last_key != 0 and last.logical + last.count == logical:
        fs.alloc_hint = last.physical + last.count        # try to stay contiguous
    pb = alloc_block(fs)
    if pb == 0:
        err[0] = abi.E_NOSPC
        return 0
    if last_key != 0 and last.logical + last.count == logical and last.physical + last.count == pb:
        last.count += 1
        err[0] = bt(btree.insert(&fs.trees[TREE_EXTENTS], last_key, &last, True))
    else:
        if rec.next_extent >= (1 << EXTENT_BITS):
            err[0] = abi.E_NOSPC
            return 0
        memset(&e, 0, sizeof(Extent))
        e.logical, e.physical, e.count = logical, <uint32_t>pb, 1
        err[0] = bt(btree.insert(&fs.trees[TREE_EXTENTS], ext_key(id, rec.next_extent), &e, False))
        rec.next_extent += 1
    return pb if err[0] == abi.E_OK else 0

cdef int write_chunk(FS* fs, uint64_t id, uint64_t off, const uint8_t* data, uint64_t n) noexcept nogil:
    cdef FileRec rec
    cdef Extent last
    cdef uint64_t last_key, pb, done = 0, take, at
    cdef uint32_t logical
    cdef uint8_t* blk
    cdef int err = get_file(fs, id, &rec)
    while err == abi.E_OK and done < n:
        logical = <uint32_t>((off + done) / BLOCK)
        at = (off + done) % BLOCK
        take = BLOCK - at if BLOCK - at < n - done else n - done
        pb = map_block(fs, id, logical, &last, &last_key)
        if pb == 0:
            pb = place_block(fs, id, &rec, logical, &err)
            blk = bcache.fresh(&fs.cache, pb) if pb else NULL
        else:
            blk = bcache.fresh(&fs.cache, pb) if take == BLOCK else bcache.modify(&fs.cache, pb)
        if err == abi.E_OK and blk == NULL:
            err = abi.E_IO
        if err == abi.E_OK:
            memcpy(blk + at, data + done, take)
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
    if (off + n) / BLOCK >= 0xFFFFFFFFU or off + n < off:
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

cdef int64_t read(FS* fs, uint64_t id, uint64_t off, uint8_t* buf, uint64_t n) noexcept nogil:
    cdef FileRec rec
    cdef Extent last
    cdef uint64_t last_key, pb, done = 0, take, at
    cdef const uint8_t* blk
    cdef int err = stat(fs, id, &rec)
    if err != abi.E_OK:
        return err
    if off >= rec.size:
        return 0
    if n > rec.size - off:
        n = rec.size - off
    while done < n:
        at = (off + done) % BLOCK
        take = BLOCK - at if BLOCK - at < n - done else n - done
        pb = map_block(fs, id, <uint32_t>((off + done) / BLOCK), &last, &last_key)
        if pb == 0:
            memset(buf + done, 0, take)                 # a hole
        else:
            blk = bcache.get(&fs.cache, pb)
            if blk == NULL:
                return abi.E_IO
            memcpy(buf + done, blk + at, take)
        done += take
    bcache.trim(&fs.cache)
    return <int64_t>n

cdef int cut_extents(FS* fs, uint64_t id, uint32_t keep_blocks) noexcept nogil:
    """Free every block at or after file block keep_blocks."""
    cdef Cursor cur
    cdef uint64_t key, i
    cdef Extent e
    cdef uint64_t* doomed = NULL
    cdef uint32_t ndoomed = 0, cap = 0
    cdef int err = abi.E_OK
    btree.seek(&fs.trees[TREE_EXTENTS], &cur, ext_key(id, 0))
    while err == abi.E_OK and btree.next(&fs.trees[TREE_EXTENTS], &cur, &key, &e) and (key >> EXTENT_BITS) == id:
        if e.logical + e.count <= keep_blocks:
            continue
        if ndoomed == cap:
            cap = cap * 2 + 16
            doomed = <uint64_t*>heap.krealloc(doomed, cap * 16)
            if doomed == NULL:
                return abi.E_NOMEM
        doomed[2 * ndoomed] = key
        doomed[2 * ndoomed + 1] = (<uint64_t>e.physical << 32) | e.logical
        ndoomed += 1
    for i in range(ndoomed):                            # the tree is not walked while it changes
        err = trim_extent(fs, doomed[2 * i], keep_blocks)
        if err != abi.E_OK:
            break
    heap.kfree(doomed)
    return err

cdef int trim_extent(FS* fs, uint64_t key, uint32_t keep_blocks) noexcept nogil:
    cdef Extent e
    cdef uint32_t keep, j
    cdef int err = bt(btree.lookup(&fs.trees[TREE_EXTENTS], key, &e))
    if err != abi.E_OK:
        return err
    keep = keep_blocks - e.logical if keep_blocks > e.logical else 0
    for j in range(keep, e.count):
        if not free_block(fs, e.physical + j):
            return abi.E_IO
    if keep == 0:
        return bt(btree.remove(&fs.trees[TREE_EXTENTS], key))
    e.count = keep
    return bt(btree.insert(&fs.trees[TREE_EXTENTS], key, &e, True))

cdef int zero_tail(FS* fs, uint64_t id, uint64_t size) noexcept nogil:
    """Bytes past the new end of the last block read as zeros if the file grows again."""
    cdef Extent last
    cdef uint64_t last_key, pb
    cdef uint8_t* blk
    if size % BLOCK == 0:
        return abi.E_OK
    pb = map_block(fs, id, <uint32_t>(size / BLOCK), &last, &last_key)
    if pb == 0:
        return abi.E_OK
    blk = bcache.modify(&fs.cache, pb)
    if blk == NULL:
        return abi.E_IO
    memset(blk + size % BLOCK, 0, BLOCK - size % BLOCK)
    return abi.E_OK

cdef int truncate_in_op(FS* fs, uint64_t id, uint64_t size) noexcept nogil:
    cdef FileRec rec
    cdef int err = get_file(fs, id, &rec)
    if err == abi.E_OK and size < rec.size:
        err = cut_extents(fs, id, <uint32_t>((size + BLOCK - 1) / BLOCK))
        if err == abi.E_OK:
            err = zero_tail(fs, id, size)
    if err == abi.E_OK:
        rec.size = size
        rec.mtime = fs.now()
        err = put_file(fs, id, &rec)
    return err

cdef int truncate(FS* fs, uint64_t id, uint64_t size) noexcept nogil:
    cdef int err
    if size / BLOCK >= 0xFFFFFFFFU:
        return abi.E_RANGE
    err = begin(fs)
    if err != abi.E_OK:
        return err
    return finish(fs, truncate_in_op(fs, id, size))

# ---- tags ----------------------------------------------------------------------------------
cdef bint valid_tag(const char* s, size_t n) noexcept nogil:
    cdef size_t i
    if n == 0 or n > TAG_MAX:
        return False
    for i in range(n):
        if s[i] <= c' ' or s[i] == c'(' or s[i] == c')' or s[i] == 127:
            return False
    if (n == 3 and (memcmp(s, b"AND", 3) == 0 or memcmp(s, b"NOT", 3) == 0)) or \
            (n == 2 and memcmp(s, b"OR", 2) == 0):
        return False
    return True

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
    cdef TagRec tag
    cdef uint64_t key
    cdef int err
    if not valid_tag(s, n):
        return abi.E_INVAL
    err = get_file(fs, id, &file)
    if err == abi.E_OK:
        err = tag_slot(fs, s, n, True, &key, &tag)
    if err == abi.E_OK:
        err = bt(btree.insert(&fs.trees[TREE_POSTINGS], (<uint64_t>tag.tag_id << FILE_ID_BITS) | id, NULL, False))
    if err == abi.E_OK:
        err = bt(btree.insert(&fs.trees[TREE_FILETAGS], (id << TAG_ID_BITS) | tag.tag_id, NULL, False))
    if err == abi.E_OK:
        tag.nfiles += 1
        file.ntags += 1
        err = bt(btree.insert(&fs.trees[TREE_TAGNAMES], key, &tag, True))
    if err == abi.E_OK:
        err = put_file(fs, id, &file)
    return err

cdef int drop_tag(FS* fs, uint64_t id, uint64_t key, TagRec* tag) noexcept nogil:
    """Take file `id` out of the tag's postings (the tag goes when no file has it)."""
    cdef FileRec file
    cdef int err = bt(btree.remove(&fs.trees[TREE_POSTINGS], (<uint64_t>tag.tag_id << FILE_ID_BITS) | id))
    if err == abi.E_OK:
        err = bt(btree.remove(&fs.trees[TREE_FILETAGS], (id << TAG_ID_BITS) | tag.tag_id))
    if err == abi.E_OK:
        err = get_file(fs, id, &file)
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
    return bt(btree.lookup(&fs.trees[TREE_TAGNAMES], key[0], rec)) if err == abi.E_OK else err

cdef int64_t tags(FS* fs, uint64_t id, char* out, size_t cap) noexcept nogil:
    cdef Cursor cur
    cdef uint64_t k, key
    cdef TagRec rec
    cdef FileRec file
    cdef size_t len = 0, i
    cdef int err = stat(fs, id, &file)
    if err != abi.E_OK:
        return err
    btree.seek(&fs.trees[TREE_FILETAGS], &cur, id << TAG_ID_BITS)
    while btree.next(&fs.trees[TREE_FILETAGS], &cur, &k, NULL) and (k >> TAG_ID_BITS) == id:
        if tag_of_id(fs, <uint32_t>(k & ((1 << TAG_ID_BITS) - 1)), &key, &rec) != abi.E_OK:
            return abi.E_CORRUPT
        for i in range(rec.length + 1):
            if len + 1 < cap:
                out[len] = rec.name[i] if i < rec.length else c'\n'
            len += 1
    if cap:
        out[len if len < cap else cap - 1] = 0
    return <int64_t>len

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
        err = cut_extents(fs, id, 0)
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
