# Kernel stacks, each in its own 64 KiB slot of the KSTACK region with the
# pages below it left unmapped: running off the end faults on the guard
# instead of overwriting a neighbour.  The page fault's own frame then does
# not fit either, so the CPU raises a double fault, which runs on an IST
# stack and reports the overflow (kwe.arch.traps).
from libc.stdint cimport uint64_t

cdef enum:
    SLOT_PAGES = 16
    MAX_PAGES = 15              # one page of every slot stays a guard
    DEFAULT_PAGES = 4

# A stack of `pages` pages; returns its top (16-byte aligned) or 0.
cdef uint64_t alloc(uint64_t pages) noexcept nogil
cdef void free(uint64_t top) noexcept nogil
# Is va in the KSTACK region but not mapped (a guard or unused page)?
cdef bint is_guard(uint64_t va) noexcept nogil
cdef uint64_t live() noexcept nogil
cdef void reset() noexcept nogil                  # forget everything (hosted tests)
