# See tags.pxd.
from libc.stdint cimport uint8_t, uint32_t
from libc.string cimport memcmp
from kwe.common cimport kstr

# ---- characters ------------------------------------------------------------------------------
cdef uint32_t shortest(size_t size) noexcept nogil:
    """The smallest code point that needs a size-byte sequence (below it: overlong)."""
    if size == 2:
        return 0x80
    return 0x800 if size == 3 else 0x10000

cdef size_t sequence_len(uint8_t lead) noexcept nogil:
    """0 for a byte no character starts with: a continuation byte, C0 and C1
    (always overlong) and F5..FF (past U+10FFFF)."""
    if lead < 0x80:
        return 1
    if lead < 0xC2 or lead > 0xF4:
        return 0
    if lead < 0xE0:
        return 2
    return 3 if lead < 0xF0 else 4

cdef size_t utf8_char(const uint8_t* s, size_t n, uint32_t* cp) noexcept nogil:
    """The length of the character at s (its code point in cp); 0 when it is
    not valid UTF-8: cut short, overlong, a surrogate or above U+10FFFF."""
    cdef size_t size = sequence_len(s[0]), i
    cdef uint32_t c
    if size <= 1:
        cp[0] = s[0]
        return size
    if size > n:
        return 0
    c = s[0] & (0x7F >> size)                       # the lead's payload bits
    for i in range(1, size):
        if (s[i] & 0xC0) != 0x80:
            return 0
        c = (c << 6) | (s[i] & 0x3F)
    if c < shortest(size) or 0xD800 <= c <= 0xDFFF or c > 0x10FFFF:
        return 0
    cp[0] = c
    return size

cdef bint white_space(uint32_t c) noexcept nogil:
    """Unicode's White_Space property (25 code points): invisible in a shell
    or a URL, so a tag holding one could not be told from two tags."""
    return (c == 0x20 or 0x09 <= c <= 0x0D or c == 0x85 or c == 0xA0 or c == 0x1680
            or 0x2000 <= c <= 0x200A or c == 0x2028 or c == 0x2029 or c == 0x202F
            or c == 0x205F or c == 0x3000)

cdef int char_reason(uint32_t c) noexcept nogil:
    if white_space(c):
        return TAG_SPACE
    if c < 0x20 or 0x7F <= c <= 0x9F:               # C0 (NUL too: lists are C strings), DEL, C1
        return TAG_CONTROL
    if c == c'(' or c == c')':                      # the query's grouping
        return TAG_PAREN
    return TAG_OK

cdef int chars_reason(const char* s, size_t n) noexcept nogil:
    """The reason of the first character that may not be in a tag, or TAG_OK."""
    cdef size_t i = 0, k
    cdef uint32_t c = 0
    cdef int r
    while i < n:
        k = utf8_char(<const uint8_t*>s + i, n - i, &c)
        if k == 0:
            return TAG_BAD_UTF8
        r = char_reason(c)
        if r != TAG_OK:
            return r
        i += k
    return TAG_OK

# ---- tags --------------------------------------------------------------------------------------
cdef size_t key_len(const char* s, size_t n) noexcept nogil:
    cdef size_t k = 0
    while k < n and s[k] != c'=':
        k += 1
    return k

cdef int shape_reason(const char* s, size_t n) noexcept nogil:
    cdef size_t k = key_len(s, n)
    if n == 1 and k == 0:
        return TAG_BARE_EQUALS
    if k == 0:
        return TAG_EMPTY_KEY
    if k == n - 1:
        return TAG_EMPTY_VALUE
    if operator(s, n) != OPER_NONE:                 # the query would read it as the operator
        return TAG_OPERATOR
    return TAG_OK

cdef int check(const char* s, size_t n) noexcept nogil:
    cdef int r
    if n == 0:
        return TAG_EMPTY
    if n > TAG_MAX:
        return TAG_TOO_LONG
    r = chars_reason(s, n)
    return r if r != TAG_OK else shape_reason(s, n)

cdef const char* reason(int code) noexcept nogil:
    if code == TAG_OK:
        return b"a valid tag"
    if code == TAG_EMPTY:
        return b"empty tag"
    if code == TAG_TOO_LONG:
        return b"longer than 118 bytes"
    if code == TAG_BAD_UTF8:
        return b"not valid UTF-8"
    if code == TAG_SPACE:
        return b"contains whitespace"
    if code == TAG_CONTROL:
        return b"contains a control character"
    if code == TAG_PAREN:
        return b"contains a parenthesis"
    return shape_message(code)

cdef const char* shape_message(int code) noexcept nogil:
    if code == TAG_BARE_EQUALS:
        return b"a bare '=' (a tag is key or key=value)"
    if code == TAG_EMPTY_KEY:
        return b"empty key before '='"
    if code == TAG_EMPTY_VALUE:
        return b"empty value after '='"
    if code == TAG_OPERATOR:
        return b"AND, OR and NOT (in any case) are query operators"
    return b"not a reason check() gives"

cdef bint reserved(const char* s, size_t n) noexcept nogil:
    cdef size_t k = key_len(s, n)
    if k == n:
        return False                                # `name` alone is an ordinary tag
    return ((n == 12 and memcmp(s, b"type=program", 12) == 0)
            or (k == 4 and memcmp(s, b"name", 4) == 0)
            or (k == 5 and memcmp(s, b"crc32", 5) == 0))

# ---- query words -------------------------------------------------------------------------------

cdef int operator(const char* s, size_t n) noexcept nogil:
    if kstr.is_word(s, n, b"and"):
        return OPER_AND
    if kstr.is_word(s, n, b"or"):
        return OPER_OR
    if kstr.is_word(s, n, b"not"):
        return OPER_NOT
    return OPER_NONE

cdef bint is_space(char c) noexcept nogil:
    return c == c' ' or c'\t' <= c <= c'\r'

cdef size_t space_len(const char* s) noexcept nogil:
    cdef size_t n = 0
    while is_space(s[n]):
        n += 1
    return n

cdef size_t word_len(const char* s) noexcept nogil:
    cdef size_t n = 0
    while s[n] and not is_space(s[n]) and s[n] != c'(' and s[n] != c')':
        n += 1
    return n

# ---- hosted ------------------------------------------------------------------------------------
cdef long value_of(const char* tags, size_t n, const char* key) noexcept nogil:
    cdef size_t i = 0, k = 0
    while key[k]:
        k += 1
    while i < n:
        if i + k < n and memcmp(tags + i, key, k) == 0 and tags[i + k] == c'=':
            return <long>(i + k + 1)
        while i < n and tags[i] != c'\n':
            i += 1
        i += 1
    return -1

def py_value_of(bytes tags, bytes key):
    cdef long at = value_of(tags, len(tags), key)
    return None if at < 0 else tags[at:].split(b"\n", 1)[0]

def py_bytes_of(str text):
    """The bytes a str stands for: the surrogate escapes of an undecodable
    command line become the bytes they were (which check() then refuses)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")   # lone surrogates: refused as bad UTF-8

def py_check(str tag):
    """None when `tag` is a valid tag, else why not (tools/kwe fs prints it)."""
    cdef bytes b = py_bytes_of(tag)
    cdef int r = check(b, len(b))
    return None if r == TAG_OK else reason(r).decode()

def py_code(bytes tag):
    return check(tag, len(tag))

def py_reason(int code):
    return reason(code).decode()

def py_operator(bytes word):
    return operator(word, len(word))

def py_word_len(bytes text):
    return word_len(text)

def py_space_len(bytes text):
    return space_len(text)

def py_key_len(bytes tag):
    return key_len(tag, len(tag))

def py_reserved(bytes tag):
    return reserved(tag, len(tag))

def py_constants():
    """The pxd's enums by name, for the tests' model of the rules."""
    return dict(TAG_MAX=TAG_MAX, TAG_OK=TAG_OK, TAG_EMPTY=TAG_EMPTY, TAG_TOO_LONG=TAG_TOO_LONG,
                TAG_BAD_UTF8=TAG_BAD_UTF8, TAG_SPACE=TAG_SPACE, TAG_CONTROL=TAG_CONTROL,
                TAG_PAREN=TAG_PAREN, TAG_BARE_EQUALS=TAG_BARE_EQUALS, TAG_EMPTY_KEY=TAG_EMPTY_KEY,
                TAG_EMPTY_VALUE=TAG_EMPTY_VALUE, TAG_OPERATOR=TAG_OPERATOR, TAG_REASONS=TAG_REASONS,
                OPER_NONE=OPER_NONE, OPER_AND=OPER_AND, OPER_OR=OPER_OR, OPER_NOT=OPER_NOT)
