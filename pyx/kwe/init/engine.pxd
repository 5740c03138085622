# The event engine brought up in one place: the Guide, its five decks, the
# workflow engine and the process layer.  kmain calls init(); hosted tests
# call py_init() on a fresh simulated machine.
from libc.stdint cimport uint64_t

cdef void init(uint64_t idle_stack_top) noexcept nogil
# The kernel's deferred work: pending Guide events, then a due filesystem commit;
# True if the Guide's budget left work for the next kernel entry.
cdef bint deferred() noexcept nogil
