# The switch for the kernel's safety checks, for one measurement only: the
# bench's same-boot A/B of what they cost per workflow op (tools/kwe bench).
# They are always on, unless the kernel command line says checks_switch=1
# AND a process holding CAP_SYSTEM turns them off with OP_CHECKS.  Off:
# heap guard/poison verification and poison fill (kwe.mm.heap), quota
# comparisons (kwe.mm.account; the counting goes on) and capability checks
# (kwe.tasks.caps).  Never off: input validation, ResultRing reservations.
cdef void init() noexcept nogil
cdef bint enabled() noexcept nogil
cdef bint switchable() noexcept nogil
cdef void set_enabled(bint on) noexcept nogil
