# See fsck.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.string cimport memset
from kwe.common cimport abi
from kwe.mm cimport heap
from kwe.fs cimport bcache, btree, tagfs
from kwe.fs.tagfs cimport FS, FileRec, Chunk, TagRec, CHUNK_BLOCKS, CHUNK_BITS, BITMAP_BITS, FILE_ID_BITS, TAG_ID_BITS
from kwe.fs.btree cimport Cursor, NodeHeader, NODE_HEADER, INTERNAL_CAP
from kwe.common.format cimport format_buf

cdef uint64_t tree_name(int tree) noexcept nogil:
    """For %s in a problem line (the kernel runs no module-level code: no tables of strings)."""
    cdef const char* name = b"file tags"
    if tree == tagfs.TREE_FILES:
        name = b"files"
    elif tree == tagfs.TREE_CHUNKS:
        name = b"chunks"
    elif tree == tagfs.TREE_TAGNAMES:
        name = b"tag names"
    elif tree == tagfs.TREE_TAGIDS:
        name = b"tag ids"
    elif tree == tagfs.TREE_POSTINGS:
        name = b"postings"
    return <uint64_t>name

cdef struct Walk:
    FS* fs
    Report* r
    uint8_t* seen               # one bit a block: claimed by a tree node or an extent
    int leaf_depth

cdef void problem(Report* r, const char* fmt, uint64_t a=0, uint64_t b=0, uint64_t c=0,
                  uint64_t d=0) noexcept nogil:
    cdef uint64_t args[4]
    r.problems += 1
    if r.log == NULL or r.log_len + 200 > r.log_cap:
        return
    args[0], args[1], args[2], args[3] = a, b, c, d
    r.log_len += format_buf(r.log + r.log_len, r.log_cap - r.log_len, fmt, args, 4)
    r.log[r.log_len] = c'\n'
    r.log_len += 1
    r.log[r.log_len] = 0

cdef bint claim(Walk* w, uint64_t bno, const char* what) noexcept nogil:
    if bno < w.fs.sb.data_start or bno >= w.fs.sb.nblocks:
        problem(w.r, b"%s block %u is outside the data area", <uint64_t>what, bno)
        return False
    if w.seen[bno >> 3] & (1 << (bno & 7)):
        problem(w.r, b"%s block %u is used twice", <uint64_t>what, bno)
        return False
    w.seen[bno >> 3] |= <uint8_t>(1 << (bno & 7))
    return True

# An internal node whose children are being walked: one a level of the tree.
cdef struct Pending:
    const uint8_t* n
    uint64_t bno
    uint64_t lo, hi                 # its keys' range
    uint16_t level
    uint64_t entries                # counted so far under it
    uint16_t count, next            # its keys; the next child to walk
    bint bounded

cdef int64_t enter(Walk* w, int tree, uint64_t bno, uint64_t parent, uint64_t lo, uint64_t hi, bint bounded,
                   int depth, int level, Pending* p) noexcept nogil:
    """Check the node at bno itself (keys in [lo, hi), at `level`, -1: any).
    Returns a leaf's entry count, 0 for a node not to go into, or -1 for an
    internal node: then p is set up for the caller to walk its children."""
    cdef const uint8_t* n
    cdef const NodeHeader* h
    cdef const uint64_t* k
    if depth >= btree.BT_MAX_DEPTH:
        problem(w.r, b"tree %s: block %u is deeper than any tree can be", tree_name(tree), bno)
        return 0
    if not claim(w, bno, b"tree"):
        return 0
    w.r.tree_blocks += 1
    n = bcache.get(&w.fs.cache, bno, bcache.KIND_NODE, tree)
    if n == NULL:
        problem(w.r, b"tree %s: block %u (child of %u) is unreadable, fails its checksum or is not a node "
                     b"of this tree", tree_name(tree), bno, parent)
        return 0
    h = <const NodeHeader*>n
    k = <const uint64_t*>(n + NODE_HEADER)
    if level >= 0 and h.level != level:
        problem(w.r, b"tree %s: block %u is at level %u, its parent wants %u", tree_name(tree),
                bno, h.level, <uint64_t>level)
        return 0
    if h.count and (k[0] < lo or (bounded and k[h.count - 1] >= hi)):
        problem(w.r, b"tree %s: block %u holds keys outside the range its parent gives it",
                tree_name(tree), bno)
    if h.level == 0:
        if w.leaf_depth < 0:
            w.leaf_depth = depth
        elif w.leaf_depth != depth:
            problem(w.r, b"tree %s: leaves at different depths (%d and %d)", tree_name(tree),
                    w.leaf_depth, depth)
        return h.count
    p.n, p.bno, p.lo, p.hi, p.bounded = n, bno, lo, hi, bounded
    p.entries, p.count, p.next, p.level = 0, h.count, 0, h.level
    return -1

cdef uint64_t walk_tree(Walk* w, int tree) noexcept nogil:
    """Check one tree; returns its entry count.  Depth first, children in key
    order, with one Pending a level instead of recursion (the kernel never
    recurses): enter() refuses a node below BT_MAX_DEPTH, so the stack holds."""
    cdef Pending stack[btree.BT_MAX_DEPTH + 1]
    cdef Pending* p
    cdef const uint64_t* k
    cdef const uint32_t* child
    cdef int top = 0
    cdef uint16_t i
    cdef int64_t got
    w.leaf_depth = -1
    if w.fs.trees[tree].root == 0:
        return 0
    got = enter(w, tree, w.fs.trees[tree].root, 0, 0, 0, False, 0, -1, &stack[0])
    while got < 0:
        p = &stack[top]
        if p.next > p.count:                    # all its children done: add up into the parent
            if top == 0:
                return p.entries
            top -= 1
            stack[top].entries += p.entries
            continue
        i = p.next
        p.next += 1
        k = <const uint64_t*>(p.n + NODE_HEADER)
        child = <const uint32_t*>(p.n + NODE_HEADER + 8 * INTERNAL_CAP)
        got = enter(w, tree, child[i], p.bno, p.lo if i == 0 else k[i - 1], k[i] if i < p.count else p.hi,
                    p.bounded or i < p.count, top + 1, p.level - 1, &stack[top + 1])
        if got >= 0:
            p.entries += <uint64_t>got
            got = -1                            # go on with this node's next child
        else:
            top += 1
    return <uint64_t>got

cdef void check_chunk(Walk* w, uint64_t key, Chunk* c, FileRec* f) noexcept nogil:
    """Its blocks: inside the file's size, each used once, each matching its checksum."""
    cdef uint64_t id = key >> CHUNK_BITS
    cdef uint64_t first = (key & ((1 << CHUNK_BITS) - 1)) * CHUNK_BLOCKS
    cdef uint32_t i
    for i in range(CHUNK_BLOCKS):
        if c.physical[i] == 0:
            continue
        if (first + i) * 4096 >= f.size:
            problem(w.r, b"file %u: block %u is past its size %u", id, first + i, f.size)
        if not claim(w, c.physical[i], b"data"):
            continue
        w.r.data_blocks += 1
        if bcache.get(&w.fs.cache, c.physical[i], bcache.KIND_DATA, c.crc[i]) == NULL:
            problem(w.r, b"file %u: block %u (disk block %u) is unreadable or fails its checksum",
                    id, first + i, c.physical[i])

cdef void check_chunks(Walk* w) noexcept nogil:
    cdef Cursor cur
    cdef uint64_t key, n = 0
    cdef Chunk c
    cdef FileRec f
    btree.seek(&w.fs.trees[tagfs.TREE_CHUNKS], &cur, 0)
    while btree.next(&w.fs.trees[tagfs.TREE_CHUNKS], &cur, &key, &c):
        if btree.lookup(&w.fs.trees[tagfs.TREE_FILES], key >> CHUNK_BITS, &f) != btree.BT_OK:
            problem(w.r, b"a chunk of file %u, which does not exist", key >> CHUNK_BITS)
            continue
        check_chunk(w, key, &c, &f)
        n += 1
        if (n & 255) == 0:
            bcache.trim(&w.fs.cache)            # file data need not stay cached
    scan_ended(w, &cur, tagfs.TREE_CHUNKS)

cdef void scan_ended(Walk* w, Cursor* cur, int tree) noexcept nogil:
    if cur.err != btree.BT_OK:
        problem(w.r, b"tree %s: a scan stopped at an unreadable or inconsistent node",
                tree_name(tree))

cdef void check_bitmap(Walk* w) noexcept nogil:
    cdef uint64_t b, free = 0
    cdef const uint8_t* bits
    cdef bint used, marked
    for b in range(w.fs.sb.data_start, w.fs.sb.nblocks):
        bits = bcache.get(&w.fs.cache, w.fs.sb.bitmap_start + b / BITMAP_BITS, bcache.KIND_BITMAP, 0)
        if bits == NULL:
            problem(w.r, b"bitmap block %u is unreadable or fails its checksum", w.fs.sb.bitmap_start + b / BITMAP_BITS)
            return
        marked = (bits[(b % BITMAP_BITS) >> 3] >> (b & 7)) & 1
        used = (w.seen[b >> 3] >> (b & 7)) & 1
        if marked != used:
            problem(w.r, b"block %u: the bitmap and the trees disagree (bitmap bit %u)", b, marked)
        free += not marked
        if (b & 4095) == 0:
            bcache.trim(&w.fs.cache)
    if free != w.fs.sb.free_blocks:
        problem(w.r, b"superblock counts %u free blocks, the bitmap %u", w.fs.sb.free_blocks, free)

cdef void check_tag_names(Walk* w) noexcept nogil:
    cdef Cursor cur
    cdef uint64_t key, k2, n
    cdef TagRec t
    btree.seek(&w.fs.trees[tagfs.TREE_TAGNAMES], &cur, 0)
    while btree.next(&w.fs.trees[tagfs.TREE_TAGNAMES], &cur, &key, &t):
        w.r.tags += 1
        if t.length == 0 or t.length > tagfs.TAG_MAX or not tagfs.valid_tag(t.name, t.length):
            problem(w.r, b"tag %u (key %x): its name is not a valid tag", t.tag_id, key)
        if t.tag_id == 0 or t.tag_id >= w.fs.sb.next_tag_id:
            problem(w.r, b"tag %u (key %x) is at or past the next tag id", t.tag_id, key)
        if btree.lookup(&w.fs.trees[tagfs.TREE_TAGIDS], t.tag_id, &k2) != btree.BT_OK or k2 != key:
            problem(w.r, b"tag %u is missing from the id index", t.tag_id)
        n = count_range(w.fs, tagfs.TREE_POSTINGS, <uint64_t>t.tag_id << FILE_ID_BITS, FILE_ID_BITS)
        if n != t.nfiles or n == 0:
            problem(w.r, b"tag %u counts %u files, its postings hold %u", t.tag_id, t.nfiles, n)
    scan_ended(w, &cur, tagfs.TREE_TAGNAMES)

cdef void check_postings(Walk* w) noexcept nogil:
    cdef Cursor cur
    cdef uint64_t key, file_id
    cdef uint32_t tag_id
    btree.seek(&w.fs.trees[tagfs.TREE_POSTINGS], &cur, 0)
    while btree.next(&w.fs.trees[tagfs.TREE_POSTINGS], &cur, &key, NULL):
        file_id, tag_id = key & ((<uint64_t>1 << FILE_ID_BITS) - 1), <uint32_t>(key >> FILE_ID_BITS)
        if not tagfs.has_tag(w.fs, file_id, tag_id):
            problem(w.r, b"posting (tag %u, file %u) has no file-tag mirror", tag_id, file_id)
    scan_ended(w, &cur, tagfs.TREE_POSTINGS)
    btree.seek(&w.fs.trees[tagfs.TREE_FILETAGS], &cur, 0)
    while btree.next(&w.fs.trees[tagfs.TREE_FILETAGS], &cur, &key, NULL):
        file_id, tag_id = key >> 24, <uint32_t>(key & 0xFFFFFF)
        if btree.lookup(&w.fs.trees[tagfs.TREE_POSTINGS], (<uint64_t>tag_id << FILE_ID_BITS) | file_id, NULL) != btree.BT_OK:
            problem(w.r, b"file tag (file %u, tag %u) has no posting", file_id, tag_id)
    scan_ended(w, &cur, tagfs.TREE_FILETAGS)

cdef void check_files(Walk* w) noexcept nogil:
    cdef Cursor cur
    cdef uint64_t key, n
    cdef FileRec f
    btree.seek(&w.fs.trees[tagfs.TREE_FILES], &cur, 0)
    while btree.next(&w.fs.trees[tagfs.TREE_FILES], &cur, &key, &f):
        w.r.files += 1
        n = count_range(w.fs, tagfs.TREE_FILETAGS, key << TAG_ID_BITS, TAG_ID_BITS)
        if n != f.ntags:
            problem(w.r, b"file %u counts %u tags, holds %u", key, f.ntags, n)
        if key == 0 or key >= w.fs.sb.next_file_id:
            problem(w.r, b"file %u is at or past the next file id", key)
        if f.label >= abi.FILE_CLASSES or f.size > <uint64_t>tagfs.MAX_FILE_BLOCKS * 4096:
            problem(w.r, b"file %u: its record is out of range (class %u, size %u)", key, f.label, f.size)
    scan_ended(w, &cur, tagfs.TREE_FILES)

cdef uint64_t count_range(FS* fs, int tree, uint64_t start, int shift) noexcept nogil:
    cdef Cursor cur
    cdef uint64_t key, n = 0
    btree.seek(&fs.trees[tree], &cur, start)
    while btree.next(&fs.trees[tree], &cur, &key, NULL) and (key >> shift) == (start >> shift):
        n += 1
    return n

cdef int check(FS* fs, Report* r) noexcept nogil:
    cdef Walk w
    cdef int t
    r.problems = r.files = r.tags = r.tree_blocks = r.data_blocks = 0
    r.log_len = 0
    if r.log != NULL and r.log_cap:
        r.log[0] = 0
    if not fs.mounted:
        return abi.E_INVAL
    w.fs, w.r = fs, r
    w.seen = <uint8_t*>heap.kzalloc(fs.sb.nblocks / 8 + 1)
    if w.seen == NULL:
        return abi.E_NOMEM
    for t in range(tagfs.NTREES):
        walk_tree(&w, t)
    check_chunks(&w)                        # every scan below survives a damaged tree
    check_tag_names(&w)
    check_postings(&w)
    check_files(&w)
    if r.files != fs.sb.nfiles:
        problem(r, b"superblock counts %u files, the index holds %u", fs.sb.nfiles, r.files)
    if r.tags != fs.sb.ntags:
        problem(r, b"superblock counts %u tags, the index holds %u", fs.sb.ntags, r.tags)
    check_bitmap(&w)
    heap.kfree(w.seen)
    bcache.trim(&fs.cache)
    return abi.E_OK
