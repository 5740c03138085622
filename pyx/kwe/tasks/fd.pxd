# Per-process file descriptors: small integers naming an open TagFS file
# and an offset.  A process's table is a hash map (no global cap); each
# process may hold up to fs_max_fds open (command line, default 1024).
from libc.stdint cimport uint32_t, uint64_t, int64_t
from kwe.tasks.proc cimport Process

cdef struct OpenFile:
    uint64_t file_id
    uint64_t offset

cdef void init() noexcept nogil
# A new descriptor (>= 0) for file_id, or E_QUOTA / E_NOMEM.
cdef int64_t open(Process* p, uint64_t file_id) noexcept nogil
cdef OpenFile* get(Process* p, uint64_t fd) noexcept nogil    # NULL: not open
cdef int close(Process* p, uint64_t fd) noexcept nogil        # E_OK or E_BADF
cdef void close_all(Process* p) noexcept nogil
