# Checking a mounted TagFS: every structure agrees with every other.
#   - each B+tree: node magic, levels, keys sorted and inside their parent's
#     range, every leaf at the same depth, every node in the data area
#   - every block used once: tree nodes and file extents never share a block
#   - the bitmap marks exactly the used blocks; the free count matches
#   - extents belong to existing files and stay inside their size
#   - postings (tag, file) and file tags (file, tag) mirror each other; tag
#     and file counts match what the trees hold
from libc.stdint cimport uint64_t
from kwe.fs.tagfs cimport FS

cdef struct Report:
    uint64_t problems
    uint64_t files
    uint64_t tags
    uint64_t tree_blocks
    uint64_t data_blocks
    char* log                   # one line per problem (the first ones), NUL-terminated
    size_t log_cap
    size_t log_len

cdef int check(FS* fs, Report* r) noexcept nogil
