# See results.pxd.
from libc.stdint cimport uint32_t
from libc.string cimport memcpy
from kwe.common cimport ring, abi
from kwe.tasks cimport proc
from kwe.common.abi cimport Completion
from kwe.tasks.proc cimport Process

cdef void publish(Process* p) noexcept nogil:
    p.results.hdr.reserved = p.cq_reserved

cdef uint32_t room(Process* p) noexcept nogil:
    cdef uint32_t free
    if ring.corrupt(&p.results):            # a tail from the future or far back: resynchronise
        p.results.hdr.tail = p.results.mine # (what it claimed unread is its own loss)
        p.results.hdr.flags |= abi.RING_CORRUPT
    free = ring.room(&p.results)
    return free - p.cq_reserved if free > p.cq_reserved else 0

cdef bint reserve(Process* p, uint32_t n) noexcept nogil:
    if room(p) < n:
        return False
    p.cq_reserved += n
    publish(p)
    return True

cdef void release(Process* p, uint32_t* held) noexcept nogil:
    if p != NULL:
        p.cq_reserved -= held[0] if held[0] < p.cq_reserved else p.cq_reserved
        publish(p)
    held[0] = 0

cdef void hand_over(uint32_t* held, uint32_t* to, uint32_t n) noexcept nogil:
    n = n if n < held[0] else held[0]
    held[0] -= n
    to[0] += n

cdef void post(Process* p, Completion* c, uint32_t* held) noexcept nogil:
    cdef void* slot = ring.produce_slot(&p.results)
    if held[0] > 0:
        held[0] -= 1
        if p.cq_reserved > 0:
            p.cq_reserved -= 1
    if slot == NULL:                        # room was reserved: the process moved its tail wrongly
        slot = ring.own_slot(&p.results)
        p.results.hdr.flags |= abi.RING_CORRUPT
    memcpy(slot, c, sizeof(Completion))
    ring.produce(&p.results)
    publish(p)
    if p.waiting and (p.wait_workflow == 0 or (c.flags & abi.RF_WORKFLOW)):
        proc.wake(p)                        # a WAIT for a run: only its end (a summary) can end it

cdef bint waiting_for_reader(Process* p) noexcept nogil:
    return ring.pending(&p.results) > 0
