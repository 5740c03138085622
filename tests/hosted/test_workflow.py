"""The workflow engine, hosted: registration checks, runs, retries,
cancellation, and properties over random DAGs."""
import struct
import zlib

import pytest
from hypothesis import given, settings, strategies as st

from engine import settle, start
from kwe.events import guide, workflow
from kwe.mm import heap
from kwe.dev import pit
from kwecli import abi, trace
from kwe.base import hal
from kwe.debug import trace as ktrace
from kwecli.abi import *          # noqa: F403


def register(p, wf_id, graph):
    blob = graph.encode() if isinstance(graph, abi.Graph) else graph
    if len(blob) <= PAYLOAD_MAX:
        return p.call(OP_WF_REGISTER, workflow_id=wf_id, payload=blob).status
    va = p.buffer(blob)
    return p.call(OP_WF_REGISTER, workflow_id=wf_id, input_ptr=(va, len(blob))).status


def run(p, wf_id):
    """Run to completion: (summary, {node: result})."""
    run_id = p.push(OP_WF_RUN, workflow_id=wf_id)
    p.submit()
    settle()
    out = p.results()
    nodes = {r.node: r for r in out if r.flags & RF_NODE}
    assert len(nodes) == sum(1 for r in out if r.flags & RF_NODE), "a node reported twice"
    (summary,) = [r for r in out if not r.flags & RF_NODE]
    assert summary.event_id == run_id and all(r.event_id == run_id for r in out)
    return summary, nodes


def counts(summary):
    return summary.counts


def traced_run(p, wf_id):
    """run(), with each node's (start, end) from the kernel's trace."""
    hal.serial_clear()
    ktrace.py_start(1 << 16)
    summary, nodes = run(p, wf_id)
    ktrace.py_dump(1_000_000_000, 100)
    ktrace.py_stop()
    t = trace.parse(hal.serial_output().decode().replace("\r", ""))
    return summary, nodes, {n["node"]: (n["start"], n["end"]) for n in trace.slices(t)["nodes"]}


# ---- registration --------------------------------------------------------------------
def graph_with(mutate):
    g = abi.Graph()
    a = g.add(OP_CRC32, input=b"a")
    g.add(OP_CRC32, input=a)
    blob = bytearray(g.encode())
    mutate(blob)
    return bytes(blob)


NODE1 = 16 + 64          # the second NodeDesc's offset


@pytest.mark.parametrize("blob,err", [
    (b"", E_INVAL),
    (graph_with(lambda b: b.__setitem__(slice(0, 4), b"XXXX")), E_INVAL),            # magic
    (graph_with(lambda b: b.__setitem__(slice(4, 6), b"\0\0")), E_INVAL),            # no nodes
    (graph_with(lambda b: b.extend(b"junk")), E_INVAL),                              # size mismatch
    (graph_with(lambda b: b.__setitem__(slice(-3, -1), b"\x07\0")), E_NOENT),        # dep on node 7
    (graph_with(lambda b: b.__setitem__(slice(-3, -1), b"\x01\0")), E_CYCLE),        # depends on itself
    (graph_with(lambda b: b.__setitem__(slice(NODE1, NODE1 + 2), b"\x77\x77")), E_BADOP),
    (graph_with(lambda b: b.__setitem__(slice(NODE1, NODE1 + 2), b"\x01\x00")), E_BADOP),   # OP_SPAWN
    (graph_with(lambda b: b.__setitem__(NODE1 + 4, 2)), E_BADROUTE),                  # route [2, 0]
    (graph_with(lambda b: b.__setitem__(NODE1 + 3, INPUT_DATA) or
                b.__setitem__(slice(NODE1 + 24, NODE1 + 28), b"\xff\0\0\0")), E_RANGE),
])
def test_registration_refuses_bad_graphs(blob, err):
    p = start()
    assert register(p, 5, blob) == err


def test_cycles_through_several_nodes_are_refused():
    g = abi.Graph()
    a = g.add(OP_CRC32, input=b"x")
    b = g.add(OP_CRC32, after=[a])
    c = g.add(OP_CRC32, after=[b])
    g.nodes[a]["deps"] = [c]                      # a -> c -> b -> a
    assert workflow.py_validate(g.encode()) == E_CYCLE


def test_size_limits():
    g = abi.Graph()
    for i in range(300):
        g.add(OP_CRC32, input=b"x")
    assert workflow.py_validate(g.encode(), 299) == E_TOOBIG
    assert workflow.py_validate(g.encode(), 300) == 0
    assert workflow.py_validate(g.encode(), 300, 1000) == E_TOOBIG      # bytes over the limit


def test_lifecycle_errors():
    p = start()
    g = abi.Graph()
    g.add(OP_SLEEP, args=(50,))
    assert register(p, 0, g) == E_INVAL                  # 0 means "no workflow"
    assert register(p, 3, g) == 0
    assert register(p, 3, g) == E_EXIST
    assert p.call(OP_WF_RUN, workflow_id=4).status == E_NOENT
    p.push(OP_WF_RUN, workflow_id=3)
    p.submit()
    assert p.call(OP_WF_RUN, workflow_id=3, now=True).status == E_BUSY
    assert p.call(OP_WF_UNREGISTER, workflow_id=3, now=True).status == E_BUSY
    settle()
    p.results()
    assert p.call(OP_WF_UNREGISTER, workflow_id=3).status == 0
    assert p.call(OP_WF_UNREGISTER, workflow_id=3).status == E_NOENT


def test_register_and_run_in_one_submit_and_run_again():
    p = start()
    g = abi.Graph()
    g.add(OP_CRC32, input=b"123456789")
    p.push(OP_WF_REGISTER, workflow_id=8, payload=g.encode())
    run_id = p.push(OP_WF_RUN, workflow_id=8)
    assert p.submit() == 2
    out = p.results()
    assert [r.status for r in out] == [0, 0, 0] and out[1].value == 0xCBF43926
    assert out[2].flags & RF_WORKFLOW and out[2].event_id == run_id
    summary, nodes = run(p, 8)                              # and once more
    assert nodes[0].value == 0xCBF43926


# ---- runs ---------------------------------------------------------------------------------
TEXT = b"KWE fan-out/fan-in: " + b"a" * 24 + b" " + b"b" * 12 + b" 0123456789 " + b"c" * 30 + b"!"


def xor(data, key, n):
    k = key.to_bytes(8, "little")
    return bytes(c ^ k[i % n] for i, c in enumerate(data))


def test_fan_out_fan_in_outputs_match_python():
    p = start(with_space=True)                  # the graph is over 512 bytes: passed by pointer
    g = abi.Graph()
    outs = [p.buffer(bytes(512)) for _ in range(3)]
    split = g.add(OP_NOP, input=TEXT)
    rle = g.add(OP_RLE_ENCODE, input=split, out=(outs[0], 512))
    crc = g.add(OP_CRC32, input=split)
    x = g.add(OP_XOR, input=split, args=(0x5A3C, 2), out=(outs[1], 512))
    combine = g.add(OP_NOP, after=[rle, crc, x], input="parents", out=(outs[2], 512))
    final = g.add(OP_CRC32, input=combine)
    assert register(p, 1, g) == 0
    summary, nodes, times = traced_run(p, 1)
    for node, va in zip((rle, x, combine), outs):
        nodes[node].output = p.read(va, nodes[node].length)
    combined = abi.rle_encode(TEXT) + struct.pack("<I", zlib.crc32(TEXT)) + xor(TEXT, 0x5A3C, 2)
    assert nodes[rle].output == abi.rle_encode(TEXT)
    assert nodes[crc].value == zlib.crc32(TEXT)
    assert nodes[x].output == xor(TEXT, 0x5A3C, 2)
    assert nodes[combine].output == combined
    assert nodes[final].value == zlib.crc32(combined)
    assert summary.status == 0 and counts(summary) == (6, 0, 0)
    # rle, crc and x were in flight together: none waited for another
    assert max(times[i][0] for i in (rle, crc, x)) <= min(times[i][1] for i in (rle, crc, x))


def test_transient_failures_are_retried_with_backoff():
    p = start()
    g = abi.Graph()
    flaky = g.add(OP_FLAKY, args=(2,), retries=3, backoff_ms=100)     # 10 ticks, then 20
    after = g.add(OP_CRC32, after=[flaky], input=b"ok")
    assert register(p, 2, g) == 0
    p.push(OP_WF_RUN, workflow_id=2)
    p.submit()
    ticks = settle()
    assert ticks == 10 + 20                                             # exponential backoff
    out = {r.node: r for r in p.results() if r.flags & RF_NODE}
    assert out[flaky].attempts == 3 and out[flaky].status == 0
    assert out[after].value == zlib.crc32(b"ok")


def test_final_failure_cancels_exactly_the_descendants():
    p = start()
    g = abi.Graph()
    ok = g.add(OP_CRC32, input=b"x")
    bad = g.add(OP_RLE_DECODE, input=b"\x7f\x01")
    child = g.add(OP_CRC32, input=bad)
    grandchild = g.add(OP_CRC32, input=child)
    other = g.add(OP_DJB2, input=ok)
    hopeless = g.add(OP_FLAKY, args=(5,), retries=2)
    assert register(p, 3, g) == 0
    summary, nodes = run(p, 3)
    assert (summary.status, summary.node, summary.deck) == (E_BADDATA, bad, DECK_OPERATIONS)
    assert counts(summary) == (2, 2, 2)
    assert nodes[child].flags & RF_CANCELLED and nodes[grandchild].status == E_CANCELLED
    assert nodes[other].status == 0 and nodes[ok].status == 0
    assert (nodes[hopeless].status, nodes[hopeless].attempts) == (E_AGAIN, 3)


def test_large_graphs_by_pointer():
    p = start(event_ring=256, result_ring=1024, with_space=True)
    g = abi.Graph()
    prev = g.add(OP_CRC32, input=b"seed", emit=False)
    for i in range(999):                                  # a long chain
        prev = g.add(OP_CRC32, input=prev, emit=False)
    assert register(p, 4, g) == 0
    summary, nodes = run(p, 4)
    assert summary.status == 0 and counts(summary) == (1000, 0, 0) and nodes == {}


def test_runs_of_a_dead_process_are_dropped():
    p = start()
    g = abi.Graph()
    g.add(OP_SLEEP, args=(40,))
    register(p, 6, g)
    p.push(OP_WF_RUN, workflow_id=6)
    p.submit()
    guide.py_free_local(p.pid)
    settle()
    assert guide.py_in_flight() == 0


# ---- random DAGs --------------------------------------------------------------------------
@st.composite
def dags(draw):
    """Nodes with dependencies on earlier nodes (then shuffled); each either
    computes, sleeps, or fails transiently `fails` times with `retries`."""
    n = draw(st.integers(1, 24))
    deps = [sorted(set(draw(st.lists(st.integers(0, i - 1), max_size=3)))) if i else [] for i in range(n)]
    kinds = [draw(st.sampled_from(["crc", "sleep", "flaky"])) for _ in range(n)]
    fails = [draw(st.integers(0, 3)) for _ in range(n)]
    retries = [draw(st.integers(0, 2)) for _ in range(n)]
    perm = draw(st.permutations(range(n)))              # node order != dependency order
    return n, deps, kinds, fails, retries, perm


@settings(max_examples=60, deadline=None)
@given(dags())
def test_random_dags_run_each_node_once_after_its_dependencies(dag):
    n, deps, kinds, fails, retries, perm = dag
    where = {old: new for new, old in enumerate(perm)}
    g = abi.Graph()
    slots = [None] * n
    for new, old in enumerate(perm):
        slots[new] = old
    for new in range(n):
        old = slots[new]
        after = [where[d] for d in deps[old]]
        if kinds[old] == "crc":
            g.add(OP_CRC32, input=bytes([old]), after=after)
        elif kinds[old] == "sleep":
            g.add(OP_SLEEP, args=(10 * (old % 3),), after=after)
        else:
            g.add(OP_FLAKY, args=(fails[old],), retries=retries[old], backoff_ms=10, after=after)
    p = start(result_ring=64, with_space=True)
    assert register(p, 1, g) == 0
    summary, nodes, times = traced_run(p, 1)
    # the model: a node fails if it is flaky beyond its retries; a node with a
    # failed or cancelled dependency is cancelled, never run
    fate = {}
    for old in range(n):                                    # deps point backwards in `old`
        if any(fate[d] != "done" for d in deps[old]):
            fate[old] = "cancelled"
        elif kinds[old] == "flaky" and fails[old] > retries[old]:
            fate[old] = "failed"
        else:
            fate[old] = "done"
    assert sorted(nodes) == list(range(n))                  # every node reported exactly once
    for old in range(n):
        r = nodes[where[old]]
        want = fate[old]
        got = "cancelled" if r.flags & RF_CANCELLED else ("failed" if r.status else "done")
        assert got == want, (old, want, r)
        if want != "cancelled":
            for d in deps[old]:                               # ran after each dependency finished
                assert times[where[old]][0] >= times[where[d]][1]
    # a failure cancels exactly its descendants
    failed = {o for o in range(n) if fate[o] == "failed"}
    descendants, frontier = set(), set(failed)
    while frontier:
        frontier = {o for o in range(n) if set(deps[o]) & frontier} - descendants
        descendants |= frontier
    assert {o for o in range(n) if fate[o] == "cancelled"} == descendants - failed
    assert counts(summary) == (sum(f == "done" for f in fate.values()), len(failed),
                               sum(f == "cancelled" for f in fate.values()))


# ---- hostile graphs (issue 11 #1, #2) ------------------------------------------------
def shared_deps(graph):
    """graph.encode() with every node's dependency range moved onto one shared
    copy of the first range: the deps array is 1 entry, yet each node names it."""
    blob = bytearray(graph.encode())
    magic, nnodes, ndeps, data_len, _ = GRAPH_HEADER.unpack_from(blob)
    first = graph.nodes[1]["deps"]
    assert all(nd["deps"] == first for nd in graph.nodes[1:])
    deps_at = GRAPH_HEADER.size + nnodes * NODE.size
    tail = blob[deps_at + 2 * ndeps:]
    for i in range(1, nnodes):
        struct.pack_into("<H", blob, GRAPH_HEADER.size + i * NODE.size + 14, 0)
    GRAPH_HEADER.pack_into(blob, 0, magic, nnodes, len(first), data_len, 0)
    return bytes(blob[:deps_at]) + struct.pack(f"<{len(first)}H", *first) + tail


def test_nodes_sharing_one_dependency_entry_are_indexed_in_full():
    """Every node names deps[0]: the inverted index must hold one entry per
    naming, not per entry of the deps array (it overflowed the heap before)."""
    p = start(event_ring=256, result_ring=8192, with_space=True)
    g = abi.Graph()
    root = g.add(OP_CRC32, input=b"root")
    for i in range(4095):
        g.add(OP_DJB2, after=[root], emit=False)
    blob = shared_deps(g)
    assert workflow.py_validate(blob) == 0
    assert workflow.py_validate(blob, limit_edges=4094) == E_TOOBIG
    assert register(p, 9, blob) == 0
    summary, nodes = run(p, 9)
    assert summary.status == 0 and counts(summary) == (4096, 0, 0)
    assert heap.py_check() == 0 and heap.py_stats()["corruptions"] == 0


def test_a_long_chain_whose_first_node_fails_is_cancelled_without_recursion():
    p = start(event_ring=256, result_ring=8192, with_space=True)
    g = abi.Graph()
    prev = g.add(OP_RLE_DECODE, input=b"\x7f\x01")              # fails: E_BADDATA
    for i in range(4095):
        prev = g.add(OP_CRC32, input=prev)
    assert register(p, 10, g) == 0
    summary, nodes = run(p, 10)
    assert summary.status == E_BADDATA and counts(summary) == (0, 1, 4095)
    assert all(nodes[i].status == E_CANCELLED for i in range(1, 4096))
    assert heap.py_check() == 0


# ---- completions: room reserved for every emitting node (issue 11 #4) ----------------
def crc_fan(n, emit=True):
    g = abi.Graph()
    for i in range(n):
        g.add(OP_CRC32, input=bytes([i]), emit=emit)
    return g


def test_a_run_waits_in_the_event_ring_until_its_nodes_have_room():
    p = start(result_ring=16)
    assert register(p, 1, crc_fan(10)) == 0
    for _ in range(6):
        p.push(OP_SLEEP, args=(20,))
    assert p.submit() == 6                                  # 10 slots left: the run needs 11
    run_id = p.push(OP_WF_RUN, workflow_id=1)
    assert p.submit() == 0 and guide.py_reserved(p.pid)[0] == 6
    settle()
    assert len(p.results()) == 6
    assert p.submit() == 1
    settle()
    out = p.results()
    assert len(out) == 11 and all(r.event_id == run_id for r in out)
    assert out[-1].flags & RF_WORKFLOW and out[-1].counts == (10, 0, 0)
    assert guide.py_reserved(p.pid) == (0, 0)


def test_a_run_with_more_emitting_nodes_than_the_ring_has_slots_is_refused():
    p = start(result_ring=16)
    assert register(p, 1, crc_fan(16)) == 0                 # 16 nodes + the summary > 16
    r = p.call(OP_WF_RUN, workflow_id=1)
    assert (r.status, r.flags & RF_WORKFLOW) == (E_TOOBIG, 0)
    assert register(p, 2, crc_fan(100, emit=False)) == 0    # only the summary: fine
    assert p.call(OP_WF_RUN, workflow_id=2).counts == (100, 0, 0)


def test_a_run_registered_in_the_same_submit_reserves_at_start():
    p = start(result_ring=16)
    blob = crc_fan(5).encode()
    p.push(OP_WF_REGISTER, workflow_id=3, payload=blob)
    run_id = p.push(OP_WF_RUN, workflow_id=3)
    assert p.submit() == 2
    settle()
    out = p.results()
    assert [r.status for r in out].count(0) == 7             # register, 5 nodes, summary
    assert out[-1].event_id == run_id and out[-1].counts == (5, 0, 0)
    assert guide.py_reserved(p.pid) == (0, 0)


# ---- a node's argument from a dependency's value -----------------------------------------
def test_node_arg_value_takes_the_first_dependencys_value():
    """NODE_ARG_VALUE: what one node found (a file id, an fd; here a CRC)
    becomes the next one's arg[0], so a graph chains steps whose arguments
    are only known at run time."""
    p = start()
    data = b"the key comes from the first node"
    for flags, want in ((NODE_ARG_VALUE, zlib.crc32(data).to_bytes(4, "little") * 4), (0, bytes(16))):
        va = p.buffer(bytes(16))
        g = abi.Graph()
        crc = g.add(OP_CRC32, input=data)
        g.add(OP_XOR, after=[crc], input=bytes(16), args=(0, 4), flags=flags, out=(va, 16))
        assert register(p, 7, g) == E_OK
        summary, nodes = run(p, 7)
        assert summary.status == E_OK and nodes[1].length == 16
        assert p.read(va, 16) == want
        assert p.call(OP_WF_UNREGISTER, workflow_id=7).status == E_OK


def test_node_arg_value_without_a_dependency_is_refused():
    p = start()
    g = abi.Graph()
    g.add(OP_XOR, input=b"x", args=(0, 1), flags=NODE_ARG_VALUE)
    assert register(p, 8, g) == E_INVAL


def test_an_output_goes_once_every_node_that_reads_it_has_finished():
    """A pipeline holds what its unfinished nodes still need, not every
    output until the run ends: 256 KiB through a NOP to a CRC, then a node
    that waits -- while it waits, the 256 KiB are back in the heap."""
    p = start()
    big = bytes(range(256)) * 1024
    g = abi.Graph()
    a = g.add(OP_NOP, input=big, emit=False)
    crc = g.add(OP_CRC32, input=a, emit=False)
    g.add(OP_SLEEP, after=[crc], args=(1000,))
    assert register(p, 9, g) == E_OK
    before = heap.py_stats()["bytes_in_use"]
    p.push(OP_WF_RUN, workflow_id=9)
    p.submit()
    guide.py_run()                                          # the NOP and the CRC; the sleep waits
    assert guide.py_in_flight() == 1
    assert heap.py_stats()["bytes_in_use"] - before < 64 * 1024     # the NOP's 256 KiB output went with the CRC
    settle()
    assert [r.status for r in p.results()] == [E_OK, E_OK]
