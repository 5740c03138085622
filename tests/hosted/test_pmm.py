"""The physical page allocator over a simulated E820 map."""
from hypothesis import given, settings, strategies as st

from kwe.base import hal
from kwe.mm import pmm
from memory import E820, KERNEL, MiB, fresh

PAGE = 4096


def usable_pages():
    pages = set()
    for base, length, kind in E820:
        if kind == 1:
            pages |= set(range((base + PAGE - 1) // PAGE, (base + length) // PAGE))
    return pages


def test_only_usable_memory_above_1mib_outside_the_kernel_is_handed_out():
    free0 = fresh(with_vmm=False)
    got = []
    while (pa := pmm.py_alloc()) != 0:
        got.append(pa)
    assert len(got) == free0 and len(set(got)) == len(got)
    pages = {pa // PAGE for pa in got}
    assert pages <= usable_pages()
    assert all(pa >= MiB for pa in got)
    assert not any(KERNEL[0] <= pa < KERNEL[1] for pa in got)
    assert not any(8 * MiB <= pa < 9 * MiB for pa in got)          # the reserved hole
    s = pmm.py_stats()
    assert s["free_pages"] == 0 and s["total_pages"] == len(usable_pages())
    # every usable page is either handed out or kept back (low memory, kernel, bitmaps)
    assert s["total_pages"] == len(got) + s["reserved_pages"]


def test_double_free_and_foreign_frees_are_refused_and_counted():
    fresh(with_vmm=False)
    hal.serial_clear()
    a = pmm.py_alloc()
    assert pmm.py_free(a) == 0
    assert pmm.py_free(a) == -1                       # double free
    assert pmm.py_free(0x1000) == -2                  # low memory: never owned
    assert pmm.py_free(KERNEL[0]) == -2               # the kernel image
    assert pmm.py_free(8 * MiB) == -2                 # E820 hole
    assert pmm.py_free(64 * MiB) == -2                # beyond RAM
    assert pmm.py_free(a + 1) == -3                   # unaligned
    s = pmm.py_stats()
    assert s["double_frees"] == 1 and s["bad_frees"] == 5
    assert b"double free of page" in hal.serial_output()


def test_contiguous_allocation_is_contiguous_and_fails_cleanly():
    free0 = fresh(with_vmm=False)
    pa = pmm.py_alloc(300)
    assert pa and all(pmm.py_is_allocated(pa + i * PAGE) for i in range(300))
    assert pmm.py_alloc(free0) == 0                   # more than is left
    assert pmm.py_free(pa, 300) == 0
    assert pmm.py_stats()["free_pages"] == free0


def test_a_bad_page_in_a_range_free_changes_nothing():
    free0 = fresh(with_vmm=False)
    pa = pmm.py_alloc(4)
    assert pmm.py_free(pa + 2 * PAGE) == 0
    assert pmm.py_free(pa, 4) == -1                   # page 2 already free: refuse all
    assert pmm.py_is_allocated(pa) and pmm.py_is_allocated(pa + 3 * PAGE)
    assert pmm.py_stats()["free_pages"] == free0 - 3


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 40)), max_size=60))
def test_random_alloc_free_never_overlaps_and_leaks_nothing(ops):
    free0 = fresh(with_vmm=False)
    live = {}                                         # start page -> count
    owned = set()
    for alloc, n in ops:
        if alloc or not live:
            pa = pmm.py_alloc(n)
            if pa == 0:
                continue
            pages = {pa // PAGE + i for i in range(n)}
            assert not (pages & owned), "handed out twice"
            owned |= pages
            live[pa] = n
        else:
            pa = sorted(live)[n % len(live)]
            assert pmm.py_free(pa, live[pa]) == 0
            owned -= {pa // PAGE + i for i in range(live.pop(pa))}
        assert pmm.py_stats()["free_pages"] == free0 - len(owned)
    for pa, n in live.items():
        assert pmm.py_free(pa, n) == 0
    assert pmm.py_stats()["free_pages"] == free0
