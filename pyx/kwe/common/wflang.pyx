# See wflang.pxd; the grammar is docs/workflows.md's.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memset, memcpy, memcmp
from kwe.common cimport abi, kstr
from kwe.common.abi cimport NodeDesc, GraphHeader
from kwe.common.format cimport format_buf

cdef enum:
    T_END = 0
    T_WORD = 1
    T_NUMBER = 2
    T_STRING = 3
    T_EQUALS = 4
    SHOWN_MAX = 40              # of a token quoted in a message

cdef struct Lexer:
    const uint8_t* s
    uint64_t n
    uint64_t i
    uint32_t line
    uint64_t line_start         # where the line of s[i] begins
    int kind                    # the token: T_*, s[start:end], at tline:tcol
    uint64_t start
    uint64_t end
    uint32_t tline
    uint32_t tcol

# ---- the operations the language names -------------------------------------------------------
cdef const char* op_entry(int i, uint16_t* code) noexcept nogil:
    """Entry i of the table (NULL past its end): its name, its opcode in code."""
    if i == 0: code[0] = abi.OP_NOP; return b"nop"
    if i == 1: code[0] = abi.OP_CRC32; return b"crc32"
    if i == 2: code[0] = abi.OP_DJB2; return b"djb2"
    if i == 3: code[0] = abi.OP_RLE_ENCODE; return b"rle_encode"
    if i == 4: code[0] = abi.OP_RLE_DECODE; return b"rle_decode"
    if i == 5: code[0] = abi.OP_XOR; return b"xor"
    if i == 6: code[0] = abi.OP_VEC_ADD_I32; return b"vec_add_i32"
    if i == 7: code[0] = abi.OP_VEC_MUL_I32; return b"vec_mul_i32"
    if i == 8: code[0] = abi.OP_VEC_DOT_I32; return b"vec_dot_i32"
    if i == 9: code[0] = abi.OP_VEC_ADD_F32; return b"vec_add_f32"
    if i == 10: code[0] = abi.OP_VEC_MUL_F32; return b"vec_mul_f32"
    if i == 11: code[0] = abi.OP_VEC_DOT_F32; return b"vec_dot_f32"
    if i == 12: code[0] = abi.OP_SLEEP; return b"sleep"
    if i == 13: code[0] = abi.OP_TICKS; return b"ticks"
    if i == 14: code[0] = abi.OP_TSC; return b"tsc"
    if i == 15: code[0] = abi.OP_CONSOLE_WRITE; return b"console_write"
    if i == 16: code[0] = abi.OP_FLAKY; return b"flaky"
    if i == 17: code[0] = abi.OP_FS_CREATE; return b"fs_create"
    if i == 18: code[0] = abi.OP_FS_GET; return b"fs_get"
    if i == 19: code[0] = abi.OP_FS_QUERY; return b"fs_query"
    if i == 20: code[0] = abi.OP_FS_TAGS; return b"fs_tags"
    if i == 21: code[0] = abi.OP_FS_STAT; return b"fs_stat"
    if i == 22: code[0] = abi.OP_FS_TAG; return b"fs_tag"
    if i == 23: code[0] = abi.OP_FS_UNTAG; return b"fs_untag"
    if i == 24: code[0] = abi.OP_FS_DELETE; return b"fs_delete"
    if i == 25: code[0] = abi.OP_FS_SYNC; return b"fs_sync"
    if i == 26: code[0] = abi.OP_FS_PWRITE; return b"fs_pwrite"
    if i == 27: code[0] = abi.OP_FS_LIST; return b"fs_list"
    if i == 28: code[0] = abi.OP_HTTP_HEAD; return b"http_head"
    return NULL

cdef int op_lookup(const uint8_t* s, size_t n) noexcept nogil:
    cdef uint16_t code = 0
    cdef int i = 0
    cdef const char* name = op_entry(0, &code)
    while name != NULL:
        if kstr.length(name) == n and memcmp(name, s, n) == 0:
            return code
        i += 1
        name = op_entry(i, &code)
    return -1

cdef const char* op_name(uint16_t opcode) noexcept nogil:
    cdef uint16_t code = 0
    cdef int i = 0
    cdef const char* name = op_entry(0, &code)
    while name != NULL and code != opcode:
        i += 1
        name = op_entry(i, &code)
    return name

# ---- errors ----------------------------------------------------------------------------------
cdef int fail_at(Wfl* w, uint32_t line, uint32_t col, int code, const char* fmt,
                 uint64_t a0, uint64_t a1) noexcept nogil:
    cdef uint64_t args[2]
    if w.msg[0] == 0:                           # the first mistake is the one reported
        args[0], args[1] = a0, a1
        format_buf(w.msg, WFL_MSG_MAX, fmt, args, 2)
        w.line, w.col = line, col
    return code

cdef int fail(Wfl* w, Lexer* lx, const char* fmt, uint64_t a0=0, uint64_t a1=0) noexcept nogil:
    return fail_at(w, lx.tline, lx.tcol, abi.E_INVAL, fmt, a0, a1)

cdef int too_big(Wfl* w, Lexer* lx, const char* fmt, uint64_t a0) noexcept nogil:
    return fail_at(w, lx.tline, lx.tcol, abi.E_TOOBIG, fmt, a0, 0)

cdef const char* shown(Lexer* lx, char* buf) noexcept nogil:
    """The token as a message quotes it (buf: SHOWN_MAX + 4 bytes)."""
    cdef uint64_t n = lx.end - lx.start
    if lx.kind == T_END:
        return b"the end of the text"
    memcpy(buf, lx.s + lx.start, n if n < SHOWN_MAX else SHOWN_MAX)
    if n > SHOWN_MAX:
        memcpy(buf + SHOWN_MAX, b"...", 3)
        n = SHOWN_MAX + 3
    buf[n] = 0
    return buf

cdef const char* found(Lexer* lx, char* buf) noexcept nogil:
    """shown(), in quotes unless it is a string or the end (buf: SHOWN_MAX + 6 bytes)."""
    if lx.kind == T_END or lx.kind == T_STRING:
        return shown(lx, buf)
    buf[0] = c"'"
    shown(lx, buf + 1)
    kstr.copy(buf + kstr.length(buf), b"'", 2)
    return buf

# ---- the lexer ---------------------------------------------------------------------------------
cdef bint is_alpha(uint8_t c) noexcept nogil:
    return (c'a' <= c <= c'z') or (c'A' <= c <= c'Z') or c == c'_'

cdef bint is_digit(uint8_t c) noexcept nogil:
    return c'0' <= c <= c'9'

cdef bint is_word_char(uint8_t c) noexcept nogil:
    return is_alpha(c) or is_digit(c) or c == c'-'

cdef void skip_space(Lexer* lx) noexcept nogil:
    """Blanks, newlines and `#` comments."""
    cdef uint8_t c
    while lx.i < lx.n:
        c = lx.s[lx.i]
        if c == c'#':
            while lx.i < lx.n and lx.s[lx.i] != c'\n':
                lx.i += 1
        elif c == c'\n':
            lx.i += 1
            lx.line += 1
            lx.line_start = lx.i
        elif c == c' ' or c == c'\t' or c == c'\r':
            lx.i += 1
        else:
            return

cdef int scan_string(Wfl* w, Lexer* lx) noexcept nogil:
    lx.i += 1
    while lx.i < lx.n and lx.s[lx.i] != c'"':
        if lx.s[lx.i] == c'\n':
            return fail(w, lx, b"the string is not closed on its line (write a newline as \\n)")
        lx.i += 2 if lx.s[lx.i] == c'\\' else 1
    if lx.i >= lx.n:
        return fail(w, lx, b"the string is not closed")
    lx.i += 1
    return abi.E_OK

cdef int next_token(Wfl* w, Lexer* lx) noexcept nogil:
    cdef uint8_t c
    cdef int r = abi.E_OK
    skip_space(lx)
    lx.tline, lx.tcol, lx.start = lx.line, <uint32_t>(lx.i - lx.line_start + 1), lx.i
    if lx.i == lx.n:
        lx.kind = T_END
    elif lx.s[lx.i] == c'=':
        lx.kind, lx.i = T_EQUALS, lx.i + 1
    elif lx.s[lx.i] == c'"':
        lx.kind = T_STRING
        r = scan_string(w, lx)
    elif is_alpha(lx.s[lx.i]) or is_digit(lx.s[lx.i]):
        lx.kind = T_NUMBER if is_digit(lx.s[lx.i]) else T_WORD
        while lx.i < lx.n and is_word_char(lx.s[lx.i]):
            lx.i += 1
    else:
        c = lx.s[lx.i]
        if 0x21 <= c <= 0x7E:
            return fail(w, lx, b"unexpected character '%c'", c)
        return fail(w, lx, b"unexpected byte 0x%02x", c)
    lx.end = lx.i
    return r

cdef bint is_word(Lexer* lx, const char* word) noexcept nogil:
    cdef size_t n = kstr.length(word)
    return lx.kind == T_WORD and lx.end - lx.start == n and memcmp(lx.s + lx.start, word, n) == 0

cdef bint is_keyword(Lexer* lx) noexcept nogil:
    return (is_word(lx, b"node") or is_word(lx, b"data") or is_word(lx, b"from")
            or is_word(lx, b"after") or is_word(lx, b"file") or is_word(lx, b"args")
            or is_word(lx, b"retries") or is_word(lx, b"backoff"))

# ---- values --------------------------------------------------------------------------------
cdef int number(Wfl* w, Lexer* lx, uint64_t limit, uint64_t* out) noexcept nogil:
    cdef char buf[SHOWN_MAX + 6]
    if lx.kind != T_NUMBER:
        return fail(w, lx, b"expected a number, found %s", <uint64_t>found(lx, buf))
    if not kstr.parse_u64(<const char*>lx.s + lx.start, lx.end - lx.start, out):
        return fail(w, lx, b"'%s' is not a number (decimal, or hex as 0x1F)", <uint64_t>shown(lx, buf))
    if out[0] > limit:
        return fail(w, lx, b"%s is more than %u", <uint64_t>shown(lx, buf), limit)
    return next_token(w, lx)

cdef int hex_value(uint8_t c) noexcept nogil:
    if is_digit(c):
        return c - c'0'
    c |= 0x20
    return c - c'a' + 10 if c'a' <= c <= c'f' else -1

cdef int escape(Wfl* w, Lexer* lx, uint64_t at, uint8_t* out) noexcept nogil:
    """The escape at s[at] (after its backslash) into out; its length, or < 0."""
    cdef uint8_t c = lx.s[at]
    cdef uint32_t col = lx.tcol + <uint32_t>(at - 1 - lx.start)
    cdef int hi, lo
    if c == c'n' or c == c't' or c == c'r' or c == c'0' or c == c'\\' or c == c'"':
        out[0] = c'\n' if c == c'n' else c'\t' if c == c't' else c'\r' if c == c'r' else 0 if c == c'0' else c
        return 1
    if c == c'x' and at + 2 < lx.end:
        hi, lo = hex_value(lx.s[at + 1]), hex_value(lx.s[at + 2])
        if hi >= 0 and lo >= 0:
            out[0] = <uint8_t>(hi * 16 + lo)
            return 3
    return fail_at(w, lx.tline, col, abi.E_INVAL,
                   b"bad escape (\\n \\t \\r \\0 \\\\ \\\" and \\xHH are known)", 0, 0)

cdef int string(Wfl* w, Lexer* lx) noexcept nogil:
    """The string token's bytes, appended to w.data."""
    cdef uint64_t at = lx.start + 1
    cdef uint8_t b
    cdef int k
    while at < lx.end - 1:
        b = lx.s[at]
        k = 1
        if b == c'\\':
            k = escape(w, lx, at + 1, &b)
            if k < 0:
                return k
            k += 1
        if w.data_len == w.data_cap:
            return too_big(w, lx, b"more than %u bytes of strings (this reader's limit)", w.data_cap)
        w.data[w.data_len] = b
        w.data_len += 1
        at += k
    return next_token(w, lx)

# ---- clauses ----------------------------------------------------------------------------------
cdef int find(Wfl* w, const char* name, size_t n) noexcept nogil:
    cdef uint32_t i
    for i in range(w.n):
        if kstr.length(w.nodes[i].name) == n and memcmp(w.nodes[i].name, name, n) == 0:
            return <int>i
    return -1

cdef bint named(WflNode* nd, uint16_t* after, int at) noexcept nogil:
    cdef uint32_t k
    for k in range(nd.nfrom):
        if nd.parents[k] == at:
            return True
    for k in range(nd.nafter):
        if after[k] == at:
            return True
    return False

cdef int parent(Wfl* w, Lexer* lx, WflNode* nd, uint16_t* after, bint is_from) noexcept nogil:
    cdef char buf[SHOWN_MAX + 6]
    cdef uint64_t n = lx.end - lx.start
    cdef int at = find(w, <const char*>lx.s + lx.start, n)
    if at < 0 and kstr.length(nd.name) == n and memcmp(nd.name, lx.s + lx.start, n) == 0:
        return fail(w, lx, b"node '%s' cannot wait for itself", <uint64_t>nd.name)
    if at < 0:
        return fail(w, lx, b"'%s' is not a node defined above (a node names only earlier ones)",
                    <uint64_t>shown(lx, buf))
    if named(nd, after, at):
        return fail(w, lx, b"'%s' is named twice", <uint64_t>shown(lx, buf))
    if nd.nfrom + nd.nafter == WFL_PARENTS_MAX:
        return too_big(w, lx, b"more than %u parents (from and after together)", WFL_PARENTS_MAX)
    if is_from:
        nd.parents[nd.nfrom] = <uint16_t>at
        nd.nfrom += 1
    else:
        after[nd.nafter] = <uint16_t>at
        nd.nafter += 1
    return next_token(w, lx)

cdef int parents(Wfl* w, Lexer* lx, WflNode* nd, uint16_t* after, bint is_from) noexcept nogil:
    cdef char buf[SHOWN_MAX + 6]
    cdef int r = abi.E_OK
    if lx.kind != T_WORD or is_keyword(lx):
        return fail(w, lx, b"expected a node name, found %s", <uint64_t>found(lx, buf))
    while r == abi.E_OK and lx.kind == T_WORD and not is_keyword(lx):
        r = parent(w, lx, nd, after, is_from)
    return r

cdef int input(Wfl* w, Lexer* lx, WflNode* nd, uint8_t kind) noexcept nogil:
    """Start an input clause: a node has one input (data, from or file)."""
    if nd.input != WFL_IN_NONE:
        return fail(w, lx, b"node '%s' has an input already (data, from and file: one of them)",
                    <uint64_t>nd.name)
    nd.input = kind
    nd.data_off = w.data_len
    return next_token(w, lx)

cdef int data_clause(Wfl* w, Lexer* lx, WflNode* nd, bint one) noexcept nogil:
    cdef char buf[SHOWN_MAX + 6]
    cdef int r = input(w, lx, nd, WFL_IN_FILE if one else WFL_IN_DATA)
    if r != abi.E_OK:
        return r
    if lx.kind != T_STRING:
        return fail(w, lx, b"expected a string in quotes, found %s", <uint64_t>found(lx, buf))
    while r == abi.E_OK and lx.kind == T_STRING:
        r = string(w, lx)
        if one:
            break
    nd.data_len = w.data_len - nd.data_off
    if r == abi.E_OK and one and nd.data_len == 0:
        return fail_at(w, lx.tline, lx.tcol, abi.E_INVAL, b"an empty query matches no file", 0, 0)
    return r

cdef int args_clause(Wfl* w, Lexer* lx, WflNode* nd) noexcept nogil:
    cdef int r
    if nd.nargs:
        return fail(w, lx, b"node '%s' has args already", <uint64_t>nd.name)
    r = next_token(w, lx)
    if r == abi.E_OK:
        r = number(w, lx, <uint64_t>0xFFFFFFFFFFFFFFFFU, &nd.args[0])
    nd.nargs = 1
    if r == abi.E_OK and lx.kind == T_NUMBER:
        r = number(w, lx, <uint64_t>0xFFFFFFFFFFFFFFFFU, &nd.args[1])
        nd.nargs = 2
    return r

cdef int retries_clause(Wfl* w, Lexer* lx, WflNode* nd, bint* seen) noexcept nogil:
    cdef uint64_t v = 0
    cdef int r
    if seen[0]:
        return fail(w, lx, b"node '%s' has retries already", <uint64_t>nd.name)
    seen[0] = True
    r = next_token(w, lx)
    if r == abi.E_OK:
        r = number(w, lx, WFL_RETRIES_MAX, &v)
    nd.retries = <uint8_t>v
    if r == abi.E_OK and is_word(lx, b"backoff"):
        r = next_token(w, lx)
        if r == abi.E_OK:
            r = number(w, lx, 0xFFFF, &v)
        nd.backoff_ms = <uint16_t>v
    return r

cdef int clause(Wfl* w, Lexer* lx, WflNode* nd, uint16_t* after, bint* seen) noexcept nogil:
    cdef char buf[SHOWN_MAX + 6]
    cdef int r
    if is_word(lx, b"data") or is_word(lx, b"file"):
        return data_clause(w, lx, nd, is_word(lx, b"file"))
    if is_word(lx, b"from"):
        r = input(w, lx, nd, WFL_IN_FROM)
        return r if r != abi.E_OK else parents(w, lx, nd, after, True)
    if is_word(lx, b"after"):
        r = next_token(w, lx)
        return r if r != abi.E_OK else parents(w, lx, nd, after, False)
    if is_word(lx, b"args"):
        return args_clause(w, lx, nd)
    if is_word(lx, b"retries"):
        return retries_clause(w, lx, nd, seen)
    if is_word(lx, b"backoff"):
        return fail(w, lx, b"'backoff' comes after `retries N`")
    if lx.kind == T_WORD:
        return fail(w, lx, b"'%s' is not a clause (data, file, from, after, args, retries)",
                    <uint64_t>shown(lx, buf))
    return fail(w, lx, b"expected a clause or the next node, found %s", <uint64_t>found(lx, buf))

# ---- statements -------------------------------------------------------------------------------
cdef int header(Wfl* w, Lexer* lx, WflNode* nd) noexcept nogil:
    """`node NAME = OP`, the `node` word read."""
    cdef char buf[SHOWN_MAX + 6]
    cdef int r = next_token(w, lx), at, op
    cdef uint64_t n = lx.end - lx.start
    if r != abi.E_OK:
        return r
    if lx.kind != T_WORD or is_keyword(lx):
        return fail(w, lx, b"expected the node's name after 'node', found %s", <uint64_t>found(lx, buf))
    if n >= WFL_NAME_MAX:
        return fail(w, lx, b"a name is at most %u bytes", WFL_NAME_MAX - 1)
    at = find(w, <const char*>lx.s + lx.start, n)
    if at >= 0:
        return fail(w, lx, b"node '%s' is defined already, at line %u", <uint64_t>shown(lx, buf),
                    w.nodes[at].line)
    memcpy(nd.name, lx.s + lx.start, n)
    r = next_token(w, lx)
    if r == abi.E_OK and lx.kind != T_EQUALS:
        return fail(w, lx, b"expected '=' after the node's name, found %s", <uint64_t>found(lx, buf))
    r = next_token(w, lx) if r == abi.E_OK else r
    if r != abi.E_OK:
        return r
    op = op_lookup(lx.s + lx.start, lx.end - lx.start) if lx.kind == T_WORD else -1
    if op < 0:
        return fail(w, lx, b"'%s' is not an operation (docs/workflows.md lists them)", <uint64_t>shown(lx, buf))
    nd.opcode = <uint16_t>op
    return next_token(w, lx)

cdef int statement(Wfl* w, Lexer* lx) noexcept nogil:
    cdef WflNode* nd = &w.nodes[w.n]
    cdef uint16_t after[WFL_PARENTS_MAX]
    cdef bint retries_seen = False
    cdef uint32_t line = lx.tline, col = lx.tcol
    cdef int r
    memset(nd, 0, sizeof(WflNode))
    nd.line, nd.col = line, col
    r = header(w, lx, nd)
    while r == abi.E_OK and lx.kind != T_END and not is_word(lx, b"node"):
        r = clause(w, lx, nd, after, &retries_seen)
    if r != abi.E_OK:
        return r
    if nd.input == WFL_IN_FROM and nd.nfrom > 1 and nd.nafter:
        return fail_at(w, line, col, abi.E_INVAL, b"node '%s': `after` beside a `from` of several nodes "
                       b"(their input is every parent's output)", <uint64_t>nd.name, 0)
    memcpy(&nd.parents[nd.nfrom], after, nd.nafter * sizeof(uint16_t))
    w.n += 1
    return abi.E_OK

cdef void init(Wfl* w, WflNode* nodes, uint32_t cap, uint8_t* data, uint32_t data_cap) noexcept nogil:
    memset(w, 0, sizeof(Wfl))
    w.nodes, w.cap, w.data, w.data_cap = nodes, cap, data, data_cap

cdef int parse(Wfl* w, const uint8_t* text, uint64_t n) noexcept nogil:
    cdef Lexer lx
    cdef char buf[SHOWN_MAX + 6]
    cdef int r
    memset(&lx, 0, sizeof(Lexer))
    lx.s, lx.n, lx.line = text, n, 1
    w.n, w.data_len, w.msg[0], w.line, w.col = 0, 0, 0, 0, 0
    r = next_token(w, &lx)
    while r == abi.E_OK and lx.kind != T_END:
        if not is_word(&lx, b"node"):
            return fail(w, &lx, b"expected 'node', found %s", <uint64_t>found(&lx, buf))
        if w.n == w.cap:
            return too_big(w, &lx, b"more than %u nodes (this reader's limit)", w.cap)
        r = statement(w, &lx)
    if r == abi.E_OK and w.n == 0:
        return fail(w, &lx, b"no nodes: a workflow is lines of `node NAME = OPERATION ...`")
    return r

# ---- text again ---------------------------------------------------------------------------------
cdef struct Out:
    char* buf
    uint64_t cap
    uint64_t len

cdef void put(Out* o, const char* s, uint64_t n) noexcept nogil:
    cdef uint64_t room = o.cap - 1 - o.len if o.cap > o.len + 1 else 0
    if room:
        memcpy(o.buf + o.len, s, n if n < room else room)
    o.len += n

cdef void puts(Out* o, const char* s) noexcept nogil:
    put(o, s, kstr.length(s))

cdef void put_number(Out* o, uint64_t v) noexcept nogil:
    """Decimal below 65536, hex above: masks and keys read better in hex."""
    cdef char buf[24]
    cdef uint64_t args[1]
    args[0] = v
    put(o, buf, format_buf(buf, sizeof(buf), b" %u" if v < 65536 else b" 0x%x", args, 1))

cdef void put_string(Out* o, const uint8_t* s, uint32_t n) noexcept nogil:
    cdef const char* digits = b"0123456789abcdef"
    cdef char esc[4]
    cdef uint32_t i
    put(o, b" \"", 2)
    for i in range(n):
        if s[i] == c'"' or s[i] == c'\\':
            esc[0], esc[1] = c'\\', s[i]
            put(o, esc, 2)
        elif s[i] == c'\n' or s[i] == c'\t':
            esc[0], esc[1] = c'\\', c'n' if s[i] == c'\n' else c't'
            put(o, esc, 2)
        elif 0x20 <= s[i] <= 0x7E:
            put(o, <const char*>&s[i], 1)
        else:
            esc[0], esc[1], esc[2], esc[3] = c'\\', c'x', digits[s[i] >> 4], digits[s[i] & 15]
            put(o, esc, 4)
    put(o, b"\"", 1)

cdef void put_names(Out* o, Wfl* w, const char* word, uint16_t* list, uint32_t n) noexcept nogil:
    cdef uint32_t i
    if n == 0:
        return
    puts(o, word)
    for i in range(n):
        put(o, b" ", 1)
        puts(o, w.nodes[list[i]].name)

cdef void put_node(Out* o, Wfl* w, WflNode* nd) noexcept nogil:
    cdef uint32_t i
    puts(o, b"node ")
    puts(o, nd.name)
    puts(o, b" = ")
    puts(o, op_name(nd.opcode))
    if nd.input == WFL_IN_DATA or nd.input == WFL_IN_FILE:
        puts(o, b" data" if nd.input == WFL_IN_DATA else b" file")
        put_string(o, w.data + nd.data_off, nd.data_len)
    put_names(o, w, b" from", nd.parents, nd.nfrom)
    put_names(o, w, b" after", nd.parents + nd.nfrom, nd.nafter)
    if nd.nargs:
        puts(o, b" args")
    for i in range(nd.nargs):
        put_number(o, nd.args[i])
    if nd.retries or nd.backoff_ms:
        puts(o, b" retries")
        put_number(o, nd.retries)
    if nd.backoff_ms:
        puts(o, b" backoff")
        put_number(o, nd.backoff_ms)
    put(o, b"\n", 1)

cdef uint64_t format(Wfl* w, char* out, uint64_t cap) noexcept nogil:
    cdef Out o
    cdef uint32_t i
    o.buf, o.cap, o.len = out, cap, 0
    for i in range(w.n):
        put_node(&o, w, &w.nodes[i])
    if cap:
        out[o.len if o.len < cap - 1 else cap - 1] = 0
    return o.len

# ---- the ABI's graph ------------------------------------------------------------------------------
cdef uint32_t lowered_nodes(Wfl* w) noexcept nogil:
    cdef uint32_t i, n = w.n
    for i in range(w.n):
        if w.nodes[i].input == WFL_IN_FILE:
            n += 1
    return n

cdef void describe(NodeDesc* d, uint16_t opcode) noexcept nogil:
    memset(d, 0, sizeof(NodeDesc))
    d.opcode = opcode
    if (opcode >> 8) == abi.DECK_EXECUTION:
        d.route[0], d.route_len = abi.DECK_EXECUTION, 1
    else:
        d.route[0], d.route[1], d.route_len = opcode >> 8, abi.DECK_EXECUTION, 2

cdef void input_of(WflNode* nd, NodeDesc* d, uint16_t file_node) noexcept nogil:
    if nd.input == WFL_IN_DATA:
        d.input_kind, d.data_offset, d.data_len = abi.INPUT_DATA, nd.data_off, nd.data_len
    elif nd.input == WFL_IN_FILE:
        d.input_kind, d.input_node = abi.INPUT_NODE, file_node
    elif nd.input == WFL_IN_FROM and nd.nfrom == 1:
        d.input_kind, d.input_node = abi.INPUT_NODE, nd.parents[0]
    elif nd.input == WFL_IN_FROM:
        d.input_kind = abi.INPUT_PARENTS

cdef uint64_t lower(Wfl* w, const uint64_t* file_ids, uint8_t* outs, uint64_t out_cap,
                    uint8_t* out, uint64_t cap) noexcept nogil:
    cdef uint32_t nn = lowered_nodes(w), i, ndeps = 0, files = 0
    cdef GraphHeader* h = <GraphHeader*>out
    cdef NodeDesc* nodes = <NodeDesc*>(out + sizeof(GraphHeader))
    cdef uint16_t* deps
    cdef WflNode* nd
    for i in range(w.n):
        ndeps += w.nodes[i].nfrom + w.nodes[i].nafter + (1 if w.nodes[i].input == WFL_IN_FILE else 0)
    if nn > 0xFFFF or ndeps > 0xFFFF or cap < sizeof(GraphHeader) + <uint64_t>nn * sizeof(NodeDesc) + ndeps * 2 + w.data_len:
        return 0
    deps = <uint16_t*>(out + sizeof(GraphHeader) + <uint64_t>nn * sizeof(NodeDesc))
    h.magic, h.nnodes, h.ndeps, h.data_len, h.reserved = abi.GRAPH_MAGIC, <uint16_t>nn, <uint16_t>ndeps, w.data_len, 0
    ndeps = 0
    for i in range(w.n):
        nd = &w.nodes[i]
        describe(&nodes[i], nd.opcode)
        input_of(nd, &nodes[i], <uint16_t>(w.n + files))
        nodes[i].deps_first, nodes[i].ndeps = <uint16_t>ndeps, nd.nfrom + nd.nafter
        memcpy(deps + ndeps, nd.parents, (nd.nfrom + nd.nafter) * sizeof(uint16_t))
        ndeps += nd.nfrom + nd.nafter
        nodes[i].max_retries, nodes[i].backoff_ms = nd.retries, nd.backoff_ms
        nodes[i].args[0], nodes[i].args[1] = nd.args[0], nd.args[1]
        nodes[i].flags = abi.NODE_EMIT
        if outs != NULL:
            nodes[i].flags |= abi.NODE_OUTPUT_PTR
            nodes[i].args[2], nodes[i].args[3] = <uint64_t>(outs + i * out_cap), out_cap
        if nd.input == WFL_IN_FILE:
            describe(&nodes[w.n + files], abi.OP_FS_GET)
            nodes[w.n + files].args[0] = file_ids[files]
            deps[ndeps] = <uint16_t>(w.n + files)
            nodes[i].ndeps += 1
            ndeps += 1
            files += 1
    memcpy(<uint8_t*>(deps + ndeps), w.data, w.data_len)
    return sizeof(GraphHeader) + <uint64_t>nn * sizeof(NodeDesc) + ndeps * 2 + w.data_len

# ---- hosted: tools/kwe wf and the tests ------------------------------------------------------------
def py_read(bytes text, uint32_t cap=4096, uint32_t data_cap=1 << 20):
    """text parsed into a Wfl: (its bytes, the nodes' and the data's memory
    it points into: keep all three); ValueError("LINE:COL: message")."""
    cdef bytearray state = bytearray(sizeof(Wfl))
    cdef bytearray nodes = bytearray(cap * sizeof(WflNode)), data = bytearray(data_cap + 1)
    cdef Wfl* w = <Wfl*><char*>state
    init(w, <WflNode*><char*>nodes, cap, <uint8_t*><char*>data, data_cap)
    if parse(w, text, len(text)) != abi.E_OK:
        raise ValueError(f"{w.line}:{w.col}: {w.msg.decode(errors='replace')}")
    return state, nodes, data

def py_parse(bytes text, uint32_t cap=4096, uint32_t data_cap=1 << 20):
    """The nodes as dicts; ValueError("LINE:COL: message") for a mistake."""
    cdef bytearray state, nodes, data
    cdef Wfl* w
    cdef WflNode* nd
    cdef uint32_t i
    state, nodes, data = py_read(text, cap, data_cap)
    w = <Wfl*><char*>state
    out = []
    for i in range(w.n):
        nd = &w.nodes[i]
        out.append(dict(name=nd.name.decode(), op=op_name(nd.opcode).decode(), opcode=nd.opcode,
                        input=("none", "data", "from", "file")[nd.input],
                        data=bytes(data[nd.data_off:nd.data_off + nd.data_len]),
                        parents=[nd.parents[k] for k in range(nd.nfrom)],
                        after=[nd.parents[nd.nfrom + k] for k in range(nd.nafter)],
                        args=[nd.args[k] for k in range(nd.nargs)],
                        retries=nd.retries, backoff=nd.backoff_ms, line=nd.line, col=nd.col))
    return out

def py_format(bytes text):
    """The canonical text of a workflow file."""
    cdef bytearray state, nodes, data, out
    cdef Wfl* w
    cdef uint64_t n
    state, nodes, data = py_read(text)
    w = <Wfl*><char*>state
    n = format(w, NULL, 0)
    out = bytearray(n + 1)
    format(w, <char*>out, n + 1)
    return bytes(out[:n])

def py_lower(bytes text, file_ids=()):
    """The ABI graph (the k-th `file` input reads file_ids[k])."""
    cdef bytearray state, nodes, data, ids, out
    cdef Wfl* w
    cdef uint64_t cap, n
    state, nodes, data = py_read(text)
    w = <Wfl*><char*>state
    ids = bytearray(8 * (lowered_nodes(w) + 1))
    for k, v in enumerate(list(file_ids)[:lowered_nodes(w)]):
        ids[8 * k:8 * k + 8] = int(v).to_bytes(8, "little")
    cap = sizeof(GraphHeader) + lowered_nodes(w) * sizeof(NodeDesc) + 2 * 65536 + w.data_len
    out = bytearray(cap)
    n = lower(w, <uint64_t*><char*>ids, NULL, 0, <uint8_t*><char*>out, cap)
    return bytes(out[:n])

def py_ops():
    """name -> opcode: the language's table."""
    cdef uint16_t code = 0
    cdef int i = 0
    table = {}
    while op_entry(i, &code) != NULL:
        table[op_entry(i, &code).decode()] = code
        i += 1
    return table

def py_constants():
    return dict(WFL_NAME_MAX=WFL_NAME_MAX, WFL_PARENTS_MAX=WFL_PARENTS_MAX,
                WFL_RETRIES_MAX=WFL_RETRIES_MAX)
