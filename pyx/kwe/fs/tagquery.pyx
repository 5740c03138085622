# See tagquery.pxd.
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy, memset, memcmp
from kwe.common cimport abi
from kwe.mm cimport heap
from kwe.fs cimport btree, tagfs
from kwe.fs.tagfs cimport FS, TREE_POSTINGS, TREE_FILES
from kwe.fs.btree cimport Cursor

cdef enum:
    PROBE_RATIO = 8              # probe instead of merging when the other side is this much bigger

# A partial answer: `ids`, or everything but `ids` when neg.
cdef struct Value:
    IdSet s
    bint neg

cdef struct Parser:
    FS* fs
    const char* p
    int err

# ---- id sets ---------------------------------------------------------------------------
cdef void release(IdSet* s) noexcept nogil:
    heap.kfree(s.ids)
    s.ids = NULL
    s.n = s.cap = 0

cdef bint append(IdSet* s, uint64_t id) noexcept nogil:
    cdef uint64_t* grown
    if s.n == s.cap:
        grown = <uint64_t*>heap.krealloc(s.ids, (s.cap * 2 + 64) * 8)
        if grown == NULL:
            return False
        s.ids = grown
        s.cap = s.cap * 2 + 64
    s.ids[s.n] = id
    s.n += 1
    return True

cdef int merge(IdSet* a, IdSet* b, IdSet* out, int mode) noexcept nogil:
    """mode 0: a AND b, 1: a OR b, 2: a AND NOT b (all sorted)."""
    cdef uint64_t i = 0, j = 0, x
    memset(out, 0, sizeof(IdSet))
    while i < a.n or j < b.n:
        if j == b.n or (i < a.n and a.ids[i] < b.ids[j]):
            x = a.ids[i]
            i += 1
            if mode == 0:
                continue
        elif i == a.n or b.ids[j] < a.ids[i]:
            x = b.ids[j]
            j += 1
            if mode != 1:
                continue
        else:
            x = a.ids[i]
            i += 1
            j += 1
            if mode == 2:
                continue
        if not append(out, x):
            return abi.E_NOMEM
    return abi.E_OK

# ---- reading the index ---------------------------------------------------------------------
cdef int postings(FS* fs, uint32_t tag_id, IdSet* out) noexcept nogil:
    cdef Cursor cur
    cdef uint64_t key
    btree.seek(&fs.trees[TREE_POSTINGS], &cur, <uint64_t>tag_id << 40)
    while btree.next(&fs.trees[TREE_POSTINGS], &cur, &key, NULL) and (key >> 40) == tag_id:
        if not append(out, key & ((<uint64_t>1 << 40) - 1)):
            return abi.E_NOMEM
    return abi.E_OK

cdef int all_files(FS* fs, IdSet* out) noexcept nogil:
    cdef Cursor cur
    cdef uint64_t key
    btree.seek(&fs.trees[TREE_FILES], &cur, 0)
    while btree.next(&fs.trees[TREE_FILES], &cur, &key, NULL):
        if not append(out, key):
            return abi.E_NOMEM
    return abi.E_OK

# ---- the parser, evaluating as it goes ---------------------------------------------------------
cdef void skip_space(Parser* ps) noexcept nogil:
    while ps.p[0] == c' ' or ps.p[0] == c'\t' or ps.p[0] == c'\n':
        ps.p += 1

cdef size_t word_len(const char* p) noexcept nogil:
    cdef size_t n = 0
    while p[n] and p[n] != c' ' and p[n] != c'\t' and p[n] != c'\n' and p[n] != c'(' and p[n] != c')':
        n += 1
    return n

cdef bint keyword(Parser* ps, const char* kw) noexcept nogil:
    cdef size_t n = 0
    skip_space(ps)
    while kw[n]:
        n += 1
    if word_len(ps.p) == n and memcmp(ps.p, kw, n) == 0:
        ps.p += n
        return True
    return False

cdef void tag_value(Parser* ps, Value* v) noexcept nogil:
    cdef size_t n
    cdef uint32_t tag_id, nfiles
    cdef int err
    memset(v, 0, sizeof(Value))
    skip_space(ps)
    n = word_len(ps.p)
    if n == 0 or not tagfs.valid_tag(ps.p, n):
        ps.err = abi.E_INVAL
        return
    err = tagfs.find_tag(ps.fs, ps.p, n, &tag_id, &nfiles)
    ps.p += n
    if err == abi.E_OK:
        ps.err = postings(ps.fs, tag_id, &v.s)
    elif err != abi.E_NOENT:                       # no file has it: the empty set
        ps.err = err

cdef void factor(Parser* ps, Value* v) noexcept nogil:
    skip_space(ps)
    if keyword(ps, b"NOT"):
        factor(ps, v)
        v.neg = not v.neg
    elif ps.p[0] == c'(':
        ps.p += 1
        expression(ps, v)
        skip_space(ps)
        if ps.p[0] != c')':
            ps.err = abi.E_INVAL
        else:
            ps.p += 1
    else:
        tag_value(ps, v)

cdef void combine(Parser* ps, Value* a, Value* b, bint is_and) noexcept nogil:
    """a = a AND b (or a OR b), with either side possibly a complement."""
    cdef Value r
    memset(&r, 0, sizeof(Value))
    if is_and:
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

cdef bint probe_tag(Parser* ps, Value* a) noexcept nogil:
    """a AND <tag> by probing a's few ids, when the tag is far more common.
    Consumes the tag and returns True; returns False (nothing consumed) otherwise."""
    cdef const char* save = ps.p
    cdef size_t n
    cdef uint32_t tag_id, nfiles
    cdef uint64_t i, kept = 0
    skip_space(ps)
    n = word_len(ps.p)
    if a.neg or n == 0 or not tagfs.valid_tag(ps.p, n) or keyword(ps, b"NOT") or keyword(ps, b"OR"):
        ps.p = save
        return False
    if tagfs.find_tag(ps.fs, ps.p, n, &tag_id, &nfiles) != abi.E_OK or nfiles < PROBE_RATIO * a.s.n:
        ps.p = save
        return False
    ps.p += n
    for i in range(a.s.n):
        if tagfs.has_tag(ps.fs, a.s.ids[i], tag_id):
            a.s.ids[kept] = a.s.ids[i]
            kept += 1
    a.s.n = kept
    return True

cdef void term(Parser* ps, Value* v) noexcept nogil:
    cdef Value rhs
    factor(ps, v)
    while ps.err == abi.E_OK:
        skip_space(ps)
        if ps.p[0] == 0 or ps.p[0] == c')' or keyword(ps, b"OR"):
            break                                   # the OR (if any) is consumed for expression()
        keyword(ps, b"AND")
        if probe_tag(ps, v):
            continue
        factor(ps, &rhs)
        if ps.err != abi.E_OK:
            release(&rhs.s)
            break
        combine(ps, v, &rhs, True)

cdef void expression(Parser* ps, Value* v) noexcept nogil:
    cdef Value rhs
    term(ps, v)
    while ps.err == abi.E_OK and ps.p[0] != 0 and ps.p[0] != c')':
        term(ps, &rhs)
        if ps.err != abi.E_OK:
            release(&rhs.s)
            break
        combine(ps, v, &rhs, False)

cdef int run(FS* fs, const char* query, IdSet* out) noexcept nogil:
    cdef Parser ps
    cdef Value v
    cdef IdSet everything
    ps.fs, ps.p, ps.err = fs, query, abi.E_OK
    memset(out, 0, sizeof(IdSet))
    memset(&v, 0, sizeof(Value))
    expression(&ps, &v)
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
