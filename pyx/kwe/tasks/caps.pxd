# Capabilities, seL4-style: what a process may do, kept by the kernel in its
# Process (abi.CapSet): which opcodes, which classes of files with which
# rights (by the label the kernel keeps on every file, never by the tags a
# query names), and the system capability the reserved tags need.  init
# starts with everything; a child gets at most its parent's set, less if the
# spawn asks; a process may give up more (OP_CAPS_LIMIT), never gain.
# Denials are E_PERM: counted, traced (TR_DENY) and logged at most
# caps_log_per_s= times a second (default 10).
from libc.stdint cimport uint16_t, uint32_t, uint64_t
from kwe.common.abi cimport CapSet

cdef void init() noexcept nogil
cdef void all(CapSet* c) noexcept nogil
# c keeps only what is also in `limit`.
cdef void intersect(CapSet* c, const CapSet* limit) noexcept nogil
cdef bint op_allowed(const CapSet* c, uint16_t opcode) noexcept nogil
cdef bint file_allowed(const CapSet* c, uint32_t label, uint32_t rights) noexcept nogil
# May it read every class of file (then a query needs no filtering)?
cdef bint reads_all(const CapSet* c) noexcept nogil
cdef bint system(const CapSet* c) noexcept nogil
# Is any of the space-separated tags in s[:n] reserved to CAP_SYSTEM
# (kwe.common.tags.reserved: type=program, name=..., crc32=...)?
cdef bint any_reserved(const char* s, size_t n) noexcept nogil
# Count, trace and (rate-limited) log a refusal; returns E_PERM.
cdef int deny(uint32_t pid, uint16_t opcode, uint64_t what) noexcept nogil
cdef uint64_t denials() noexcept nogil
