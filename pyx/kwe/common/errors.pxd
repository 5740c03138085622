# Names and one-line meanings of the status codes (abi.pxd's E_*).  The table
# is generated from abi.pxd's comments (build/kwe_errors.h), so the kernel's
# messages, format's %e, the user SDK and the host tools (kwecli.abi) print
# the same words for the same code.
from libc.stdint cimport int64_t

# "E_NOENT" for -10; NULL for a code that is not in the table.
cdef const char* name(int64_t code) noexcept nogil
# "no such file, tag, program or workflow" for -10; NULL if unknown.
cdef const char* meaning(int64_t code) noexcept nogil
