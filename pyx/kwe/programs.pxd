# The user programs the kernel can start, by name.  Until TagFS holds them
# they come from the program archive tools/build/mkimage.py puts after the
# kernel in the image (docs/boot.md): read over ATA once at boot, each
# program's CRC32 checked.
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from kwe.proc cimport SpawnArgs

cdef int init(uint64_t lba, uint32_t sectors) noexcept nogil     # number of programs, or < 0
cdef bint find(const char* name, const uint8_t** image, uint64_t* size) noexcept nogil
# Start "name args..." as a process (E_OK and its pid, or E_NOENT / E_*).
cdef int launch(const char* command, SpawnArgs* a, uint32_t* pid) noexcept nogil
cdef uint32_t count() noexcept nogil
cdef const char* name(uint32_t i) noexcept nogil
