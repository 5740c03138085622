# TagFS from a user program: each call is one Storage-deck event
# (pyx/kwe/decks/deck_storage.pyx).  Negative returns are E_* codes.
# Tags and query words follow kwe.common.tags, which every program links:
# tags.check() says why the kernel would answer E_INVAL to a tag.
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from kwe.common.abi cimport FileStat

cdef int64_t create(const char* tags) noexcept nogil           # new file id
cdef int64_t open(uint64_t id) noexcept nogil                  # fd
cdef int close(uint64_t fd) noexcept nogil
cdef int64_t write(uint64_t fd, const void* data, uint32_t n, bint sync) noexcept nogil
cdef int64_t read(uint64_t fd, void* buf, uint32_t n) noexcept nogil
cdef int64_t seek(uint64_t fd, uint64_t offset) noexcept nogil
cdef int truncate(uint64_t id, uint64_t size) noexcept nogil
cdef int delete(uint64_t id) noexcept nogil
cdef int tag(uint64_t id, const char* name) noexcept nogil
cdef int untag(uint64_t id, const char* name) noexcept nogil
# File ids matching a query into ids[0:cap]; returns how many match (may be > cap).
cdef int64_t query(const char* q, uint64_t* ids, uint32_t cap) noexcept nogil
cdef int64_t tags(uint64_t id, char* buf, uint32_t cap) noexcept nogil
# The same on one line for a listing: spaces between the tags, cut to
# cap - 1 bytes, NUL-terminated; its length, or an E_* code.
cdef int64_t tags_line(uint64_t id, char* buf, uint32_t cap) noexcept nogil
cdef int stat(uint64_t id, FileStat* out) noexcept nogil
cdef int sync() noexcept nogil
