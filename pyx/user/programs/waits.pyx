# waits: WAIT must not miss a completion that lands before it blocks.
#   1. SUBMIT a 20 ms sleep, busy for 100 ms, then WAIT(0): returns at once.
#   2. RUN a workflow, busy for 100 ms, then WAIT(workflow): returns at once.
#   3. SUBMIT|WAIT in one call on a workflow that completes immediately.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from user cimport sdk, wf
from kwe.common cimport abi
from kwe.common.abi cimport EventSlot, Completion

cdef wf.WfNode nodes[1]
cdef uint8_t data[16]
cdef uint8_t blob[256]

cdef void busy(uint64_t ms) noexcept nogil:
    cdef uint64_t end = sdk.now_ms() + ms
    while sdk.now_ms() < end:
        pass

cdef uint64_t timed_wait(uint32_t wf_id) noexcept nogil:
    cdef uint64_t t0 = sdk.now_ms()
    sdk.kernel_notify(wf_id, abi.NOTIFY_WAIT)
    return sdk.now_ms() - t0

cdef int register(uint32_t id, uint16_t op, uint64_t arg0) noexcept nogil:
    cdef wf.Graph g
    wf.init(&g, nodes, 1, data, sizeof(data))
    wf.args(&g, wf.add(&g, op), arg0, 0)
    return wf.register(id, blob, wf.encode(&g, blob, sizeof(blob)))

cdef public int umain() noexcept nogil:
    cdef EventSlot* e
    cdef Completion r
    cdef uint64_t ms
    cdef int ok = 0
    e = sdk.event(abi.OP_SLEEP)
    e.h.arg[0] = 20
    sdk.commit()
    sdk.submit()
    busy(100)
    ms = timed_wait(0)
    ok += sdk.next_result(&r) and r.opcode == abi.OP_SLEEP
    sdk.printf(b"waits: completion before WAIT(0): returned after %u ms\n", ms)
    register(5, abi.OP_SLEEP, 20)
    e = sdk.event(abi.OP_WF_RUN)
    e.h.workflow_id = 5
    sdk.commit()
    sdk.submit()
    busy(100)
    ms = timed_wait(5)
    ok += sdk.next_result(&r) and (r.flags & abi.RF_WORKFLOW) != 0
    sdk.printf(b"waits: run finished before WAIT(5): returned after %u ms\n", ms)
    register(6, abi.OP_TICKS, 0)
    e = sdk.event(abi.OP_WF_RUN)
    e.h.workflow_id = 6
    sdk.commit()
    sdk.kernel_notify(6, abi.NOTIFY_SUBMIT | abi.NOTIFY_WAIT)
    ok += sdk.next_result(&r) and (r.flags & abi.RF_WORKFLOW) != 0 and r.status == 0
    sdk.printf(b"waits: SUBMIT|WAIT on an instant workflow: %d of 3 checks\n", ok)
    return 0 if ok == 3 else 1
