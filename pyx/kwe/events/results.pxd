# Delivering completions to a process's ResultRing.  When the ring is full
# the result goes to a kernel backlog (RING_BACKLOG set in the ring header,
# with the count) and moves into the ring as the process consumes, like
# io_uring's CQ overflow list: completions are never dropped.
from libc.stdint cimport uint64_t
from kwe.common.abi cimport ResultSlot
from kwe.tasks.proc cimport Process
from kwe.events.guide cimport Event

# Deliver r to p and wake p if it waits for results.  False only if the
# kernel had no memory for the backlog (the result is then counted lost).
cdef bint post(Process* p, ResultSlot* r) noexcept nogil
# Move backlog into the ring while it has room.
cdef void flush(Process* p) noexcept nogil
# Anything for p to read (in the ring or the backlog)?
cdef bint waiting_for_reader(Process* p) noexcept nogil
cdef uint64_t lost() noexcept nogil
# Fill r from a finished event: status, error context, value, timing, and
# the output (the first PAYLOAD_MAX bytes in the slot; all of it, up to the
# capacity, to the process's buffer if the event asked with EVF_OUTPUT_PTR).
cdef void from_event(Event* e, Process* p, ResultSlot* r) noexcept nogil
