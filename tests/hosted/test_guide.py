"""The Guide: validation, routes, pointers, ResultRing room, bad rings."""
import zlib

import pytest

from engine import Local, settle, start
from kwe.events import guide
from kwe.mm import heap
from kwecli import abi
from kwecli.abi import *          # noqa: F403


@pytest.mark.parametrize("kw,status", [
    (dict(opcode=0x7777), E_BADOP),
    (dict(opcode=OP_CRC32, route=[]), E_BADROUTE),
    (dict(opcode=OP_CRC32, route=[1, 2]), E_BADROUTE),            # not ending in Execution
    (dict(opcode=OP_CRC32, route=[0, 1, 0]), E_BADROUTE),         # Execution in the middle
    (dict(opcode=OP_CRC32, route=[9, 0]), E_BADROUTE),            # no such deck
    (dict(opcode=OP_CRC32, route=[2, 0]), E_BADROUTE),            # never reaches Operations
    (dict(opcode=OP_CRC32, route_len=9), E_BADROUTE),
    (dict(opcode=OP_CRC32, payload_len=513), E_RANGE),
])
def test_malformed_events_get_error_results(kw, status):
    p = start()
    opcode = kw.pop("opcode")
    r = p.call(opcode, **kw)
    assert (r.status, r.deck, r.event_id) == (status, DECK_EXECUTION, p.next_id)
    assert guide.py_in_flight() == 0


def test_a_long_route_visits_every_deck_and_keeps_the_answer():
    p = start()
    r = p.call(OP_CRC32, payload=b"123456789", route=[3, 2, 4, 1, 0])
    assert (r.status, r.value) == (0, 0xCBF43926)


def test_results_keep_submission_order_and_ids():
    p = start()
    ids = [p.push(OP_CRC32, payload=bytes([i])) for i in range(50)]
    assert p.submit() == 50
    out = p.results()
    assert [r.event_id for r in out] == ids
    assert [r.value for r in out] == [zlib.crc32(bytes([i])) for i in range(50)]


def test_no_result_flag_and_timestamps():
    p = start()
    p.push(OP_CRC32, payload=b"x", flags=EVF_NO_RESULT)
    p.push(OP_CRC32, payload=b"y")
    p.submit()
    (r,) = p.results()
    assert r.value == zlib.crc32(b"y") and r.length == 4
    assert p.call(0x7777, flags=EVF_NO_RESULT).status == E_BADOP    # errors are always reported


def test_user_pointers_in_and_out():
    p = start(with_space=True)
    data = bytes(range(256)) * 40
    va = p.buffer(data)
    r = p.call(OP_CRC32, input_ptr=(va, len(data)))
    assert r.value == zlib.crc32(data)
    out = p.buffer(bytes(64))
    r = p.call(OP_XOR, payload=b"abcdef", flags=EVF_OUTPUT_PTR, args=(0x20, 1, out, 64))
    assert p.read(out, 6) == bytes(c ^ 0x20 for c in b"abcdef") and not r.flags & RF_TRUNCATED
    r = p.call(OP_XOR, payload=b"abcdef", flags=EVF_OUTPUT_PTR, args=(0x20, 1, out, 4))
    assert r.flags & RF_TRUNCATED and r.status == 0
    for bad in (0xFFFFFFFF80100000, 0x500000000000, out + 8192):         # kernel, nothing, the gap
        assert p.call(OP_CRC32, input_ptr=(bad, 16)).status == E_FAULT
    assert p.call(OP_TICKS, flags=EVF_OUTPUT_PTR, args=(0, 0, 0xFFFF800000000000, 8)).status == E_FAULT
    assert p.call(OP_CRC32, input_ptr=(va, 1 << 40)).status == E_RANGE


def test_events_wait_in_the_event_ring_until_the_result_ring_has_room():
    """Issue 11 #4: the kernel takes only what it can answer; nothing is held
    in kernel memory for a process that does not read, nothing is lost."""
    p = start(event_ring=128, result_ring=16)
    ids = [p.push(OP_CRC32, payload=i.to_bytes(4, "little")) for i in range(100)]
    assert p.submit() == 16                     # room for 16 completions
    used = heap.py_stats()["bytes_in_use"]
    for _ in range(3):
        assert p.submit() == 0                  # none read: none taken, nothing held
    assert guide.py_in_flight() == 0 and heap.py_stats()["bytes_in_use"] == used
    got = []
    while len(got) < 100:
        batch = p.results()
        assert len(batch) == 16 or len(got) + len(batch) == 100
        got += batch
        p.submit()
    assert [r.event_id for r in got] == ids                            # all, once, in order
    assert [r.value for r in got] == [zlib.crc32(i.to_bytes(4, "little")) for i in range(100)]
    assert guide.py_reserved(p.pid) == (0, 0)


def test_room_is_reserved_when_an_event_is_taken():
    p = start(result_ring=16)
    for _ in range(10):
        p.push(OP_SLEEP, args=(20,))
    assert p.submit() == 10 and guide.py_reserved(p.pid) == (10, 10)
    for _ in range(10):
        p.push(OP_CRC32, payload=b"x")
    assert p.submit() == 6                      # 16 - 10 promised
    assert len(p.results()) == 6 and guide.py_reserved(p.pid) == (10, 10)
    settle()
    assert p.submit() == 4 and len(p.results()) == 14
    assert guide.py_reserved(p.pid) == (0, 0)


def test_a_lying_result_tail_costs_the_liar_only():
    """A tail from the future makes the ring look full: the kernel takes no
    more events; promised completions still land (over what the process
    claimed it read), with RING_CORRUPT set, and nothing is allocated."""
    p = start(result_ring=16)
    for _ in range(4):
        p.push(OP_SLEEP, args=(10,))
    assert p.submit() == 4
    guide.py_poke_result_tail(p.pid, 0xFFFFFFF0)              # 16 behind head: "full of unread"
    p.push(OP_CRC32, payload=b"x")
    assert p.submit() == 0
    used = heap.py_stats()["bytes_in_use"]
    settle()
    assert guide.py_ring_flags(p.pid) & RING_CORRUPT
    assert guide.py_reserved(p.pid) == (0, 0) and heap.py_stats()["bytes_in_use"] <= used
    assert guide.py_in_flight() == 0


def test_small_events_are_reused_and_given_back_when_the_process_ends():
    """A released event with <= 64 payload bytes stays with its owner for
    the next one: after the first batch, no heap growth; a bigger one is
    freed; dropping the process frees the spares."""
    p = start()
    before = heap.py_stats()["bytes_in_use"]
    for i in range(20):
        p.push(OP_CRC32, payload=bytes([i]) * 64)
    assert p.submit() == 20 and len(p.results()) == 20
    assert guide.py_spares(p.pid) == 20
    grown = heap.py_stats()["bytes_in_use"]
    for i in range(200):
        assert p.call(OP_CRC32, payload=bytes([i])).value == zlib.crc32(bytes([i]))
    assert heap.py_stats()["bytes_in_use"] == grown and guide.py_spares(p.pid) == 20
    assert p.call(OP_CRC32, payload=b"y" * 65).value == zlib.crc32(b"y" * 65)
    assert guide.py_spares(p.pid) == 20                     # the big one went back to the heap
    guide.py_drop_process(p.pid)
    assert heap.py_stats()["bytes_in_use"] == before and guide.py_spares(p.pid) == 0


def test_a_full_event_ring_refuses_more_until_submitted():
    p = start(event_ring=16)
    for i in range(16):
        p.push(OP_CRC32, payload=b"x")
    with pytest.raises(AssertionError, match="EventRing full"):
        p.push(OP_CRC32, payload=b"x")
    assert p.submit() == 16
    p.push(OP_CRC32, payload=b"x")                          # room again


def test_a_corrupt_event_ring_is_reported_and_recovered():
    p = start()
    p.push(OP_CRC32, payload=b"a")
    guide.py_poke_event_ring(p.pid, 0xDEAD0000)             # head far beyond tail + size
    assert p.submit() == E_CORRUPT
    assert guide.py_ring_flags(p.pid, result_ring=False) & RING_CORRUPT
    assert p.call(OP_CRC32, payload=b"b").value == zlib.crc32(b"b")   # and it works again


def test_the_routing_table_grows_with_no_fixed_cap():
    p = start(event_ring=4096, result_ring=4096)
    for i in range(3000):
        p.push(OP_SLEEP, args=(10,))
    assert p.submit() == 3000
    assert guide.py_in_flight() == 3000
    settle()
    assert len(p.results()) == 3000 and guide.py_in_flight() == 0


def test_results_of_a_dead_process_are_dropped():
    p = start()
    p.push(OP_SLEEP, args=(30,))
    p.submit()
    guide.py_free_local(p.pid)
    settle()
    assert guide.py_in_flight() == 0


def test_a_process_that_ends_takes_its_timers_and_queued_events_along():
    """Nothing of a dead process stays pinned until its sleeps end (issue 11 #3),
    and the other process's events, timers and queue order are untouched."""
    a = start()
    b = Local()
    for ms in (50, 10, 30):
        a.push(OP_SLEEP, args=(ms,))
        b.push(OP_SLEEP, args=(ms + 5,))
    a.submit()
    b.submit()
    a.push(OP_CRC32, payload=b"queued")
    b.push(OP_CRC32, payload=b"queued")
    a.push(OP_DJB2, payload=b"queued")
    assert guide.py_take(a.pid) == 2 and guide.py_take(b.pid) == 1
    assert guide.py_in_flight() == 9
    assert guide.py_drop_process(a.pid) == 5
    assert guide.py_in_flight() == 4
    b.push(OP_CRC32, payload=b"after")                 # the queue's tail is still sound
    b.submit()
    settle()
    out = b.results()
    assert len(out) == 5 and all(r.status == 0 for r in out)
    assert a.results() == []
