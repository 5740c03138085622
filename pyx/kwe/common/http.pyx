# See http.pxd.  Every loop is bounded by a length checked before it; the
# head is read a line at a time inside min(n, HEAD_MAX).
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from kwe.common cimport kstr
from kwe.common.format cimport format_buf

# What the header lines said that only the end of the head decides on.
cdef struct Fields:
    bint chunked                  # Transfer-Encoding was there
    bint close                    # a "close" token in Connection
    bint keep                     # a "keep-alive" token in Connection
    bint expect                   # Expect: 100-continue


# ---- bytes --------------------------------------------------------------------------
cdef bint is_tchar(uint8_t c) noexcept nogil:
    # RFC 9110's token characters: letters, digits and these.
    cdef const char* more = b"!#$%&'*+-.^_`|~"
    if (c >= c'0' and c <= c'9') or ((c | 0x20) >= c'a' and (c | 0x20) <= c'z'):
        return True
    while more[0] != 0:
        if <uint8_t>more[0] == c:
            return True
        more += 1
    return False

cdef bint is_ows(char c) noexcept nogil:
    return c == c' ' or c == c'\t'

# The first c in s[at:end], or end.
cdef uint32_t find(const char* s, uint32_t at, uint32_t end, char c) noexcept nogil:
    while at < end and s[at] != c:
        at += 1
    return at

# s[0:n] as a decimal number (digits only, at least one, no overflow).
cdef bint decimal(const char* s, uint32_t n, uint64_t* out) noexcept nogil:
    cdef uint64_t v = 0, d
    cdef uint32_t i
    if n == 0:
        return False
    for i in range(n):
        if s[i] < c'0' or s[i] > c'9':
            return False
        d = <uint64_t>(s[i] - c'0')
        if v > (0xFFFFFFFFFFFFFFFFU - d) // 10:
            return False
        v = v * 10 + d
    out[0] = v
    return True


# ---- the head, a line at a time -------------------------------------------------------
# The line starting at buf[at]: where its text ends (before CR LF or LF) in
# *end, and where the next one starts as the result.  0 while its LF is not
# within limit; HTTP_BAD for a CR that is not right before the LF.
cdef int64_t next_line(const char* buf, uint32_t at, uint32_t limit, uint32_t* end) noexcept nogil:
    cdef uint32_t i = at
    while i < limit:
        if buf[i] == c'\n':
            end[0] = i - 1 if i > at and buf[i - 1] == c'\r' else i
            return i + 1
        if buf[i] == c'\r' and i + 1 < limit and buf[i + 1] != c'\n':
            return HTTP_BAD
        i += 1
    return 0

# What a head without its end is: still coming, or over HEAD_MAX already.
cdef int unfinished(int64_t why, uint32_t n) noexcept nogil:
    if why < 0:
        return <int>why
    return HTTP_TOOBIG if n >= HEAD_MAX else HTTP_INCOMPLETE

cdef uint8_t method_of(const char* s, uint32_t n) noexcept nogil:
    # Methods are case-sensitive (RFC 9110 9.1): "get" is some other method.
    if n == 3 and s[0] == c'G' and s[1] == c'E' and s[2] == c'T':
        return HTTP_GET
    if n == 3 and s[0] == c'P' and s[1] == c'U' and s[2] == c'T':
        return HTTP_PUT
    if n == 4 and s[0] == c'H' and s[1] == c'E' and s[2] == c'A' and s[3] == c'D':
        return HTTP_HEAD
    return HTTP_OTHER

cdef bint is_token(const char* s, uint32_t n) noexcept nogil:
    cdef uint32_t i
    for i in range(n):
        if not is_tchar(<uint8_t>s[i]):
            return False
    return n > 0

# "HTTP/1.0" or "HTTP/1.1": the minor version; another HTTP/d.d is
# HTTP_VERSION, anything else HTTP_BAD.
cdef int version(const char* s, uint32_t n) noexcept nogil:
    cdef const char* http = b"HTTP/"
    cdef uint32_t i
    if n != 8 or s[6] != c'.' or s[5] < c'0' or s[5] > c'9' or s[7] < c'0' or s[7] > c'9':
        return HTTP_BAD
    for i in range(5):
        if s[i] != http[i]:
            return HTTP_BAD
    if s[5] != c'1' or s[7] > c'1':
        return HTTP_VERSION
    return s[7] - c'0'

# An origin-form target buf[at:end] into r's path and query.
cdef int target(const char* buf, uint32_t at, uint32_t end, Request* r) noexcept nogil:
    cdef uint32_t i, q = find(buf, at, end, c'?')
    if at == end or buf[at] != c'/':
        return HTTP_BAD
    for i in range(at, end):
        if <uint8_t>buf[i] <= 0x20 or <uint8_t>buf[i] >= 0x7F or buf[i] == c'#':
            return HTTP_BAD
    r.path_off, r.path_len = at, q - at
    if q < end:
        r.query_off, r.query_len = q + 1, end - q - 1
    return 0

cdef int request_line(const char* buf, uint32_t at, uint32_t end, Request* r) noexcept nogil:
    cdef uint32_t sp1 = find(buf, at, end, c' '), sp2
    cdef int minor
    if sp1 == end or not is_token(buf + at, sp1 - at):
        return HTTP_BAD
    sp2 = find(buf, sp1 + 1, end, c' ')
    if sp2 == end or target(buf, sp1 + 1, sp2, r) < 0:
        return HTTP_BAD
    minor = version(buf + sp2 + 1, end - sp2 - 1)
    if minor < 0:
        return minor
    r.method, r.minor = method_of(buf + at, sp1 - at), <uint8_t>minor
    return 0

cdef int content_length(const char* v, uint32_t n, Request* r) noexcept nogil:
    cdef uint64_t length = 0
    if not decimal(v, n, &length) or (r.has_length and length != r.content_length):
        return HTTP_LENGTH
    r.has_length, r.content_length = True, length
    return 0

# The comma-separated tokens of a Connection value.
cdef void connection(const char* v, uint32_t n, Fields* f) noexcept nogil:
    cdef uint32_t at = 0, end, e
    while at < n:
        end = find(v, at, n, c',')
        e = end
        while at < e and is_ows(v[at]):
            at += 1
        while e > at and is_ows(v[e - 1]):
            e -= 1
        f.close |= kstr.is_word(v + at, e - at, b"close")
        f.keep |= kstr.is_word(v + at, e - at, b"keep-alive")
        at = end + 1

# One field, its name and trimmed value, into r and f.
cdef int field(const char* name, uint32_t nlen, const char* v, uint32_t n,
               Request* r, Fields* f) noexcept nogil:
    if kstr.is_word(name, nlen, b"content-length"):
        return content_length(v, n, r)
    if kstr.is_word(name, nlen, b"transfer-encoding"):
        f.chunked = True
    elif kstr.is_word(name, nlen, b"connection"):
        connection(v, n, f)
    elif kstr.is_word(name, nlen, b"expect"):
        f.expect |= kstr.is_word(v, n, b"100-continue")
    return 0

cdef int header_line(const char* buf, uint32_t at, uint32_t end, Request* r, Fields* f) noexcept nogil:
    cdef uint32_t colon = at, v, i
    while colon < end and is_tchar(<uint8_t>buf[colon]):
        colon += 1
    if colon == at or colon == end or buf[colon] != c':':
        return HTTP_BAD             # folding, no name, or space before the colon
    v = colon + 1
    while v < end and is_ows(buf[v]):
        v += 1
    while end > v and is_ows(buf[end - 1]):
        end -= 1
    for i in range(v, end):
        if (<uint8_t>buf[i] < 0x20 and buf[i] != c'\t') or <uint8_t>buf[i] == 0x7F:
            return HTTP_BAD
    return field(buf + at, colon - at, buf + v, end - v, r, f)

# The end of the head (the empty line ending at head_len): what only all of it tells.
cdef int finish(Request* r, Fields* f, uint32_t head_len) noexcept nogil:
    if f.chunked:
        return HTTP_LENGTH if r.has_length else HTTP_CHUNKED
    r.keep_alive = not f.close and (r.minor == 1 or f.keep)
    r.expect_continue = f.expect and r.minor == 1
    r.head_len = head_len
    return <int>head_len

cdef void clear(Request* r, Fields* f) noexcept nogil:
    r.method, r.minor, r.keep_alive, r.expect_continue, r.has_length = 0, 0, False, False, False
    r.head_len, r.path_off, r.path_len, r.query_off, r.query_len = 0, 0, 0, 0, 0
    r.content_length = 0
    f.chunked, f.close, f.keep, f.expect = False, False, False, False

# The header lines from at to the empty line.
cdef int headers(const char* buf, uint32_t at, uint32_t limit, uint32_t n,
                 Request* r, Fields* f) noexcept nogil:
    cdef uint32_t end = 0, count = 0
    cdef int64_t nxt
    cdef int err
    while True:
        nxt = next_line(buf, at, limit, &end)
        if nxt <= 0:
            return unfinished(nxt, n)
        if end == at:
            return finish(r, f, <uint32_t>nxt)
        count += 1
        if count > HEADERS_MAX:
            return HTTP_TOOBIG
        err = header_line(buf, at, end, r, f)
        if err < 0:
            return err
        at = <uint32_t>nxt

cdef int parse(const char* buf, uint32_t n, Request* r) noexcept nogil:
    cdef Fields f
    cdef uint32_t limit = n if n < HEAD_MAX else HEAD_MAX, at = 0, end = 0
    cdef int64_t nxt = 0
    cdef int err
    clear(r, &f)
    while True:                     # empty lines before the request line
        nxt = next_line(buf, at, limit, &end)
        if nxt <= 0:
            return unfinished(nxt, n)
        if end > at:
            break
        at = <uint32_t>nxt
    err = request_line(buf, at, end, r)
    if err < 0:
        return err
    return headers(buf, <uint32_t>nxt, limit, n, r, &f)


# ---- query strings and paths --------------------------------------------------------
cdef int hex_value(char c) noexcept nogil:
    if c >= c'0' and c <= c'9':
        return c - c'0'
    if (c | 0x20) >= c'a' and (c | 0x20) <= c'f':
        return (c | 0x20) - c'a' + 10
    return -1

# The byte at s[i[0]] decoded ('+' a space, %XX its byte), i moved past it;
# -1 for a '%' without two hex digits after it.
cdef int next_byte(const char* s, uint32_t n, uint32_t* i) noexcept nogil:
    cdef uint8_t c = <uint8_t>s[i[0]]
    cdef int hi, lo
    i[0] += 1
    if c == c'+':
        return c' '
    if c != c'%':
        return c
    if n - i[0] < 2:
        return -1
    hi, lo = hex_value(s[i[0]]), hex_value(s[i[0] + 1])
    if hi < 0 or lo < 0:
        return -1
    i[0] += 2
    return hi * 16 + lo

# s[0:n] decoded is name.
cdef bint key_is(const char* s, uint32_t n, const char* name) noexcept nogil:
    cdef uint32_t i = 0, k = 0
    cdef int c
    while i < n:
        c = next_byte(s, n, &i)
        if c < 0 or name[k] == 0 or <uint8_t>name[k] != c:
            return False
        k += 1
    return name[k] == 0

# s[0:n] decoded into out[0:cap] with its NUL: the length, or -2.
cdef int64_t decode(const char* s, uint32_t n, char* out, uint32_t cap) noexcept nogil:
    cdef uint32_t i = 0, k = 0
    cdef int c
    if cap == 0:
        return -2
    while i < n:
        c = next_byte(s, n, &i)
        if c <= 0 or k + 1 >= cap:
            out[0] = 0
            return -2
        out[k] = <char>c
        k += 1
    out[k] = 0
    return k

cdef int64_t query_param(const char* q, uint32_t qlen, const char* name, char* out, uint32_t cap) noexcept nogil:
    cdef uint32_t at = 0, end, eq
    while at < qlen:
        end = find(q, at, qlen, c'&')
        eq = find(q, at, end, c'=')
        if end > at and key_is(q + at, eq - at, name):
            at = eq + 1 if eq < end else end
            return decode(q + at, end - at, out, cap)
        at = end + 1
    return -1

cdef int64_t path_id(const char* path, uint32_t n, const char* prefix) noexcept nogil:
    cdef uint32_t k = 0
    cdef uint64_t v = 0
    while prefix[k] != 0:
        if k >= n or path[k] != prefix[k]:
            return -1
        k += 1
    if not decimal(path + k, n - k, &v) or v > 0x7FFFFFFFFFFFFFFFU:
        return -1
    return <int64_t>v


# ---- responses ----------------------------------------------------------------------
cdef const char* reason(uint32_t status) noexcept nogil:
    # One string, each entry its three digits then the phrase: no table to set up at run
    # time.  \x00, not \0: "\0200" would be the octal escape \020.
    cdef const char* all = (b"100Continue\x00200OK\x00201Created\x00204No Content\x00"
                            b"301Moved Permanently\x00304Not Modified\x00400Bad Request\x00403Forbidden\x00"
                            b"404Not Found\x00405Method Not Allowed\x00408Request Timeout\x00409Conflict\x00"
                            b"411Length Required\x00412Precondition Failed\x00413Content Too Large\x00"
                            b"414URI Too Long\x00415Unsupported Media Type\x00417Expectation Failed\x00"
                            b"431Request Header Fields Too Large\x00500Internal Server Error\x00"
                            b"501Not Implemented\x00503Service Unavailable\x00"
                            b"505HTTP Version Not Supported\x00507Insufficient Storage\x00")
    cdef uint32_t code
    while all[0] != 0:
        code = <uint32_t>((all[0] - c'0') * 100 + (all[1] - c'0') * 10 + (all[2] - c'0'))
        if code == status:
            return all + 3
        all += kstr.length(all) + 1
    return b""

# A response head being written: out[0:len] so far, over once a part did not fit.
cdef struct Out:
    char* buf
    uint32_t cap, len
    bint over

cdef void put(Out* o, const char* fmt, uint64_t a, uint64_t b, uint64_t c) noexcept nogil:
    cdef uint64_t args[3]
    cdef size_t k
    if o.over or o.len >= o.cap:
        o.over = True
        return
    args[0], args[1], args[2] = a, b, c
    k = format_buf(o.buf + o.len, o.cap - o.len, fmt, args, 3)
    if k >= o.cap - o.len:          # format_buf's NUL needs a byte too
        o.over = True
        return
    o.len += <uint32_t>k

# (A conditional expression between two b"" literals would be a Python object.)
cdef uint64_t pick(uint32_t which, const char* yes, const char* no) noexcept nogil:
    return <uint64_t>(yes if which else no)

cdef uint32_t format_head(char* out, uint32_t cap, uint32_t status, uint64_t length, uint32_t flags,
                          uint32_t etag, uint64_t id) noexcept nogil:
    cdef Out o
    if status < 100 or status > 999:
        return 0
    o.buf, o.cap, o.len, o.over = out, cap, 0, False
    put(&o, b"HTTP/1.1 %u %s\r\nContent-Length: %u\r\n", status, <uint64_t>reason(status), length)
    if flags & HH_ETAG:
        put(&o, b"ETag: \"%08x\"\r\n", etag, 0, 0)
    if flags & HH_LOCATION:
        put(&o, b"Location: /files/%u\r\n", id, 0, 0)
    put(&o, b"Connection: %s\r\nContent-Type: %s\r\n\r\n", pick(flags & HH_CLOSE, b"close", b"keep-alive"),
        pick(flags & HH_TEXT, b"text/plain; charset=utf-8", b"application/octet-stream"), 0)
    if o.over and cap > 0:
        out[0] = 0
    return 0 if o.over else o.len


# ---- hosted helpers for the tests ---------------------------------------------------
def py_parse(bytes data):
    """parse() on data: a dict of the Request (path and query as bytes too), or the int it returned."""
    cdef Request r
    cdef const char* p = data
    cdef uint32_t n = <uint32_t>len(data)
    cdef int got = parse(p, n, &r)
    if got <= 0:
        return got
    return dict(head_len=r.head_len, method=r.method, minor=r.minor, keep_alive=bool(r.keep_alive),
                expect_continue=bool(r.expect_continue), has_length=bool(r.has_length),
                content_length=r.content_length, path_off=r.path_off, path_len=r.path_len,
                query_off=r.query_off, query_len=r.query_len,
                path=data[r.path_off:r.path_off + r.path_len],
                query=data[r.query_off:r.query_off + r.query_len])

def py_query_param(bytes q, bytes name, uint32_t cap=256):
    """query_param(): the value as bytes, or -1 / -2."""
    cdef char out[1024]
    cdef int64_t got
    if cap > sizeof(out):
        raise ValueError("cap over 1024")
    got = query_param(q, <uint32_t>len(q), name, out, cap)
    return out[:got] if got >= 0 else got

def py_path_id(bytes path, bytes prefix):
    return path_id(path, <uint32_t>len(path), prefix)

def py_reason(uint32_t status):
    return reason(status).decode()

def py_format_head(uint32_t status, uint64_t length, uint32_t flags=0, uint32_t etag=0, uint64_t id=0,
                   uint32_t cap=512):
    """format_head(): the head as bytes, b"" when it returned 0."""
    cdef char out[1024]
    cdef uint32_t got
    if cap > sizeof(out):
        raise ValueError("cap over 1024")
    got = format_head(out, cap, status, length, flags, etag, id)
    return out[:got]

def py_constants():
    """The pxd's enums by name."""
    return dict(HTTP_GET=HTTP_GET, HTTP_PUT=HTTP_PUT, HTTP_HEAD=HTTP_HEAD, HTTP_OTHER=HTTP_OTHER,
                HTTP_INCOMPLETE=HTTP_INCOMPLETE, HTTP_BAD=HTTP_BAD, HTTP_TOOBIG=HTTP_TOOBIG,
                HTTP_VERSION=HTTP_VERSION, HTTP_LENGTH=HTTP_LENGTH, HTTP_CHUNKED=HTTP_CHUNKED,
                HEAD_MAX=HEAD_MAX, HEADERS_MAX=HEADERS_MAX, HH_ETAG=HH_ETAG, HH_CLOSE=HH_CLOSE,
                HH_LOCATION=HH_LOCATION, HH_TEXT=HH_TEXT)
