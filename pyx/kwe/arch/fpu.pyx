# See fpu.pxd.  Not reentrant: the kernel is not preemptible, and nothing
# between begin() and end() may sleep or switch processes.
from libc.stdint cimport uint8_t, uint64_t
from kwe.base cimport hal

cdef uint8_t clean_block[512 + 16]
cdef uint8_t saved_block[512 + 16]

cdef inline void* aligned(uint8_t* block) noexcept nogil:
    return <void*>((<uint64_t>block + 15) & ~<uint64_t>15)

cdef void init() noexcept nogil:
    hal.fpu_save(aligned(clean_block))          # what entry.S's fninit left

cdef const void* clean_state() noexcept nogil:
    return aligned(clean_block)

cdef void begin() noexcept nogil:
    hal.fpu_save(aligned(saved_block))
    hal.fpu_restore(aligned(clean_block))

cdef void end() noexcept nogil:
    hal.fpu_restore(aligned(saved_block))
