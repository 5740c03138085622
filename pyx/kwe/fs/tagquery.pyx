# See tagquery.pxd.
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy, memset
from kwe.common cimport abi, kstr, tags
from kwe.mm cimport heap
from kwe.mm.account cimport Account
from kwe.fs cimport btree, tagfs
from kwe.fs.tagfs cimport FS, TREE_POSTINGS, TREE_FILES
from kwe.fs.btree cimport Cursor

cdef Account* charged = NULL     # whose query runs now (one at a time: one CPU, no sleeping)

cdef enum:
    FIRST_ROOM = 1 << 20         # ids a list's first allocation holds at most (8 MiB)
    LOOK_RATIO = 4               # look into a tag for a's ids, not read it, if it is this much bigger
    INLINE_LEVELS = 4            # parentheses nested this deep need no heap

# A partial answer: `ids`, or everything but `ids` when neg.  A tag's posting
# list is not read until it must be (lazy): ANDed with a far smaller set, it
# is only looked into, so an intersection costs about its smaller side.
cdef struct Value:
    IdSet s
    bint neg
    bint lazy                   # s is the posting list of tag_id, not read yet
    uint32_t tag_id
    uint32_t nfiles

cdef struct Parser:
    FS* fs
    const char* p
    int err

# ---- id sets ---------------------------------------------------------------------------
cdef void release(IdSet* s) noexcept nogil:
    heap.kfree(s.ids)
    s.ids = NULL
    s.n = s.cap = 0

cdef bint reserve(IdSet* s, uint64_t n) noexcept nogil:
    """Room for n more ids."""
    cdef uint64_t* grown
    if s.n + n <= s.cap:
        return True
    if s.ids == NULL:
        grown = <uint64_t*>heap.kmalloc_for(charged, (s.n + n) * 8)
    else:
        grown = <uint64_t*>heap.krealloc(s.ids, (s.n + n) * 8)     # keeps its owner
    if grown == NULL:
        return False
    s.ids, s.cap = grown, s.n + n
    return True


cdef uint64_t copy_rest(const uint64_t* a, uint64_t i, uint64_t na, uint64_t* out, uint64_t n) noexcept nogil:
    """a[i:na] onto out at n; the new length (an empty set's ids may be NULL)."""
    if na > i:
        memcpy(out + n, a + i, (na - i) * 8)
    return n + na - i

cdef uint64_t intersect(const uint64_t* a, uint64_t na, const uint64_t* b, uint64_t nb,
                        uint64_t* out) noexcept nogil:
    """Both sorted; out has room for the smaller.  Branch-free steps: which
    side moves is data, not a jump the CPU must guess."""
    cdef uint64_t i = 0, j = 0, n = 0, x, y
    while i < na and j < nb:
        x, y = a[i], b[j]
        out[n] = x
        n += x == y
        i += x <= y
        j += y <= x
    return n

cdef uint64_t subtract(const uint64_t* a, uint64_t na, const uint64_t* b, uint64_t nb,
                       uint64_t* out) noexcept nogil:
    """a - b, both sorted; out has room for a."""
    cdef uint64_t i = 0, j = 0, n = 0, x, y
    while i < na and j < nb:
        x, y = a[i], b[j]
        out[n] = x
        n += x < y
        i += x <= y
        j += y <= x
    return copy_rest(a, i, na, out, n)

cdef uint64_t unite(const uint64_t* a, uint64_t na, const uint64_t* b, uint64_t nb,
                    uint64_t* out) noexcept nogil:
    """a | b, both sorted; out has room for both."""
    cdef uint64_t i = 0, j = 0, n = 0, x, y
    while i < na and j < nb:
        x, y = a[i], b[j]
        out[n] = x if x <= y else y
        n += 1
        i += x <= y
        j += y <= x
    return copy_rest(b, j, nb, out, copy_rest(a, i, na, out, n))

cdef int merge(IdSet* a, IdSet* b, IdSet* out, int mode) noexcept nogil:
    """mode 0: a AND b, 1: a OR b, 2: a AND NOT b (all sorted).  The answer's
    room is taken once, for the most it can hold."""
    memset(out, 0, sizeof(IdSet))
    if not reserve(out, (a.n if a.n < b.n else b.n) if mode == 0 else (a.n + b.n if mode == 1 else a.n)):
        return abi.E_NOMEM
    if mode == 0:
        out.n = intersect(a.ids, a.n, b.ids, b.n, out.ids)
    elif mode == 1:
        out.n = unite(a.ids, a.n, b.ids, b.n, out.ids)
    else:
        out.n = subtract(a.ids, a.n, b.ids, b.n, out.ids)
    return abi.E_OK

# ---- reading the index ---------------------------------------------------------------------
cdef int keys_into(FS* fs, int tree, uint64_t first, uint64_t end, uint64_t expect, uint64_t mask,
                   IdSet* out) noexcept nogil:
    """The keys of tree in [first, end), masked, read a leaf at a time straight
    into out.  expect: how many the disk's counts say there are -- believed up
    to FIRST_ROOM ids, so a damaged count costs regrowth, never a huge request."""
    cdef Cursor cur
    cdef uint64_t i, got
    if expect > FIRST_ROOM:
        expect = FIRST_ROOM
    btree.seek(&fs.trees[tree], &cur, first)
    while cur.leaf != 0:
        if out.cap - out.n < 64 and not reserve(out, (expect if expect > out.n else out.n) + 64):
            return abi.E_NOMEM
        got = btree.scan_keys(&fs.trees[tree], &cur, end, out.ids + out.n, out.cap - out.n)
        for i in range(out.n, out.n + got):
            out.ids[i] &= mask
        out.n += got
    return abi.E_OK if cur.err == btree.BT_OK else abi.E_IO

cdef int postings(FS* fs, uint32_t tag_id, uint32_t nfiles, IdSet* out) noexcept nogil:
    """The tag's files, in order."""
    return keys_into(fs, TREE_POSTINGS, <uint64_t>tag_id << 40, (<uint64_t>tag_id + 1) << 40, nfiles,
                     (<uint64_t>1 << 40) - 1, out)

cdef int all_files(FS* fs, IdSet* out) noexcept nogil:
    """Every file id, in order."""
    cdef uint64_t everything = <uint64_t>0xFFFFFFFFFFFFFFFFU
    return keys_into(fs, TREE_FILES, 0, everything, fs.sb.nfiles, everything, out)

# ---- the parser, evaluating as it goes ---------------------------------------------------------
# What a word is, and which words are operators, is kwe.common.tags' to say.
cdef void skip_space(Parser* ps) noexcept nogil:
    ps.p += tags.space_len(ps.p)

cdef bint keyword(Parser* ps, const char* kw) noexcept nogil:
    """Read the operator kw names if it is the next word, in any case (`and` is AND)."""
    cdef size_t n
    skip_space(ps)
    n = tags.word_len(ps.p)
    if tags.operator(ps.p, n) == tags.operator(kw, kstr.length(kw)):
        ps.p += n
        return True
    return False

cdef void tag_value(Parser* ps, Value* v) noexcept nogil:
    cdef size_t n
    cdef int err
    memset(v, 0, sizeof(Value))
    skip_space(ps)
    n = tags.word_len(ps.p)
    if tags.check(ps.p, n) != tags.TAG_OK:
        ps.err = abi.E_INVAL
        return
    err = tagfs.find_tag(ps.fs, ps.p, n, &v.tag_id, &v.nfiles)
    ps.p += n
    if err == abi.E_OK:
        v.lazy = True
    elif err != abi.E_NOENT:                       # no file has it: the empty set
        ps.err = err

cdef void materialize(Parser* ps, Value* v) noexcept nogil:
    if v.lazy and ps.err == abi.E_OK:
        ps.err = postings(ps.fs, v.tag_id, v.nfiles, &v.s)
    v.lazy = False

cdef uint64_t size(Value* v) noexcept nogil:
    return v.nfiles if v.lazy else v.s.n

cdef int look_into(FS* fs, IdSet* a, uint32_t tag_id, bint keep_found) noexcept nogil:
    """Keep the ids of a that have the tag (keep_found) or lack it, by moving
    one cursor forward through the tag's postings: no list is read."""
    cdef Cursor cur
    cdef uint64_t base = <uint64_t>tag_id << 40, i, kept = 0
    cdef bint found
    if a.n == 0:
        return abi.E_OK
    btree.seek(&fs.trees[TREE_POSTINGS], &cur, base | a.ids[0])
    for i in range(a.n):
        found = cur.leaf != 0 and btree.advance(&fs.trees[TREE_POSTINGS], &cur, base | a.ids[i])
        if found == keep_found:
            a.ids[kept] = a.ids[i]
            kept += 1
    a.n = kept
    return abi.E_OK if cur.err == btree.BT_OK else abi.E_IO

cdef bint filter_by(Parser* ps, Value* a, Value* b, bint keep_found) noexcept nogil:
    """a = a AND b (keep_found) or a AND NOT b by looking into b for a's ids,
    when b is a tag not read yet and far bigger than a (combine() put the
    smaller side of an AND in a).  False when reading b is the cheaper way."""
    if not b.lazy or b.nfiles < LOOK_RATIO * size(a):
        return False
    materialize(ps, a)
    if ps.err == abi.E_OK:
        ps.err = look_into(ps.fs, &a.s, b.tag_id, keep_found)
    release(&b.s)
    return True

cdef void combine(Parser* ps, Value* a, Value* b, bint is_and) noexcept nogil:
    """a = a AND b (or a OR b), with either side possibly a complement."""
    cdef Value r
    if is_and and not a.neg and not b.neg and size(b) < size(a):
        r = a[0]                                # AND is symmetric: the smaller side first
        a[0] = b[0]
        b[0] = r
    if is_and and not a.neg and filter_by(ps, a, b, not b.neg):
        return                                  # a AND b, a AND NOT b: looked into b
    if is_and and a.neg and not b.neg and filter_by(ps, b, a, False):
        a[0] = b[0]                             # NOT a AND b = b AND NOT a
        return
    materialize(ps, a)
    materialize(ps, b)
    memset(&r, 0, sizeof(Value))
    if ps.err != abi.E_OK:
        pass
    elif is_and:
        if not a.neg and not b.neg:
            ps.err = merge(&a.s, &b.s, &r.s, 0)
        elif not a.neg:
            ps.err = merge(&a.s, &b.s, &r.s, 2)          # a - b
        elif not b.neg:
            ps.err = merge(&b.s, &a.s, &r.s, 2)          # b - a
        else:
            ps.err = merge(&a.s, &b.s, &r.s, 1)          # not (a or b)
            r.neg = True
    else:
        if not a.neg and not b.neg:
            ps.err = merge(&a.s, &b.s, &r.s, 1)
        elif not a.neg:
            ps.err = merge(&b.s, &a.s, &r.s, 2)          # not (b - a)
            r.neg = True
        elif not b.neg:
            ps.err = merge(&a.s, &b.s, &r.s, 2)          # not (a - b)
            r.neg = True
        else:
            ps.err = merge(&a.s, &b.s, &r.s, 0)          # not (a and b)
            r.neg = True
    release(&a.s)
    release(&b.s)
    a[0] = r

# ---- nesting without recursion -----------------------------------------------------------------
# The grammar nests, the kernel never recurses (tools/build/stackcheck.py): what
# the recursive descent (query -> term -> factor -> "(" query ")") kept on the
# call stack is one Level a pair of open parentheses, and evaluate() takes the
# same steps in the same order, so answers and errors are the same.
cdef struct Level:
    Value query                     # OR of the finished terms
    Value term                      # AND of the term's finished factors
    bint has_query, has_term
    bint negate                     # an odd number of NOTs before the factor being read

cdef void add_factor(Parser* ps, Level* lv, Value* f) noexcept nogil:
    """A factor is read: apply its NOTs and AND it into the term."""
    if lv.negate:
        f.neg = not f.neg
    lv.negate = False
    if lv.has_term:
        combine(ps, &lv.term, f, True)
    else:
        lv.term, lv.has_term = f[0], True
    memset(f, 0, sizeof(Value))

cdef bint term_goes_on(Parser* ps, Level* lv) noexcept nogil:
    """After a factor: True when another factor of the term follows (its AND
    read, if written).  False at the term's end -- the query's end, a ")" or an
    OR (read) -- or on an error."""
    if ps.err == abi.E_OK:
        skip_space(ps)
        if ps.p[0] == 0 or ps.p[0] == c')' or keyword(ps, b"OR"):
            return False
        keyword(ps, b"AND")
        return True
    return False

cdef void end_term(Parser* ps, Level* lv) noexcept nogil:
    """The term is finished: OR it into the query."""
    if lv.has_query:
        combine(ps, &lv.query, &lv.term, False)
    else:
        lv.query, lv.has_query = lv.term, True
    memset(&lv.term, 0, sizeof(Value))
    lv.has_term = False

cdef bint close_group(Parser* ps) noexcept nogil:
    """The ")" after a parenthesised query (also when it failed: the error
    becomes E_INVAL when the ")" is missing)."""
    skip_space(ps)
    if ps.p[0] != c')':
        ps.err = abi.E_INVAL
        return False
    ps.p += 1
    return True

cdef void give_up(Parser* ps, Level* levels, int depth) noexcept nogil:
    """An error: close the open parentheses as the returning calls did, free it all."""
    cdef int d
    for d in range(depth, -1, -1):
        if d > 0:
            close_group(ps)
        release(&levels[d].query.s)
        release(&levels[d].term.s)

cdef bint read_factor(Parser* ps, Level* levels, int* depth, Value* f) noexcept nogil:
    """Read a factor's NOTs and then a tag (into f: True) or a "(" (one level
    deeper: False)."""
    cdef Level* lv = &levels[depth[0]]
    skip_space(ps)
    while keyword(ps, b"NOT"):
        lv.negate = not lv.negate
    if ps.p[0] == c'(':
        ps.p += 1
        depth[0] += 1
        memset(&levels[depth[0]], 0, sizeof(Level))
        return False
    tag_value(ps, f)
    return True

cdef void evaluate(Parser* ps, Level* levels, Value* out) noexcept nogil:
    """The whole query into out; levels has room for one Level more than the
    query has "(".  On an error out stays empty and everything is freed."""
    cdef int depth = 0
    cdef Value f
    memset(&levels[0], 0, sizeof(Level))
    while True:
        if not read_factor(ps, levels, &depth, &f):
            continue
        while True:                             # f is read: finish what it finishes
            if ps.err != abi.E_OK:
                release(&f.s)
                give_up(ps, levels, depth)
                return
            add_factor(ps, &levels[depth], &f)
            if term_goes_on(ps, &levels[depth]):
                break                           # the next factor
            if ps.err == abi.E_OK:
                end_term(ps, &levels[depth])
            if ps.err != abi.E_OK:
                give_up(ps, levels, depth)
                return
            if ps.p[0] != 0 and ps.p[0] != c')':
                break                           # after an OR: the next term
            if depth == 0:
                materialize(ps, &levels[0].query)
                out[0] = levels[0].query
                return
            f = levels[depth].query             # a "(" query ")" is the next factor out
            depth -= 1
            close_group(ps)

cdef Level* levels_for(const char* query, Level* inline_levels) noexcept nogil:
    """Room for the deepest nesting the query can have: one Level a "(", and
    one.  A few fit on the stack; more come from the heap (NULL: no memory)."""
    cdef size_t n = 1, i = 0
    while query[i]:
        n += (query[i] == c'(')
        i += 1
    if n <= INLINE_LEVELS:
        return inline_levels
    return <Level*>heap.kmalloc_for(charged, n * sizeof(Level))

cdef int run(FS* fs, const char* query, IdSet* out, Account* owner) noexcept nogil:
    global charged
    cdef int err
    cdef uint64_t m = tagfs.mark(fs)
    charged = owner
    err = <int>tagfs.settle(fs, m, evaluate_all(fs, query, out))
    charged = NULL
    if err != abi.E_OK:
        release(out)                                # never a partial answer from a damaged index
    return err

cdef int evaluate_all(FS* fs, const char* query, IdSet* out) noexcept nogil:
    cdef Parser ps
    cdef Value v
    cdef IdSet everything
    cdef Level inline_levels[INLINE_LEVELS]
    cdef Level* levels = levels_for(query, inline_levels)
    ps.fs, ps.p, ps.err = fs, query, abi.E_OK
    memset(out, 0, sizeof(IdSet))
    memset(&v, 0, sizeof(Value))
    if levels == NULL:
        return abi.E_NOMEM
    evaluate(&ps, levels, &v)
    if levels != inline_levels:
        heap.kfree(levels)
    skip_space(&ps)
    if ps.err == abi.E_OK and ps.p[0] != 0:
        ps.err = abi.E_INVAL                        # a stray ')'
    if ps.err == abi.E_OK and v.neg:                # a complement: the one full scan
        memset(&everything, 0, sizeof(IdSet))
        ps.err = all_files(fs, &everything)
        if ps.err == abi.E_OK:
            ps.err = merge(&everything, &v.s, out, 2)
        release(&everything)
        release(&v.s)
    elif ps.err == abi.E_OK:
        out[0] = v.s
    else:
        release(&v.s)
    return ps.err
