# The user programs the kernel can start: files in TagFS tagged
# type=program and name=NAME (tools/build/mkfsimage.py puts them there).
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from kwe.tasks.proc cimport SpawnArgs

# Start "name args..." as a process (E_OK and its pid, or E_NOENT / E_*).
cdef int launch(const char* command, SpawnArgs* a, uint32_t* pid) noexcept nogil
# Their names, on one console line (for a user who named one that is not there).
cdef void list_names() noexcept nogil
cdef int64_t count() noexcept nogil          # programs in the filesystem, or < 0
