# Storage deck (3): TagFS files (create, open, read, write, seek, truncate,
# delete, tag, untag, query, tags, stat, sync, get) through per-process
# file descriptors, and memory for processes (OP_MEM_ALLOC / OP_MEM_FREE)
# within a per-process quota (mem_quota_mb=, default 64).  An event with
# EVF_SYNC is answered only once its change is committed to disk.
from kwe.events.guide cimport Event
cdef void init() noexcept nogil
cdef int handle(Event* e) noexcept nogil
