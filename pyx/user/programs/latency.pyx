# latency [RUNS]: how long a one-node workflow takes from submit to
# completion, with one kernel_notify(SUBMIT | WAIT) per run.  Prints the
# median and 99th percentile in TSC cycles and in timer ticks, measured by
# the process around the call.
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from user cimport sdk, wf
from kwe.common cimport abi
from kwe.common.abi cimport Completion, EventSlot

cdef enum:
    MAX_RUNS = 2000
    WF_ID = 9

cdef uint64_t outer[MAX_RUNS]
cdef wf.WfNode nodes[1]
cdef uint8_t data[64]
cdef uint8_t blob[256]

cdef void report(const char* what, uint64_t* v, uint32_t n, uint64_t tick) noexcept nogil:
    sdk.sort_u64(v, n)
    sdk.printf(b"latency: %s median %u cycles (%u.%03u ticks), p99 %u cycles\n", <uint64_t>what,
               v[n / 2], v[n / 2] / tick, v[n / 2] * 1000 / tick % 1000, v[n * 99 / 100])

cdef public int umain() noexcept nogil:
    cdef uint32_t runs = <uint32_t>sdk.arg_u64(0, 200), i
    cdef wf.Graph g
    cdef Completion r
    cdef EventSlot* e
    cdef uint64_t t0, t1, n, tick = sdk.info().tsc_hz / sdk.info().tick_hz
    if runs > MAX_RUNS:
        runs = MAX_RUNS
    for i in range(64):
        data[i] = <uint8_t>i
    wf.init(&g, nodes, 1, data, 0)
    wf.input_data(&g, wf.add(&g, abi.OP_CRC32), data, 0)
    g.data, g.data_cap = data, 64                    # input: the 64 bytes already in data
    g.nodes[0].d.input_kind = abi.INPUT_DATA
    g.nodes[0].d.data_len = 64
    g.data_len = 64
    n = wf.encode(&g, blob, sizeof(blob))
    if wf.register(WF_ID, blob, n) != abi.E_OK:
        sdk.puts(b"latency: register failed\n")
        return 1
    for i in range(runs):
        e = sdk.event(abi.OP_WF_RUN)
        e.h.workflow_id = WF_ID
        sdk.commit()
        t0 = sdk.tsc()
        sdk.kernel_notify(WF_ID, abi.NOTIFY_SUBMIT | abi.NOTIFY_WAIT)
        t1 = sdk.tsc()
        sdk.wait_result(&r)
        if r.status != abi.E_OK or not (r.flags & abi.RF_WORKFLOW):
            sdk.printf(b"latency: run %u failed: %e\n", i, <uint64_t><int64_t>r.status)
            return 1
        outer[i] = t1 - t0
    sdk.printf(b"latency: %u runs of a 1-node workflow; one tick = %u cycles\n", runs, tick)
    report(b"process submit->wake", outer, runs, tick)
    return 0
