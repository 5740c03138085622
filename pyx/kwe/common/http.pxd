# HTTP/1.1 as a small server speaks it (RFC 9112, pragmatic): the request
# head's parser and the helpers around it, shared by the user program httpd
# and the kernel's Operations deck.  Input is hostile: nothing here reads
# past the length it is given, recurses, or trusts a length it did not check.
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t

cdef enum:
    HTTP_GET = 1
    HTTP_PUT = 2
    HTTP_HEAD = 3
    HTTP_OTHER = 4                # a valid token method we do not implement (answer 501)
    HTTP_INCOMPLETE = 0           # parse(): the head's end (CRLF CRLF) is not in the buffer yet
    HTTP_BAD = -1                 # malformed: answer 400
    HTTP_TOOBIG = -2              # no end of head within HEAD_MAX bytes, or over HEADERS_MAX headers: 431
    HTTP_VERSION = -3             # not HTTP/1.0 or HTTP/1.1: 505
    HTTP_LENGTH = -4              # Content-Length malformed, duplicated with different values, or with Transfer-Encoding: 400
    HTTP_CHUNKED = -5             # Transfer-Encoding present (we do not take chunked bodies): 411/501
    HEAD_MAX = 16384              # bytes of a request head at most
    HEADERS_MAX = 100             # header lines at most

cdef struct Request:
    uint8_t method                # HTTP_GET .. HTTP_OTHER (methods are case-sensitive)
    uint8_t minor                 # HTTP/1.minor
    bint keep_alive               # 1.1: unless "Connection: close"; 1.0: only with "Connection: keep-alive"
    bint expect_continue          # "Expect: 100-continue" in a 1.1 request (1.0 clients never wait for 100)
    bint has_length
    uint32_t head_len             # bytes of the head, the final CRLF CRLF included
    uint32_t path_off, path_len   # the target's path (before '?') as offsets into the buffer
    uint32_t query_off, query_len # after '?': (0, 0) when there is no '?'
    uint64_t content_length       # 0 unless has_length

# Parse the request head at buf[0:n] into *r.  Returns head_len (> 0; a
# pipelined request after it is left alone), HTTP_INCOMPLETE or an HTTP_*
# error.  Lines end in CRLF or a bare LF (a CR elsewhere is HTTP_BAD); empty
# lines before the request line are skipped.  The request line is
# `METHOD SP target SP HTTP/1.x` with a token method and an origin-form
# target ('/' then visible ASCII, no '#').  Header names are tokens followed
# by ':' at once, values have SP/HTAB trimmed and no control bytes but HTAB;
# a line starting with SP/HTAB (obsolete folding) is HTTP_BAD.  Errors in a
# complete line are answered as soon as it is in: a prefix of a valid head
# is always HTTP_INCOMPLETE.  Without an end of head in the first
# min(n, HEAD_MAX) bytes: HTTP_TOOBIG once n >= HEAD_MAX.
cdef int parse(const char* buf, uint32_t n, Request* r) noexcept nogil

# Percent-decode ('+' is a space) the value of the first `name` in the
# query string q[0:qlen] ('&'-separated, "name" alone has the value "") into
# out, NUL-terminated.  Keys are compared decoded; a key that does not
# decode is no match.  Returns the value's length, -1 when name is absent,
# -2 when the value is malformed (a bad %XX, a NUL byte) or longer than
# cap - 1 (out[0] is then 0 when cap > 0).
cdef int64_t query_param(const char* q, uint32_t qlen, const char* name, char* out, uint32_t cap) noexcept nogil

# "/files/123" with prefix "/files/" -> 123: decimal digits after the prefix
# and nothing else (no sign, at most 2^63 - 1); -1 otherwise.
cdef int64_t path_id(const char* path, uint32_t n, const char* prefix) noexcept nogil

# The reason phrase of a status: "OK", "Created", "Not Found", ... ("" when unknown).
cdef const char* reason(uint32_t status) noexcept nogil

cdef enum:
    HH_ETAG = 0x01                # ETag: "<etag as %08x>"
    HH_CLOSE = 0x02               # Connection: close (else keep-alive)
    HH_LOCATION = 0x04            # Location: /files/<id>
    HH_TEXT = 0x08                # Content-Type: text/plain; charset=utf-8 (else application/octet-stream)

# A response head into out: "HTTP/1.1 <status> <reason>\r\nContent-Length:
# <length>\r\n", then per flags ETag, Location, Connection, Content-Type and
# the final "\r\n", NUL-terminated.  Returns its length (without the NUL);
# 0 when it does not fit cap (length + 1 bytes are needed) or status is not
# three digits.
cdef uint32_t format_head(char* out, uint32_t cap, uint32_t status, uint64_t length, uint32_t flags,
                          uint32_t etag, uint64_t id) noexcept nogil
