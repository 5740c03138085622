# Tag queries: which files have these tags?
#
#   query := term ("OR" term)*
#   term  := factor (["AND"] factor)*      -- juxtaposition means AND
#   factor:= "NOT" factor | "(" query ")" | tag
#
# Words, operators (in any case: `and` is AND) and what a tag is are
# kwe.common.tags'; a word that is not a valid tag is E_INVAL.
#
# Evaluation works on sorted posting lists from the index: a tag's list is
# read only when it must be.  ANDed (or AND NOTed) with a set, a dense tag is
# looked into as its bitmap (kwe.fs.tagbits), any tag far bigger than the set
# by one cursor moving forward through its postings, galloping within a
# leaf: an intersection costs about its smaller side.  Otherwise the two
# sides are merged as they are, a tag's postings read in place from the
# index's leaves, never copied out first.  Only a query whose answer is a
# complement ("NOT a", "NOT a OR NOT b") has to scan the list of all files.
from libc.stdint cimport uint64_t, int64_t
from kwe.fs.tagfs cimport FS
from kwe.mm.account cimport Account

cdef struct IdSet:              # sorted, unique file ids (heap memory)
    uint64_t* ids
    uint64_t n
    uint64_t cap

# Run a query; E_OK with out filled (free with release()), or E_INVAL for a
# syntax error, E_NOMEM, E_IO.  Its memory is charged to `owner` (the
# asking process's account; NULL: the kernel's own).
cdef int run(FS* fs, const char* query, IdSet* out, Account* owner) noexcept nogil
cdef void release(IdSet* s) noexcept nogil
