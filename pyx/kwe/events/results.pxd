# Delivering completions to a process's ResultRing without ever holding or
# losing one.  The kernel takes an event only after reserving ResultRing
# room for every completion it will cause (reserve), so posting always
# finds a free slot; whoever holds a reservation (an event, a workflow run,
# a child's exit notice) counts it and gives back what it did not use.
from libc.stdint cimport uint32_t
from kwe.common.abi cimport Completion
from kwe.tasks.proc cimport Process

# Free ResultRing slots not yet promised to anyone.  A tail that makes no
# sense (past head, or more than the ring behind) is reset to head, with
# RING_CORRUPT set: the process loses only what it claimed it had not read.
cdef uint32_t room(Process* p) noexcept nogil
# Promise n slots; False (and nothing promised) without room for all n.
cdef bint reserve(Process* p, uint32_t n) noexcept nogil
# Give back what *held still counts, and zero it.
cdef void release(Process* p, uint32_t* held) noexcept nogil
# Move n of *held's promise into *to (a run or a child takes over part of
# an event's).
cdef void hand_over(uint32_t* held, uint32_t* to, uint32_t n) noexcept nogil
# Write c into p's ResultRing, using one of *held's slots, and wake p if
# it waits for results.
cdef void post(Process* p, Completion* c, uint32_t* held) noexcept nogil
# Anything for p to read?
cdef bint waiting_for_reader(Process* p) noexcept nogil
