# Storage deck (3): memory for processes (OP_MEM_ALLOC / OP_MEM_FREE),
# within a per-process quota (mem_quota_mb= on the command line, default
# 64).  TagFS file operations join it in the TagFS issue.
from kwe.guide cimport Event
cdef void init() noexcept nogil
cdef int handle(Event* e) noexcept nogil
