# See results.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy
from libc.string cimport memset
from kwe.common cimport ring, abi
from kwe.mm cimport heap, uaccess
from kwe.tasks cimport proc
from kwe.base cimport hal
from kwe.common.abi cimport ResultSlot, RING_BACKLOG, RF_BACKLOG
from kwe.tasks.proc cimport Process, Backlog
from kwe.events.guide cimport Event, NO_DECK
from kwe.base.console cimport kprintf

cdef uint64_t nlost = 0

cdef void publish_backlog_state(Process* p) noexcept nogil:
    p.results.hdr.backlog = p.backlog_count
    if p.backlog_count:
        p.results.hdr.flags |= RING_BACKLOG
    else:
        p.results.hdr.flags &= ~RING_BACKLOG

cdef void flush(Process* p) noexcept nogil:
    cdef Backlog* b
    cdef void* slot
    while p.backlog_head != NULL:
        slot = ring.produce_slot(&p.results)
        if slot == NULL:
            break
        b = p.backlog_head
        memcpy(slot, &b.slot, sizeof(ResultSlot))
        ring.produce(&p.results)
        p.backlog_head = b.next
        if p.backlog_head == NULL:
            p.backlog_tail = NULL
        p.backlog_count -= 1
        heap.kfree(b)
    publish_backlog_state(p)

cdef bint post(Process* p, ResultSlot* r) noexcept nogil:
    global nlost
    cdef void* slot
    cdef Backlog* b
    flush(p)
    slot = ring.produce_slot(&p.results) if p.backlog_head == NULL else NULL
    if slot != NULL:
        memcpy(slot, r, sizeof(ResultSlot))
        ring.produce(&p.results)
    else:
        b = <Backlog*>heap.kmalloc_for(p.account, sizeof(Backlog))
        if b == NULL:
            nlost += 1
            kprintf(b"results: out of memory, a result for pid %u is lost\n", p.pid)
            return False
        memcpy(&b.slot, r, sizeof(ResultSlot))
        b.slot.h.flags |= RF_BACKLOG
        b.next = NULL
        if p.backlog_tail != NULL:
            p.backlog_tail.next = b
        else:
            p.backlog_head = b
        p.backlog_tail = b
        p.backlog_count += 1
        publish_backlog_state(p)
    if p.waiting:
        proc.wake(p)
    return True

cdef bint waiting_for_reader(Process* p) noexcept nogil:
    return ring.pending(&p.results) > 0 or p.backlog_count > 0

cdef uint64_t lost() noexcept nogil:
    return nlost

cdef void from_event(Event* e, Process* p, ResultSlot* r) noexcept nogil:
    cdef uint32_t n = e.output_len if e.output_len < abi.PAYLOAD_MAX else abi.PAYLOAD_MAX
    cdef uint64_t cap
    memset(&r.h, 0, sizeof(r.h))
    r.h.event_id = e.h.event_id
    r.h.workflow_id = e.h.workflow_id
    r.h.opcode = e.h.opcode
    r.h.flags = e.result_flags
    r.h.status = e.status
    r.h.node = <uint16_t>e.node
    r.h.deck = e.fail_deck if e.fail_deck != NO_DECK else abi.DECK_EXECUTION
    r.h.attempts = <uint8_t>(e.attempts + 1 if e.attempts < 255 else 255)
    r.h.value = e.value
    r.h.output_len = e.output_len
    r.h.tsc_submit = e.tsc_submit
    r.h.tsc_complete = hal.rdtsc()
    if n:
        memcpy(r.payload, e.output, n)
    r.h.payload_len = n
    if e.output_len > abi.PAYLOAD_MAX:
        r.h.flags |= abi.RF_TRUNCATED
    if (e.h.flags & abi.EVF_OUTPUT_PTR) and e.output_len and p.space != NULL:
        cap = e.h.arg[3] if e.h.arg[3] < e.output_len else e.output_len
        if uaccess.copy_out(p.space, e.h.arg[2], e.output, cap):
            if cap == e.output_len:
                r.h.flags &= ~abi.RF_TRUNCATED
            else:
                r.h.flags |= abi.RF_TRUNCATED
        elif r.h.status == abi.E_OK:
            r.h.status = abi.E_FAULT

def py_flush(uint32_t pid):
    """What kernel_notify does first: move backlog into the ring; the backlog left."""
    cdef Process* p = proc.find(pid)
    if p == NULL:
        raise KeyError(pid)
    flush(p)
    return p.backlog_count
