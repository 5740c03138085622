# See fsck.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.string cimport memset
from kwe.common cimport abi
from kwe.mm cimport heap
from kwe.fs cimport bcache, btree, tagfs
from kwe.fs.tagfs cimport FS, FileRec, Extent, TagRec
from kwe.fs.btree cimport Cursor, NODE_MAGIC
from kwe.common.format cimport format_buf

cdef enum:
    NODE_HEADER = 16
    INTERNAL_CAP = (4096 - 16 - 4) / 12

cdef struct Walk:
    FS* fs
    Report* r
    uint8_t* seen               # one bit a block: claimed by a tree node or an extent
    int leaf_depth

cdef void problem(Report* r, const char* fmt, uint64_t a=0, uint64_t b=0, uint64_t c=0) noexcept nogil:
    cdef uint64_t args[3]
    r.problems += 1
    if r.log == NULL or r.log_len + 200 > r.log_cap:
        return
    args[0], args[1], args[2] = a, b, c
    r.log_len += format_buf(r.log + r.log_len, r.log_cap - r.log_len, fmt, args, 3)
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
    uint64_t lo, hi                 # its keys' range
    uint64_t entries                # counted so far under it
    uint16_t count, next            # its keys; the next child to walk
    bint bounded

cdef int64_t enter(Walk* w, int tree, uint64_t bno, uint64_t lo, uint64_t hi, bint bounded,
                   int depth, Pending* p) noexcept nogil:
    """Check the node at bno itself (keys in [lo, hi)).  Returns a leaf's entry
    count, 0 for a node not to go into, or -1 for an internal node: then p is
    set up for the caller to walk its children."""
    cdef const uint8_t* n
    cdef uint16_t level, count, i
    cdef const uint64_t* k
    if depth > btree.BT_MAX_DEPTH or not claim(w, bno, b"tree"):
        return 0
    w.r.tree_blocks += 1
    n = bcache.get(&w.fs.cache, bno)
    if n == NULL or (<const uint32_t*>n)[0] != NODE_MAGIC:
        problem(w.r, b"tree %d: block %u is not a tree node", tree, bno)
        return 0
    level = (<const uint16_t*>(n + 4))[0]
    count = (<const uint16_t*>(n + 6))[0]
    k = <const uint64_t*>(n + NODE_HEADER)
    for i in range(count):
        if (i > 0 and k[i] <= k[i - 1]) or k[i] < lo or (bounded and k[i] >= hi):
            problem(w.r, b"tree %d: keys out of order in block %u", tree, bno)
            break
    if level == 0:
        if w.leaf_depth < 0:
            w.leaf_depth = depth
        elif w.leaf_depth != depth:
            problem(w.r, b"tree %d: leaves at different depths (%d and %d)", tree, w.leaf_depth, depth)
        return count
    if count > INTERNAL_CAP:
        problem(w.r, b"tree %d: node %u claims %u keys", tree, bno, count)
        return 0
    p.n, p.lo, p.hi, p.bounded = n, lo, hi, bounded
    p.entries, p.count, p.next = 0, count, 0
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
    got = enter(w, tree, w.fs.trees[tree].root, 0, 0, False, 0, &stack[0])
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
        got = enter(w, tree, child[i], p.lo if i == 0 else k[i - 1], k[i] if i < p.count else p.hi,
                    p.bounded or i < p.count, top + 1, &stack[top + 1] if top < btree.BT_MAX_DEPTH else NULL)
        if got >= 0:
            p.entries += <uint64_t>got
            got = -1                            # go on with this node's next child
        else:
            top += 1
    return <uint64_t>got

cdef void check_extents(Walk* w) noexcept nogil:
    cdef Cursor cur
    cdef uint64_t key, id, j
    cdef Extent e
    cdef FileRec f
    btree.seek(&w.fs.trees[tagfs.TREE_EXTENTS], &cur, 0)
    while btree.next(&w.fs.trees[tagfs.TREE_EXTENTS], &cur, &key, &e):
        id = key >> 20
        if btree.lookup(&w.fs.trees[tagfs.TREE_FILES], id, &f) != btree.BT_OK:
            problem(w.r, b"extent of file %u, which does not exist", id)
            continue
        if <uint64_t>(e.logical + e.count) * 4096 > f.size + 4095:
            problem(w.r, b"file %u: extent past its size %u", id, f.size)
        for j in range(e.count):
            if claim(w, e.physical + j, b"data"):
                w.r.data_blocks += 1

cdef void check_bitmap(Walk* w) noexcept nogil:
    cdef uint64_t b, free = 0
    cdef const uint8_t* bits
    cdef bint used, marked
    for b in range(w.fs.sb.data_start, w.fs.sb.nblocks):
        bits = bcache.get(&w.fs.cache, w.fs.sb.bitmap_start + b / 32768)
        if bits == NULL:
            problem(w.r, b"bitmap block unreadable")
            return
        marked = (bits[(b % 32768) >> 3] >> (b & 7)) & 1
        used = (w.seen[b >> 3] >> (b & 7)) & 1
        if marked != used:
            problem(w.r, b"block %u: the bitmap and the trees disagree (bitmap bit %u)", b, marked)
        free += not marked
        if (b & 4095) == 0:
            bcache.trim(&w.fs.cache)
    if free != w.fs.sb.free_blocks:
        problem(w.r, b"superblock counts %u free blocks, the bitmap %u", w.fs.sb.free_blocks, free)

cdef void check_tags(Walk* w) noexcept nogil:
    cdef Cursor cur
    cdef uint64_t key, k2, n
    cdef TagRec t
    cdef FileRec f
    btree.seek(&w.fs.trees[tagfs.TREE_TAGNAMES], &cur, 0)
    while btree.next(&w.fs.trees[tagfs.TREE_TAGNAMES], &cur, &key, &t):
        w.r.tags += 1
        if btree.lookup(&w.fs.trees[tagfs.TREE_TAGIDS], t.tag_id, &k2) != btree.BT_OK or k2 != key:
            problem(w.r, b"tag %u is missing from the id index", t.tag_id)
        n = count_range(w.fs, tagfs.TREE_POSTINGS, <uint64_t>t.tag_id << 40, 40)
        if n != t.nfiles or n == 0:
            problem(w.r, b"tag %u counts %u files, its postings hold %u", t.tag_id, t.nfiles, n)
    btree.seek(&w.fs.trees[tagfs.TREE_POSTINGS], &cur, 0)
    while btree.next(&w.fs.trees[tagfs.TREE_POSTINGS], &cur, &key, NULL):
        if not tagfs.has_tag(w.fs, key & ((<uint64_t>1 << 40) - 1), <uint32_t>(key >> 40)):
            problem(w.r, b"posting (tag %u, file %u) has no file-tag mirror", key >> 40,
                    key & ((<uint64_t>1 << 40) - 1))
    btree.seek(&w.fs.trees[tagfs.TREE_FILES], &cur, 0)
    while btree.next(&w.fs.trees[tagfs.TREE_FILES], &cur, &key, &f):
        w.r.files += 1
        n = count_range(w.fs, tagfs.TREE_FILETAGS, key << 24, 24)
        if n != f.ntags:
            problem(w.r, b"file %u counts %u tags, holds %u", key, f.ntags, n)
        if key >= w.fs.sb.next_file_id:
            problem(w.r, b"file %u is at or past the next file id", key)

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
    if r.problems == 0:                     # the rest reads the trees: only if they are sound
        check_extents(&w)
        check_tags(&w)
        if r.files != fs.sb.nfiles:
            problem(r, b"superblock counts %u files, the index holds %u", fs.sb.nfiles, r.files)
        if r.tags != fs.sb.ntags:
            problem(r, b"superblock counts %u tags, the index holds %u", fs.sb.ntags, r.tags)
        check_bitmap(&w)
    heap.kfree(w.seen)
    return abi.E_OK
