# The tag grammar, in one place: what a tag is, what ends a word of a query,
# which words are operators, which tags only the system may set.  The kernel
# (tagfs, tagquery, caps, programs), user programs (this part is linked into
# them) and the host tool (tools/kwe fs, through py_check) all ask here, so
# they cannot disagree.  docs/tagfs.md "Tags and queries" says the same in prose.
#
# A tag is `key` or `key=value`, where
#   - it is 1..TAG_MAX bytes of valid UTF-8: shortest forms only, no
#     surrogates (U+D800..U+DFFF), nothing above U+10FFFF;
#   - no character is whitespace (ASCII or Unicode White_Space, e.g. U+00A0,
#     U+3000), a control character (C0, DEL, C1) or a parenthesis;
#   - the key, everything before the first '=', is not empty, and a '=' is
#     followed by a non-empty value; the value may hold more '=' (`a=b=c` is
#     key `a`, value `b=c`);
#   - it is not an operator word: AND, OR, NOT in any case (`and`, `Not`).
# Tags match byte for byte: case-sensitive, no Unicode normalization; only
# the operators ignore case.
cdef enum:
    TAG_MAX = 118               # bytes: what kwe.fs.tagfs's TagRec holds on disk

# Why check() refuses a tag.  A tag that breaks several rules gets the first
# reason in this order: empty, too long, its first bad character (bad UTF-8,
# whitespace, control, parenthesis: whichever comes first in the tag), then
# its shape (bare '=', empty key, empty value), then operator.
cdef enum:
    TAG_OK = 0
    TAG_EMPTY = 1
    TAG_TOO_LONG = 2
    TAG_BAD_UTF8 = 3
    TAG_SPACE = 4
    TAG_CONTROL = 5
    TAG_PAREN = 6
    TAG_BARE_EQUALS = 7         # "="
    TAG_EMPTY_KEY = 8           # "=v"
    TAG_EMPTY_VALUE = 9         # "x="
    TAG_OPERATOR = 10           # "AND", "or", ...
    TAG_REASONS = 11

# What operator() finds.
cdef enum:
    OPER_NONE = 0
    OPER_AND = 1
    OPER_OR = 2
    OPER_NOT = 3

# TAG_OK, or why s[:n] is not a tag.
cdef int check(const char* s, size_t n) noexcept nogil
# A one-line message for a reason ("empty value after '='"); never NULL.
cdef const char* reason(int code) noexcept nogil
# OPER_AND/OR/NOT when s[:n] is that word in any case, else OPER_NONE.
cdef int operator(const char* s, size_t n) noexcept nogil
# Query tokenizing, on NUL-terminated text.  A word ends at NUL, ASCII
# whitespace or a parenthesis; anything else (a control byte, U+00A0) stays
# in the word and makes it an invalid tag, so it is an error, not a split.
cdef bint is_space(char c) noexcept nogil          # ASCII whitespace: ' ' \t \n \v \f \r
cdef size_t space_len(const char* s) noexcept nogil
cdef size_t word_len(const char* s) noexcept nogil
# Bytes before the first '=' in s[:n] (n if there is none).
cdef size_t key_len(const char* s, size_t n) noexcept nogil
# In a tag list of n bytes, one tag per line (what OP_FS_TAGS gives), where
# the value of the first tag `key=...` starts; -1 if there is none.  The
# value ends at the next '\n' or at n.
cdef long value_of(const char* tags, size_t n, const char* key) noexcept nogil
# Tags only a process with CAP_SYSTEM may set or remove (kwe.tasks.caps):
# exactly `type=program`, and any tag with key `name` or `crc32` and a '='.
# Byte-exact like all matching: `Name=x` is an ordinary tag (the kernel's
# program lookup asks for `name=` and would never find it).
cdef bint reserved(const char* s, size_t n) noexcept nogil
