"""kmalloc/kfree over simulated RAM."""
from hypothesis import given, settings, strategies as st

from kwe.base import hal
from kwe.mm import heap, pmm
from memory import fresh


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
