"""kmalloc/kfree over simulated RAM."""
from hypothesis import given, settings, strategies as st

from kwe.base import hal
from kwe.mm import heap, pmm
from memory import fresh

GUARD_MIN, GUARD_BYTE, FREE_BYTE = 16, 0xCC, 0x6B      # heap.pxd


def test_sizes_alignment_and_usable_size():
    fresh()
    for n in [1, 15, 16, 17, 100, 1000, 1024, 1025, 4000, 5000, 70000]:
        p = heap.py_malloc(n)
        assert p and p % 16 == 0
        assert heap.py_size(p) >= n
        heap.py_free(p)


def test_double_free_and_foreign_pointers_are_refused():
    fresh()
    hal.serial_clear()
    small, big = heap.py_malloc(40), heap.py_malloc(10000)
    heap.py_free(small)
    heap.py_free(small)                                 # double free (slab)
    heap.py_free(big)
    heap.py_free(big)                                   # double free (pages)
    heap.py_free(small + 8)                             # inside an object
    heap.py_free(12345)                                 # nowhere
    assert heap.py_stats()["bad_frees"] == 4
    assert b"double free" in hal.serial_output()


def test_realloc_keeps_contents():
    fresh()
    p = heap.py_malloc(20)
    heap.py_write(p, b"0123456789abcdefghij")
    p = heap.py_realloc(p, 3000)
    assert heap.py_read(p, 20) == b"0123456789abcdefghij"
    p = heap.py_realloc(p, 10)
    assert heap.py_read(p, 10) == b"0123456789"
    heap.py_free(p)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.integers(1, 2048), st.integers(2049, 40000), st.just(-1)), max_size=80))
def test_random_alloc_free_no_overlap_contents_kept_no_leak(ops):
    fresh()
    heap.py_trim()
    free0 = pmm.py_stats()["free_pages"]
    live = {}                                           # ptr -> (size, fill byte)
    for i, op in enumerate(ops):
        if op == -1 and live:
            p = sorted(live)[i % len(live)]
            n, fill = live.pop(p)
            assert heap.py_read(p, n) == bytes([fill]) * n, "object overwritten"
            heap.py_free(p)
            continue
        n = max(op, 1)
        p = heap.py_malloc(n)
        assert p
        for q, (m, _) in live.items():
            assert p + n <= q or q + m <= p, "overlap"
        heap.py_write(p, bytes([i & 0xFF]) * n)
        live[p] = (n, i & 0xFF)
    for p, (n, fill) in live.items():
        assert heap.py_read(p, n) == bytes([fill]) * n
        heap.py_free(p)
    heap.py_trim()
    assert heap.py_stats()["bytes_in_use"] == 0
    assert pmm.py_stats()["free_pages"] == free0, "pages leaked"


# ---- detectors: guard zones, free-slot poison, the walk ------------------------------
def corruptions():
    return heap.py_stats()["corruptions"]


def test_every_object_has_a_guard_zone_and_frees_are_poisoned():
    fresh()
    for n in [1, 15, 16, 17, 100, 1000, 1008, 1009, 4000, 4032, 70000]:
        p = heap.py_malloc(n)
        assert heap.py_size(p) == n
        assert heap.py_peek(p + n, GUARD_MIN) == bytes([GUARD_BYTE]) * GUARD_MIN, n
        heap.py_free(p)
    q = heap.py_malloc(40)
    heap.py_free(q)
    assert heap.py_peek(q, 40) == bytes([FREE_BYTE]) * 40
    assert heap.py_check() == 0 and corruptions() == 0


def test_a_write_past_the_end_is_reported_at_kfree():
    for n in [24, 3000]:                                # a slab slot, a large allocation
        fresh()
        hal.serial_clear()
        p = heap.py_malloc(n)
        heap.py_scribble(p + n, b"\x00")
        heap.py_free(p)
        assert corruptions() == 1, n
        assert b"written past its end" in hal.serial_output()


def test_a_write_after_free_is_reported_when_the_slot_is_reused():
    fresh()
    hal.serial_clear()
    p = heap.py_malloc(100)
    heap.py_free(p)
    heap.py_scribble(p + 50, b"\x01")
    assert heap.py_malloc(100) == p                     # the same slot comes back first
    assert corruptions() == 1
    assert b"written after it was freed" in hal.serial_output()


def test_the_walk_finds_damage_nobody_freed_yet():
    fresh()
    live = [heap.py_malloc(n) for n in (8, 200, 900, 5000)]
    dead = heap.py_malloc(64)
    heap.py_free(dead)
    assert heap.py_check() == 0
    heap.py_scribble(live[1] + 200 + 3, b"\x00")        # inside the guard, not its first byte
    heap.py_scribble(live[3] + 5000, b"\x00")
    heap.py_scribble(dead + 8, b"\x00")
    assert heap.py_check() == 3
    assert corruptions() == 3


def test_the_walk_sees_a_damaged_slab_header():
    fresh()
    p = heap.py_malloc(32)
    page = p & ~4095
    heap.py_scribble(page + 16, b"\x00\x00\x00\x00")     # Slab.magic
    assert heap.py_check() >= 1


@settings(max_examples=30, deadline=None)
@given(st.lists(st.one_of(st.integers(1, 5000), st.just(-1)), max_size=60))
def test_the_walk_agrees_with_the_counters(ops):
    fresh()
    live = []
    for i, op in enumerate(ops):
        if op == -1 and live:
            heap.py_free(live.pop(i % len(live)))
        elif op != -1:
            live.append(heap.py_malloc(op))
    assert heap.py_check() == 0 and corruptions() == 0
    s = heap.py_stats()
    assert s["objects_in_use"] == len(live)


def test_with_the_checks_switched_off_and_on_again_nothing_is_misreported():
    """The bench's A/B switch (kwe.base.checks): a slot freed while the checks
    are off is not poisoned and marked so; on again, reusing it or walking the
    heap reports nothing, and new frees are poisoned again."""
    from kwe.base import checks
    fresh()
    try:
        checks.py_set(False)
        p = heap.py_malloc(100)
        heap.py_write(p, b"x" * 100)
        heap.py_free(p)
        assert heap.py_peek(p, 8) == b"x" * 8                        # no fill while off
        checks.py_set(True)
        assert heap.py_check() == 0
        assert heap.py_malloc(100) == p and corruptions() == 0
        heap.py_free(p)
        assert heap.py_peek(p, 100) == bytes([FREE_BYTE]) * 100
        heap.py_scribble(p + 10, b"\x02")                            # and the detector works again
        heap.py_malloc(100)
        assert corruptions() == 1
    finally:
        checks.py_set(True, allow=False)
