# See btree.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memmove, memset
from kwe.fs cimport bcache
from kwe.fs.bcache cimport Cache

cdef enum:
    RUN_GAP_BITS = 16               # run_end(): the right gap is this many bits bigger than the left
    NEAR_LINES = 4                  # gallop(): how many lines of keys it reads in order before leaping
    HEADER = NODE_HEADER
    NODE = 4096

cdef uint32_t leaf_capacity(uint32_t vsize) noexcept nogil:
    return (NODE - HEADER) / (8 + vsize)

cdef inline uint64_t* keys(uint8_t* n) noexcept nogil:
    return <uint64_t*>(n + HEADER)

cdef inline uint8_t* values(Tree* t, uint8_t* n) noexcept nogil:
    return n + HEADER + 8 * leaf_capacity(t.vsize)

cdef inline uint32_t* children(uint8_t* n) noexcept nogil:
    return <uint32_t*>(n + HEADER + 8 * INTERNAL_CAP)

cdef inline NodeHeader* hdr(const uint8_t* n) noexcept nogil:
    return <NodeHeader*>n

cdef void init(Tree* t, Cache* c, uint16_t id, uint64_t root, uint32_t vsize, AllocFn alloc, void* ctx) noexcept nogil:
    t.c, t.id, t.root, t.vsize, t.alloc, t.alloc_ctx = c, id, root, vsize, alloc, ctx
    t.hint_leaf = t.version = t.last_leaf = t.changes = 0
    t.last_pos = 0
    memset(t.near, 0, sizeof(t.near))

cdef bint ascending(const uint8_t* n) noexcept nogil:
    cdef const uint64_t* k = <const uint64_t*>(n + HEADER)
    cdef uint32_t i
    for i in range(1, hdr(n).count):
        if k[i] <= k[i - 1]:
            return False
    return True

cdef bint children_inside(const uint8_t* n, uint64_t lo, uint64_t hi) noexcept nogil:
    cdef const uint32_t* ch = <const uint32_t*>(n + HEADER + 8 * INTERNAL_CAP)
    cdef uint32_t i
    for i in range(hdr(n).count + 1):
        if ch[i] < lo or ch[i] >= hi:
            return False
    return True

cdef bint node_valid(const uint8_t* n, uint16_t tree, uint32_t vsize, uint64_t lo, uint64_t hi) noexcept nogil:
    cdef const NodeHeader* h = hdr(n)
    if h.magic != NODE_MAGIC or h.tree != tree or h.level >= BT_MAX_DEPTH:
        return False
    if h.level == 0:
        return h.count <= leaf_capacity(vsize) and ascending(n)
    return h.count <= INTERNAL_CAP and ascending(n) and children_inside(n, lo, hi)

cdef uint32_t first_at_least(const uint64_t* k, uint32_t lo, uint32_t hi, uint64_t key) noexcept nogil:
    """The first index in [lo, hi) with k[index] >= key (hi if none), by halving."""
    cdef uint32_t mid
    while lo < hi:
        mid = (lo + hi) / 2
        if k[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo

cdef uint32_t lower_bound(const uint8_t* n, uint64_t key) noexcept nogil:
    """First index with keys[i] >= key."""
    return first_at_least(<const uint64_t*>(n + HEADER), 0, hdr(n).count, key)

cdef uint32_t child_index(const uint8_t* n, uint64_t key) noexcept nogil:
    """Which child of an internal node holds key: the number of keys <= key."""
    cdef uint32_t lo = 0, hi = hdr(n).count, mid
    cdef const uint64_t* k = <const uint64_t*>(n + HEADER)
    while lo < hi:
        mid = (lo + hi) / 2
        if k[mid] <= key:
            lo = mid + 1
        else:
            hi = mid
    return lo

cdef uint8_t* new_node(Tree* t, uint16_t level, uint64_t* bno) noexcept nogil:
    cdef uint8_t* n
    bno[0] = t.alloc(t.alloc_ctx)
    if bno[0] == 0:
        return NULL
    n = bcache.fresh(t.c, bno[0], bcache.KIND_NODE, t.id)
    if n != NULL:
        hdr(n).magic = NODE_MAGIC
        hdr(n).level = level
        hdr(n).tree = t.id
    return n

cdef const uint8_t* read_node(Tree* t, uint64_t bno) noexcept nogil:
    """A node, checked by the cache.  The tree keeps pointers to the nodes it
    read last, good while the cache has dropped, remade and retyped nothing
    (its drops counter): a descent through hot nodes costs a load each, not
    a hash lookup."""
    cdef Near* near = &t.near[bno & (NEAR_NODES - 1)]
    cdef const uint8_t* n
    if near.bno == bno and near.gen == t.c.drops and near.data != NULL:
        return near.data
    n = bcache.get(t.c, bno, bcache.KIND_NODE, t.id)
    if n != NULL:
        near.bno, near.data, near.gen = bno, n, t.c.drops
    return n

cdef uint8_t* write_node(Tree* t, uint64_t bno) noexcept nogil:
    return bcache.modify(t.c, bno, bcache.KIND_NODE, t.id)

# A descent's bounds: the keys a node may hold, and the level it must have.
cdef struct Range:
    uint64_t lo, hi
    bint bounded
    int level                       # -1: any (the root)
    uint64_t parent                 # a leaf's: its parent (0: not known) and its slot there,
    uint32_t slot                   # and the parent's own upper bound
    uint64_t parent_hi
    bint parent_bounded

cdef bint fits(const uint8_t* n, Range* r) noexcept nogil:
    """Is the node where its parent says: one level down, keys in range?"""
    cdef const uint64_t* k = <const uint64_t*>(n + HEADER)
    cdef uint16_t count = hdr(n).count
    if r.level >= 0 and hdr(n).level != r.level:
        return False
    return count == 0 or (k[0] >= r.lo and (not r.bounded or k[count - 1] < r.hi))

cdef void narrow(const uint8_t* n, uint32_t i, Range* r) noexcept nogil:
    """The range of child i of internal node n."""
    cdef const uint64_t* k = <const uint64_t*>(n + HEADER)
    if i > 0:
        r.lo = k[i - 1]
    if i < hdr(n).count:
        r.hi, r.bounded = k[i], True
    r.level = hdr(n).level - 1

# ---- lookup and scans -----------------------------------------------------------------------
cdef uint64_t hinted_leaf(Tree* t, uint64_t key, Range* r) noexcept nogil:
    """The last descent's leaf if key is in its range and nothing since changed
    the tree's shape or undid an operation (0 otherwise)."""
    if t.hint_leaf == 0 or t.hint_epoch != t.c.epoch or t.hint_version != t.version:
        return 0
    if key < t.hint_lo or (t.hint_bounded and key >= t.hint_hi):
        return 0
    r.lo, r.hi, r.bounded, r.level = t.hint_lo, t.hint_hi, t.hint_bounded, 0
    r.parent = 0
    return t.hint_leaf

cdef void remember(Tree* t, uint64_t leaf, Range* r) noexcept nogil:
    t.hint_leaf, t.hint_lo, t.hint_hi, t.hint_bounded = leaf, r.lo, r.hi, r.bounded
    t.hint_epoch, t.hint_version = t.c.epoch, t.version

cdef uint64_t leaf_for(Tree* t, uint64_t key, Range* r) noexcept nogil:
    """find_leaf() without a path: the hint first."""
    cdef int depth
    cdef uint64_t leaf = hinted_leaf(t, key, r)
    return leaf if leaf else find_leaf(t, key, NULL, NULL, &depth, r)

cdef uint64_t find_leaf(Tree* t, uint64_t key, uint64_t* path, uint32_t* slots, int* depth,
                       Range* r) noexcept nogil:
    """The leaf that holds key (0: unreadable or inconsistent); path/slots (if
    not NULL) record the internal nodes passed, r the leaf's range."""
    cdef uint64_t bno = t.root
    cdef const uint8_t* n
    cdef uint32_t i
    r.lo, r.hi, r.bounded, r.level = 0, 0, False, -1
    r.parent = 0
    depth[0] = 0
    while True:
        n = read_node(t, bno)
        if n == NULL:
            return 0
        if depth[0] >= BT_MAX_DEPTH or not fits(n, r):
            bcache.fault(t.c, bno)
            return 0
        if hdr(n).level == 0:
            remember(t, bno, r)
            return bno
        i = child_index(n, key)
        if path != NULL:
            path[depth[0]] = bno
            slots[depth[0]] = i
        depth[0] += 1
        if hdr(n).level == 1:
            r.parent, r.slot, r.parent_hi, r.parent_bounded = bno, i, r.hi, r.bounded
        narrow(n, i, r)
        bno = (<const uint32_t*>(n + HEADER + 8 * INTERNAL_CAP))[i]

cdef int lookup(Tree* t, uint64_t key, void* value) noexcept nogil:
    cdef int depth
    cdef uint64_t leaf
    cdef const uint8_t* n
    cdef uint32_t i
    cdef Range r
    if t.root == 0:
        return BT_NOT_FOUND
    leaf = leaf_for(t, key, &r)
    n = read_node(t, leaf) if leaf else NULL
    if n == NULL:
        return BT_IO
    i = lower_bound(n, key)
    if i == hdr(n).count or (<const uint64_t*>(n + HEADER))[i] != key:
        return BT_NOT_FOUND
    if value != NULL and t.vsize:
        memcpy(value, n + HEADER + 8 * leaf_capacity(t.vsize) + i * t.vsize, t.vsize)
    return BT_OK

cdef int seek(Tree* t, Cursor* cur, uint64_t key) noexcept nogil:
    cdef int depth
    cdef const uint8_t* n
    cdef Range r
    cur.leaf, cur.pos, cur.err = 0, 0, BT_OK
    if t.root == 0:
        return BT_OK
    cur.leaf = leaf_for(t, key, &r)
    n = read_node(t, cur.leaf) if cur.leaf else NULL
    if n == NULL:
        cur.leaf, cur.err = 0, BT_IO
        return BT_IO
    cur.pos = lower_bound(n, key)
    at_leaf(t, cur, cur.leaf, &r)
    return BT_OK

cdef void at_leaf(Tree* t, Cursor* cur, uint64_t leaf, Range* r) noexcept nogil:
    """The cursor is in leaf, of range r (its parent's slot too, if r knows it)."""
    cur.leaf, cur.hi, cur.bounded = leaf, r.hi, r.bounded
    cur.parent, cur.slot, cur.parent_hi, cur.parent_bounded = r.parent, r.slot, r.parent_hi, r.parent_bounded
    cur.version, cur.epoch = t.version, t.c.epoch

cdef bint parent_covers(Tree* t, Cursor* cur, uint64_t key) noexcept nogil:
    """Is key under the cursor's leaf's parent, as the cursor last knew it
    (the tree's shape unchanged since)?"""
    return (cur.parent != 0 and cur.version == t.version and cur.epoch == t.c.epoch
            and (not cur.parent_bounded or key < cur.parent_hi))

cdef void move_to(Tree* t, Cursor* cur, uint64_t key) noexcept nogil:
    """To the first key >= key, which is at or past cur.hi: through the
    leaf's parent when it covers key (a leaf to the right, one level
    down, checked against the parent's keys as a descent checks it), else
    by a fresh descent.  The new leaf's keys are all >= cur.hi, so a scan
    only goes forward."""
    cdef const uint8_t* p = read_node(t, cur.parent) if parent_covers(t, cur, key) else NULL
    cdef const uint8_t* n
    cdef uint64_t leaf
    cdef Range r
    if p == NULL:
        seek(t, cur, key)
        return
    r.lo, r.hi, r.bounded, r.parent = cur.hi, cur.parent_hi, cur.parent_bounded, cur.parent
    r.parent_hi, r.parent_bounded, r.slot = cur.parent_hi, cur.parent_bounded, child_index(p, key)
    narrow(p, r.slot, &r)
    leaf = (<const uint32_t*>(p + HEADER + 8 * INTERNAL_CAP))[r.slot]
    n = read_node(t, leaf)
    if n == NULL or not fits(n, &r):
        if n != NULL:
            bcache.fault(t.c, leaf)
        cur.leaf, cur.err = 0, BT_IO
        return
    cur.pos = gallop(<const uint64_t*>(n + HEADER), 0, hdr(n).count, key)
    at_leaf(t, cur, leaf, &r)
    warm_ahead(t, p, r.slot)

cdef void warm_ahead(Tree* t, const uint8_t* p, uint32_t slot) noexcept nogil:
    """Leaves to the right come from memory a scan does not wait for: the
    next one's lines, the one after's cache record, the third's hash slot
    (kwe.fs.bcache.warm), each asked for a step before it is needed."""
    cdef const uint32_t* ch = <const uint32_t*>(p + HEADER + 8 * INTERNAL_CAP)
    cdef uint32_t i
    for i in range(3):
        if slot + 1 + i <= hdr(p).count:
            bcache.warm(t.c, ch[slot + 1 + i], 2 - i)

cdef const uint8_t* at_entry(Tree* t, Cursor* cur) noexcept nogil:
    """The leaf holding the cursor's entry, stepping to the next leaf as needed;
    NULL at the end or on an error."""
    cdef const uint8_t* n
    while cur.leaf != 0:
        n = read_node(t, cur.leaf)
        if n == NULL:
            cur.leaf, cur.err = 0, BT_IO
            return NULL
        if cur.pos < hdr(n).count:
            return n
        if not cur.bounded:
            cur.leaf = 0                        # the rightmost leaf is done
        else:
            move_to(t, cur, cur.hi)
    return NULL

cdef bint next(Tree* t, Cursor* cur, uint64_t* key, void* value) noexcept nogil:
    cdef const uint8_t* n = at_entry(t, cur)
    if n == NULL:
        return False
    key[0] = (<const uint64_t*>(n + HEADER))[cur.pos]
    if value != NULL and t.vsize:
        memcpy(value, n + HEADER + 8 * leaf_capacity(t.vsize) + cur.pos * t.vsize, t.vsize)
    cur.pos += 1
    return True

cdef uint32_t run_of(Tree* t, Cursor* cur, uint64_t end, const uint64_t** run) noexcept nogil:
    cdef const uint8_t* n
    cdef const uint64_t* k
    cdef uint32_t count
    while cur.leaf != 0:
        n = read_node(t, cur.leaf)
        if n == NULL:
            cur.leaf, cur.err = 0, BT_IO
            return 0
        k, count = <const uint64_t*>(n + HEADER), hdr(n).count
        if cur.pos < count:
            if k[cur.pos] >= end:
                cur.leaf = 0                    # the range is done
                return 0
            run[0] = k + cur.pos
            return (count if k[count - 1] < end else first_at_least(k, cur.pos, count, end)) - cur.pos
        if not cur.bounded or cur.hi >= end:
            cur.leaf = 0                        # no leaf to the right holds keys below end
            return 0
        move_to(t, cur, cur.hi)
    return 0

cdef uint32_t gallop(const uint64_t* k, uint32_t i, uint32_t count, uint64_t key) noexcept nogil:
    """The first index >= i with k[index] >= key.  A near one is found a cache
    line (8 keys) at a time: reads in order, which the CPU fetches ahead of
    need; a far one in steps that double, then halve."""
    cdef uint32_t step = 1, lines = 0
    while lines < NEAR_LINES and i + 8 <= count and k[i + 7] < key:
        i += 8
        lines += 1
    if lines < NEAR_LINES:
        while i < count and k[i] < key:
            i += 1
        return i
    if i >= count or k[i] >= key:
        return i
    while i + step < count and k[i + step] < key:
        i += step
        step <<= 1
    return first_at_least(k, i + 1, i + step if i + step < count else count, key)

cdef bint advance(Tree* t, Cursor* cur, uint64_t key) noexcept nogil:
    cdef const uint8_t* n
    cdef const uint64_t* k
    while cur.leaf != 0:
        if cur.bounded and key >= cur.hi:
            move_to(t, cur, key)                # past this leaf
            continue
        n = read_node(t, cur.leaf)
        if n == NULL:
            cur.leaf, cur.err = 0, BT_IO
            return False
        k = <const uint64_t*>(n + HEADER)
        cur.pos = gallop(k, cur.pos, hdr(n).count, key)
        if cur.pos < hdr(n).count:
            return k[cur.pos] == key
        if not cur.bounded:
            cur.leaf = 0
            return False
        move_to(t, cur, cur.hi)                 # the answer is in a leaf to the right
    return False

# ---- insertion ----------------------------------------------------------------------------------
cdef void leaf_put(Tree* t, uint8_t* n, uint32_t i, uint64_t key, const void* value) noexcept nogil:
    cdef uint32_t count = hdr(n).count
    memmove(keys(n) + i + 1, keys(n) + i, (count - i) * 8)
    if t.vsize:
        memmove(values(t, n) + (i + 1) * t.vsize, values(t, n) + i * t.vsize, (count - i) * t.vsize)
        memcpy(values(t, n) + i * t.vsize, value, t.vsize)
    keys(n)[i] = key
    hdr(n).count = count + 1

cdef void put_at(Tree* t, uint64_t leaf, uint8_t* n, uint32_t i, uint64_t key, const void* value) noexcept nogil:
    """leaf_put, remembered: split_point() tells a stream of keys in order by it."""
    leaf_put(t, n, i, key, value)
    t.last_leaf, t.last_pos = leaf, i

cdef void internal_put(uint8_t* n, uint32_t i, uint64_t key, uint32_t right) noexcept nogil:
    """Insert key at i and child `right` at i + 1."""
    cdef uint32_t count = hdr(n).count
    memmove(keys(n) + i + 1, keys(n) + i, (count - i) * 8)
    memmove(children(n) + i + 2, children(n) + i + 1, (count - i) * 4)
    keys(n)[i] = key
    children(n)[i + 1] = right
    hdr(n).count = count + 1

cdef bint run_end(const uint8_t* n, uint32_t i, uint64_t key) noexcept nogil:
    """Does key (going in at i) extend a run: close after its left neighbour,
    far before its right one?  As a tag's newest file goes after its others
    and before the next tag's first (postings keys are tag << 40 | file)."""
    cdef const uint64_t* k = <const uint64_t*>(n + HEADER)
    return 0 < i < hdr(n).count and (k[i] - key) >> RUN_GAP_BITS > key - k[i - 1]

cdef uint32_t split_point(Tree* t, uint64_t leaf, const uint8_t* n, uint32_t i, uint64_t key) noexcept nogil:
    """Where a full leaf splits for an insert of key at i.  Keys that arrive in
    order -- after every key in the leaf (new file ids), right after the
    tree's previous insert, or at the end of a run (run_end) -- split it at i,
    so the left side stays full and what follows fills the right: trees
    filled in order stay dense instead of half empty.  Any other insert
    halves the leaf."""
    if i == hdr(n).count or (leaf == t.last_leaf and i == t.last_pos + 1) or run_end(n, i, key):
        return i
    return hdr(n).count / 2

cdef int split_leaf(Tree* t, uint8_t* left, uint32_t at, uint64_t key, uint64_t* sep,
                    uint64_t* right_bno) noexcept nogil:
    """Move left's keys from `at` on to a new leaf; sep: its first key, or
    key (which goes there) when it gets none."""
    cdef uint8_t* right = new_node(t, 0, right_bno)
    cdef uint32_t count = hdr(left).count
    if right == NULL:
        return BT_NO_SPACE
    memcpy(keys(right), keys(left) + at, (count - at) * 8)
    if t.vsize:
        memcpy(values(t, right), values(t, left) + at * t.vsize, (count - at) * t.vsize)
    hdr(right).count = count - at
    hdr(left).count = at
    sep[0] = keys(right)[0] if count > at else key
    return BT_OK

cdef int split_internal(Tree* t, uint8_t* left, uint32_t half, uint64_t* sep, uint64_t* right_bno) noexcept nogil:
    """Key `half` moves up; the keys and children after it go to a new node."""
    cdef uint8_t* right = new_node(t, hdr(left).level, right_bno)
    cdef uint32_t count = hdr(left).count
    if right == NULL:
        return BT_NO_SPACE
    sep[0] = keys(left)[half]                       # moves up
    memcpy(keys(right), keys(left) + half + 1, (count - half - 1) * 8)
    memcpy(children(right), children(left) + half + 1, (count - half) * 4)
    hdr(right).count = count - half - 1
    hdr(left).count = half
    return BT_OK

cdef int grow_root(Tree* t, uint64_t sep, uint64_t right) noexcept nogil:
    cdef uint64_t bno
    cdef const uint8_t* old = read_node(t, t.root)
    cdef uint8_t* n
    if old == NULL:
        return BT_IO
    n = new_node(t, hdr(old).level + 1, &bno)
    if n == NULL:
        return BT_NO_SPACE
    children(n)[0] = <uint32_t>t.root
    internal_put(n, 0, sep, <uint32_t>right)
    t.root = bno
    return BT_OK

cdef int insert(Tree* t, uint64_t key, const void* value, bint replace) noexcept nogil:
    cdef uint64_t path[BT_MAX_DEPTH]
    cdef uint32_t slots[BT_MAX_DEPTH]
    cdef uint64_t leaf, sep, right
    cdef uint8_t* n
    cdef uint8_t* parent
    cdef uint32_t i
    cdef int depth = 0, err
    cdef Range r
    t.changes += 1
    if t.root == 0:
        t.version += 1
        n = new_node(t, 0, &t.root)
        if n == NULL:
            t.root = 0
            return BT_NO_SPACE
    leaf = hinted_leaf(t, key, &r)
    n = read_node(t, leaf) if leaf else NULL
    if n == NULL or hdr(n).count >= leaf_capacity(t.vsize):
        leaf = find_leaf(t, key, path, slots, &depth, &r)     # a split needs the path
    n = write_node(t, leaf) if leaf else NULL
    if n == NULL:
        return BT_IO
    i = lower_bound(n, key)
    if i < hdr(n).count and keys(n)[i] == key:
        if not replace:
            return BT_EXISTS
        if t.vsize:
            memcpy(values(t, n) + i * t.vsize, value, t.vsize)
        return BT_OK
    if hdr(n).count < leaf_capacity(t.vsize):
        put_at(t, leaf, n, i, key, value)
        return BT_OK
    t.version += 1                                      # the shape changes: hints go
    err = split_leaf(t, n, split_point(t, leaf, n, i, key), key, &sep, &right)
    if err != BT_OK:
        return err
    if key < sep:
        put_at(t, leaf, n, i, key, value)
    else:
        n = write_node(t, right)
        put_at(t, right, n, lower_bound(n, key), key, value)
    while depth > 0:                                    # the separator goes up
        depth -= 1
        parent = write_node(t, path[depth])
        if parent == NULL:
            return BT_IO
        if hdr(parent).count < INTERNAL_CAP:
            internal_put(parent, slots[depth], sep, <uint32_t>right)
            return BT_OK
        internal_put_split(t, parent, slots[depth], &sep, &right)
        if right == 0:
            return BT_NO_SPACE
    return grow_root(t, sep, right)

cdef void internal_put_split(Tree* t, uint8_t* n, uint32_t i, uint64_t* sep, uint64_t* right) noexcept nogil:
    """n is full: split it, then put (sep, right) into the half where it belongs.
    On return sep/right describe the new sibling for the next level (right = 0: no space)."""
    cdef uint64_t up, sib
    cdef uint8_t* target
    cdef uint64_t key = sep[0]
    cdef uint32_t child = <uint32_t>right[0]
    cdef uint32_t half = hdr(n).count / 2
    if i == hdr(n).count:
        half = i - 1                                # an append: keep it full (one key moves up)
    if split_internal(t, n, half, &up, &sib) != BT_OK:
        right[0] = 0
        return
    if i <= half:
        internal_put(n, i, key, child)
    else:
        target = write_node(t, sib)
        internal_put(target, i - half - 1, key, child)
    sep[0] = up
    right[0] = sib

# ---- removal ----------------------------------------------------------------------------------------
cdef int remove(Tree* t, uint64_t key) noexcept nogil:
    cdef int depth
    cdef uint64_t leaf
    cdef uint8_t* n
    cdef uint32_t i, count
    cdef Range r
    t.changes += 1
    if t.root == 0:
        return BT_NOT_FOUND
    leaf = leaf_for(t, key, &r)
    n = write_node(t, leaf) if leaf else NULL
    if n == NULL:
        return BT_IO
    i = lower_bound(n, key)
    count = hdr(n).count
    if i == count or keys(n)[i] != key:
        return BT_NOT_FOUND
    memmove(keys(n) + i, keys(n) + i + 1, (count - i - 1) * 8)
    if t.vsize:
        memmove(values(t, n) + i * t.vsize, values(t, n) + (i + 1) * t.vsize, (count - i - 1) * t.vsize)
    hdr(n).count = count - 1
    return BT_OK
