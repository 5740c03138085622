# See tagquery.pxd.
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy, memset
from kwe.common cimport abi, kstr, tags
from kwe.mm cimport heap
from kwe.mm.account cimport Account
from kwe.fs cimport btree, tagfs, tagbits
from kwe.fs.tagfs cimport FS, TREE_POSTINGS, TREE_FILES, FILE_ID_BITS
from kwe.fs.btree cimport Cursor, Tree

cdef Account* charged = NULL     # whose query runs now (one at a time: one CPU, no sleeping)

cdef enum:
    FIRST_ROOM = 1 << 20         # ids a list's first allocation holds at most (8 MiB)
    LOOK_RATIO = 4               # look into a tag for a's ids, not read it, if it is this much bigger
    BUILD_RATIO = 64             # make a dense tag's bitmap for a set at least 1/64 of its size
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


# ---- merging sorted streams ------------------------------------------------------------------
# A sorted source of ids, a run at a time: a tag's postings read in place
# from the index's leaves (no copy: a query's passes over memory are what it
# costs at a million files), a tree's keys, or an IdSet (one run).
cdef struct Stream:
    Tree* t                     # NULL: an IdSet's ids, one run
    Cursor cur
    uint64_t end                # the keys below it
    uint64_t mask               # a key's id bits
    const uint64_t* k           # the current run
    uint64_t n, i               # its length, and how far it is used
    uint64_t expect             # how many ids it should give (the disk says; a guess)

cdef void from_set(Stream* s, IdSet* set) noexcept nogil:
    memset(s, 0, sizeof(Stream))
    s.k, s.n, s.expect, s.mask = set.ids, set.n, set.n, <uint64_t>0xFFFFFFFFFFFFFFFFU

cdef void from_tree(Stream* s, FS* fs, int tree, uint64_t first, uint64_t end, uint64_t mask,
                    uint64_t expect) noexcept nogil:
    memset(s, 0, sizeof(Stream))
    s.t, s.end, s.mask = &fs.trees[tree], end, mask
    s.expect = expect if expect < FIRST_ROOM else FIRST_ROOM    # a damaged count costs regrowth only
    btree.seek(s.t, &s.cur, first)

cdef void from_tag(Stream* s, FS* fs, uint32_t tag_id, uint32_t nfiles) noexcept nogil:
    from_tree(s, fs, TREE_POSTINGS, <uint64_t>tag_id << FILE_ID_BITS, (<uint64_t>tag_id + 1) << FILE_ID_BITS,
              (<uint64_t>1 << FILE_ID_BITS) - 1, nfiles)

cdef bint more(Stream* s) noexcept nogil:
    """Is there an id at s.k[s.i]?  The next run when this one is used up."""
    if s.i < s.n:
        return True
    if s.t == NULL:
        return False
    s.cur.pos += <uint32_t>s.n
    s.n, s.i = btree.run_of(s.t, &s.cur, s.end, &s.k), 0
    return s.n != 0

cdef uint64_t left(Stream* s) noexcept nogil:
    return s.n - s.i

cdef inline uint64_t merge_runs(Stream* a, Stream* b, uint64_t* out, int mode) noexcept nogil:
    """One step of a merge (mode: merge_streams'): the two current runs until
    either ends; the ids written.  Branch-free: which side moves is data, not
    a jump the CPU must guess (each call site's mode is a constant, so the
    compiler makes each loop its own)."""
    cdef const uint64_t* ka = a.k
    cdef const uint64_t* kb = b.k
    cdef uint64_t i = a.i, j = b.i, na = a.n, nb = b.n, ma = a.mask, mb = b.mask, n = 0, x, y
    while i < na and j < nb:
        x, y = ka[i] & ma, kb[j] & mb
        out[n] = y if mode == 1 and y < x else x
        n += <uint64_t>1 if mode == 1 else (<uint64_t>(x == y) if mode == 0 else <uint64_t>(x < y))
        i += x <= y
        j += y <= x
    a.i, b.i = i, j
    return n

cdef bint room(IdSet* out, uint64_t need, uint64_t expect) noexcept nogil:
    """Room for need more ids.  Growing, room for all that is expected or,
    past that, twice what there is: a long stream regrows a few times, not
    once a run."""
    if out.cap - out.n >= need:
        return True
    return reserve(out, expect - out.n if expect > out.n + need else out.n + need)

cdef int drain(Stream* s, IdSet* out) noexcept nogil:
    """The rest of s onto out."""
    cdef uint64_t i
    while more(s):
        if not room(out, left(s), s.expect):
            return abi.E_NOMEM
        for i in range(s.i, s.n):
            out.ids[out.n + i - s.i] = s.k[i] & s.mask
        out.n += left(s)
        s.i = s.n
    return abi.E_OK if s.cur.err == btree.BT_OK else abi.E_IO

cdef uint64_t most(uint64_t na, uint64_t nb, int mode) noexcept nogil:
    """The most ids a merge (mode: merge_streams') of na and nb ids gives."""
    if mode == 0:
        return na if na < nb else nb
    return na + nb if mode == 1 else na

cdef int merge_streams(Stream* a, Stream* b, IdSet* out, int mode) noexcept nogil:
    """mode 0: a AND b, 1: a OR b, 2: a AND NOT b, into out (empty)."""
    cdef uint64_t expect = most(a.expect, b.expect, mode)
    cdef int err = abi.E_OK
    memset(out, 0, sizeof(IdSet))
    while more(a) and more(b):
        if not room(out, most(left(a), left(b), mode), expect):
            return abi.E_NOMEM
        if mode == 0:
            out.n += merge_runs(a, b, out.ids + out.n, 0)
        elif mode == 1:
            out.n += merge_runs(a, b, out.ids + out.n, 1)
        else:
            out.n += merge_runs(a, b, out.ids + out.n, 2)
    if a.cur.err != btree.BT_OK or b.cur.err != btree.BT_OK:
        return abi.E_IO
    if mode != 0:
        err = drain(a, out)
    if mode == 1 and err == abi.E_OK:
        err = drain(b, out)
    return err

cdef int subtract(IdSet* a, IdSet* b, IdSet* out) noexcept nogil:
    """out = a - b."""
    cdef Stream sa, sb
    from_set(&sa, a)
    from_set(&sb, b)
    return merge_streams(&sa, &sb, out, 2)

# ---- reading the index ---------------------------------------------------------------------
cdef int postings(FS* fs, uint32_t tag_id, uint32_t nfiles, IdSet* out) noexcept nogil:
    """The tag's files, in order."""
    cdef Stream s
    from_tag(&s, fs, tag_id, nfiles)
    return drain(&s, out)

cdef int all_files(FS* fs, IdSet* out) noexcept nogil:
    """Every file id, in order."""
    cdef Stream s
    cdef uint64_t everything = <uint64_t>0xFFFFFFFFFFFFFFFFU
    from_tree(&s, fs, TREE_FILES, 0, everything, everything, fs.sb.nfiles)
    return drain(&s, out)

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
    cdef uint64_t base = <uint64_t>tag_id << FILE_ID_BITS, i, kept = 0
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

cdef int keep_bits(IdSet* a, const tagbits.Bits* b, bint keep_found) noexcept nogil:
    """Keep the ids of a whose bit in b is keep_found (no branch per id)."""
    cdef uint64_t i, kept = 0
    for i in range(a.n):
        a.ids[kept] = a.ids[i]
        kept += tagbits.has(b, a.ids[i]) == keep_found
    a.n = kept
    return abi.E_OK

cdef const tagbits.Bits* bits_of(Parser* ps, Value* a, Value* b) noexcept nogil:
    """b's bitmap when it is a dense tag (made now only if a is big enough
    for the bitmap to pay: at least 1/BUILD_RATIO of b)."""
    cdef int err = abi.E_OK
    cdef const tagbits.Bits* bits = tagbits.of_tag(&ps.fs.bits, &ps.fs.trees[TREE_POSTINGS], b.tag_id, b.nfiles,
                                                   ps.fs.sb.next_file_id, size(a) * BUILD_RATIO >= b.nfiles, &err)
    if err != abi.E_OK:
        ps.err = err
    return bits

cdef bint filter_by(Parser* ps, Value* a, Value* b, bint keep_found) noexcept nogil:
    """a = a AND b (keep_found) or a AND NOT b without reading b's list, when
    b is a tag not read yet: by its bitmap if it is dense, or by looking
    into it if it is far bigger than a (combine() put the smaller side of an
    AND in a).  False when reading b is the cheaper way."""
    cdef const tagbits.Bits* bits
    if not b.lazy:
        return False
    bits = bits_of(ps, a, b)
    if bits == NULL and ps.err == abi.E_OK and b.nfiles < LOOK_RATIO * size(a):
        return False
    materialize(ps, a)
    if ps.err == abi.E_OK:
        ps.err = keep_bits(&a.s, bits, keep_found) if bits != NULL else look_into(ps.fs, &a.s, b.tag_id, keep_found)
    release(&b.s)
    return True

cdef void open_value(Stream* s, FS* fs, Value* v) noexcept nogil:
    """A value as a stream: a tag not read yet straight from the index."""
    if v.lazy:
        from_tag(s, fs, v.tag_id, v.nfiles)
    else:
        from_set(s, &v.s)

cdef int merge_values(FS* fs, Value* a, Value* b, Value* r, bint is_and) noexcept nogil:
    """r = a AND b (or a OR b), by De Morgan when a side is a complement: one
    merge of the two sides as they are."""
    cdef Stream x, y
    cdef int mode = 2
    cdef bint swap = False
    r.neg = a.neg if a.neg == b.neg else not is_and
    if a.neg == b.neg:
        mode = 0 if is_and != a.neg else 1      # NOT a AND NOT b = NOT (a OR b), and so for OR
    else:
        swap = a.neg if is_and else b.neg       # x AND NOT y = x - y; x OR NOT y = NOT (y - x)
    open_value(&x, fs, b if swap else a)
    open_value(&y, fs, a if swap else b)
    return merge_streams(&x, &y, &r.s, mode)

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
    memset(&r, 0, sizeof(Value))
    if ps.err == abi.E_OK:
        ps.err = merge_values(ps.fs, a, b, &r, is_and)
    if ps.err != abi.E_OK:
        release(&r.s)
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
            ps.err = subtract(&everything, &v.s, out)
        release(&everything)
        release(&v.s)
    elif ps.err == abi.E_OK:
        out[0] = v.s
    else:
        release(&v.s)
    return ps.err
