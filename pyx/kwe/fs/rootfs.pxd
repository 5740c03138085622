# The kernel's filesystem: the TagFS region of the boot disk (the boot
# header says where), mounted at boot with its journal replayed, committed
# every fs_commit_ms milliseconds (command line, default 1000) when
# something changed, and on every OP_FS_SYNC.
from libc.stdint cimport uint32_t, uint64_t
from kwe.fs.tagfs cimport FS

cdef int mount() noexcept nogil          # E_OK, or why not (it prints either way)
cdef FS* fs() noexcept nogil             # NULL when nothing is mounted
cdef int unmount() noexcept nogil        # commit, record a clean unmount (before power-off)
# Commit if the period has passed and something is pending (deferred work).
cdef void maybe_commit() noexcept nogil
cdef uint64_t commits() noexcept nogil
# Commit everything and empty the block cache and the bitmaps (before measuring memory).
cdef int quiesce() noexcept nogil
