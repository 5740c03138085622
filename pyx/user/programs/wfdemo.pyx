# wfdemo: the workflow engine at work, three DAGs.
#   fanout   split -> RLE + CRC32 + XOR in parallel -> combine -> CRC32,
#            with a 40 ms timer node in flight beside them
#   retry    a node that fails twice with E_AGAIN, retried with backoff
#   failure  a node that fails for good: its descendants are cancelled,
#            an independent branch still runs
# Every node result is printed ("wfdemo NAME node I ...") with its output
# (written by the kernel into the node's buffer) in hex, so tests can
# compare the bytes with Python's own computation.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from user cimport sdk, wf
from kwe.common cimport abi
from kwe.common.abi cimport Completion

cdef enum:
    MAX_NODES = 16
    OUT_CAP = 512

cdef wf.WfNode nodes[MAX_NODES]
cdef uint8_t data[2048]
cdef uint8_t blob[4096]
cdef uint8_t outs[MAX_NODES][OUT_CAP]    # node i's output
cdef char hexbuf[2 * OUT_CAP + 1]
cdef const char* current = NULL          # the demo being run (for print_node)

cdef void print_node(Completion* r) noexcept nogil:
    cdef uint32_t i
    cdef const char* digits = b"0123456789abcdef"
    cdef uint32_t n = r.length if r.length < OUT_CAP else OUT_CAP
    cdef uint8_t* out = outs[r.node % MAX_NODES]
    if r.status != abi.E_OK:
        n = 0
    for i in range(n):
        hexbuf[2 * i] = digits[out[i] >> 4]
        hexbuf[2 * i + 1] = digits[out[i] & 15]
    hexbuf[2 * n] = 0
    sdk.printf(b"wfdemo %s node %u status %d attempts %u value %lx length %u out %s\n",
               <uint64_t>current, r.node, <uint64_t><int64_t>r.status, r.attempts, r.value,
               r.length, <uint64_t>hexbuf)

cdef int finish(const char* name, uint32_t id) noexcept nogil:
    global current
    cdef uint64_t n = wf.encode(&g, blob, sizeof(blob))
    cdef Completion s
    cdef int status
    current = name
    status = wf.register(id, blob, n)
    if status != abi.E_OK:
        sdk.printf(b"wfdemo %s: register failed: %e\n", <uint64_t>name, <uint64_t><int64_t>status)
        return 1
    status = wf.run(id, &s, print_node)
    sdk.printf(b"wfdemo %s summary status %d done %u failed %u cancelled %u node %u deck %u\n",
               <uint64_t>name, <uint64_t><int64_t>status, sdk.run_done(&s), sdk.run_failed(&s),
               sdk.run_cancelled(&s), s.node, s.deck)
    wf.unregister(id)
    return 0

cdef wf.Graph g

cdef int fanout() noexcept nogil:
    cdef const char* text = b"KWE fan-out/fan-in: aaaaaaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbb 0123456789 cccccccccccccccccccccccccccccc!"
    cdef uint32_t n = 0
    cdef int split, rle, crc, xor, combine, final, timer, i
    while text[n]:
        n += 1
    wf.init(&g, nodes, MAX_NODES, data, sizeof(data))
    split = wf.add(&g, abi.OP_NOP)                  # node 0: the input, as one node's output
    wf.input_data(&g, split, text, n)
    rle = wf.add(&g, abi.OP_RLE_ENCODE)             # nodes 1-3 run in parallel
    wf.input_from(&g, rle, split)
    crc = wf.add(&g, abi.OP_CRC32)
    wf.input_from(&g, crc, split)
    xor = wf.add(&g, abi.OP_XOR)
    wf.input_from(&g, xor, split)
    wf.args(&g, xor, 0x5A3C, 2)
    combine = wf.add(&g, abi.OP_NOP)                # node 4: rle + crc (4 bytes LE) + xor
    wf.after(&g, combine, rle)
    wf.after(&g, combine, crc)
    wf.after(&g, combine, xor)
    wf.input_parents(&g, combine)
    final = wf.add(&g, abi.OP_CRC32)                # node 5: CRC32 of the combination
    wf.input_from(&g, final, combine)
    timer = wf.add(&g, abi.OP_SLEEP)                # node 6: independent, in flight meanwhile
    wf.args(&g, timer, 40, 0)
    for i in range(7):
        wf.emit(&g, i)
        wf.output(&g, i, outs[i], OUT_CAP)
    return finish(b"fanout", 1)

cdef int retry() noexcept nogil:
    cdef int flaky, after
    wf.init(&g, nodes, MAX_NODES, data, sizeof(data))
    flaky = wf.add(&g, abi.OP_FLAKY)                # fails twice, then works
    wf.args(&g, flaky, 2, 0)
    wf.retry(&g, flaky, 3, 10)
    after = wf.add(&g, abi.OP_CRC32)
    wf.input_data(&g, after, b"after the retries", 17)
    wf.after(&g, after, flaky)
    wf.emit(&g, flaky)
    wf.emit(&g, after)
    wf.output(&g, after, outs[after], OUT_CAP)
    return finish(b"retry", 2)

cdef int failure() noexcept nogil:
    cdef int ok, bad, child, grandchild, other, hopeless, i
    wf.init(&g, nodes, MAX_NODES, data, sizeof(data))
    ok = wf.add(&g, abi.OP_CRC32)                   # node 0: independent, succeeds
    wf.input_data(&g, ok, b"independent", 11)
    bad = wf.add(&g, abi.OP_RLE_DECODE)             # node 1: malformed input: fails for good
    wf.input_data(&g, bad, b"\x7f\x01", 2)
    child = wf.add(&g, abi.OP_CRC32)                # node 2: needs node 1: cancelled
    wf.input_from(&g, child, bad)
    grandchild = wf.add(&g, abi.OP_XOR)             # node 3: needs node 2: cancelled
    wf.input_from(&g, grandchild, child)
    wf.args(&g, grandchild, 1, 1)
    other = wf.add(&g, abi.OP_DJB2)                 # node 4: after node 0 only: runs
    wf.input_from(&g, other, ok)
    hopeless = wf.add(&g, abi.OP_FLAKY)             # node 5: more failures than retries
    wf.args(&g, hopeless, 5, 0)
    wf.retry(&g, hopeless, 2, 5)
    for i in range(6):
        wf.emit(&g, i)
        wf.output(&g, i, outs[i], OUT_CAP)
    return finish(b"failure", 3)

cdef public int umain() noexcept nogil:
    return fanout() + retry() + failure()
