"""Page tables over simulated RAM: a model-checked map/unmap/translate."""
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from kwe.base import hal
from kwe.mm import pmm, vmm
from memory import fresh

W, U, X, OWNED = 1, 2, 4, 8          # vmm.pxd MAP_WRITE, MAP_USER, MAP_EXEC, MAP_OWNED
PAGE = 4096
# addresses that land in different PT/PD/PDPT/PML4 slots
VAS = [0x1000, 0x2000, 0x1FF000, 0x200000, 0x3FE00000, 0x40000000, 0x8000000000,
       0x7FFFFFFFF000, 0x7FFFFFFFE000, 0x123456789000]


def test_map_translate_unmap_roundtrip():
    fresh()
    s = vmm.py_create()
    pa = pmm.py_alloc()
    assert vmm.py_map(s, 0x400000, pa, W | U) == 0
    assert vmm.py_translate(s, 0x400123) == (pa + 0x123, W | U)
    assert vmm.py_map(s, 0x400000, pa, W | U) == -2           # already mapped
    assert vmm.py_unmap(s, 0x400000) == (0, pa)
    assert vmm.py_translate(s, 0x400000) is None
    assert vmm.py_unmap(s, 0x400000)[0] == -3                 # not mapped
    assert pmm.py_is_allocated(pa)                            # not MAP_OWNED: still ours
    vmm.py_destroy(s)


def test_bad_addresses_are_refused():
    fresh()
    s = vmm.py_create()
    pa = pmm.py_alloc()
    assert vmm.py_map(s, 0x400001, pa, W) == -4               # unaligned va
    assert vmm.py_map(s, 0x400000, pa + 1, W) == -4           # unaligned pa
    assert vmm.py_map(s, 0x0000800000000000, pa, W) == -4     # non-canonical
    assert vmm.py_map(s, 0xFFFF800000000000, pa, W | U) == -4 # user page in the kernel half
    vmm.py_destroy(s)


def test_user_range_checks():
    fresh()
    s = vmm.py_create()
    assert vmm.py_map_new(s, 0x10000, 2, U | W) == 0
    assert vmm.py_map_new(s, 0x20000, 1, U) == 0              # read-only
    assert vmm.py_user_range_ok(s, 0x10000, 2 * PAGE, True)
    assert vmm.py_user_range_ok(s, 0x10FFF, 2, True)          # straddles two pages
    assert not vmm.py_user_range_ok(s, 0x10000, 2 * PAGE + 1, False)
    assert vmm.py_user_range_ok(s, 0x20000, 10, False)
    assert not vmm.py_user_range_ok(s, 0x20000, 10, True)     # not writable
    assert not vmm.py_user_range_ok(s, 0xFFFF800000000000, 8, False)
    assert not vmm.py_user_range_ok(s, 0x7FFFFFFFFFF8, 16, False)   # runs past the top
    assert not vmm.py_user_range_ok(s, 2**64 - 8, 16, False)  # wraps
    vmm.py_destroy(s)


def test_spaces_are_isolated_and_share_the_kernel_half():
    fresh()
    a, b = vmm.py_create(), vmm.py_create()
    assert vmm.py_map_new(a, 0x400000, 1, U | W) == 0
    assert vmm.py_translate(b, 0x400000) is None
    kpa = pmm.py_alloc()
    assert vmm.py_map(0, 0xFFFFC00000005000, kpa, W) == 0     # into the kernel space
    assert vmm.py_translate(a, 0xFFFFC00000005000) == (kpa, W)
    assert vmm.py_translate(b, 0xFFFFC00000005000) == (kpa, W)
    vmm.py_destroy(a)
    vmm.py_destroy(b)


def test_destroy_returns_every_page_table_page():
    free0 = fresh()
    from kwe.mm import heap
    heap.py_trim()
    free0 = pmm.py_stats()["free_pages"]
    s = vmm.py_create()
    for va in VAS:
        assert vmm.py_map_new(s, va, 1, U | W) == 0
    tables, pages = vmm.py_counts(s)
    assert pages == len(VAS) and tables > 3
    vmm.py_destroy(s)
    heap.py_trim()
    assert pmm.py_stats()["free_pages"] == free0


class PageTables(RuleBasedStateMachine):
    """Random map/unmap against a dict model; translate() must always agree."""

    def __init__(self):
        super().__init__()
        fresh()
        from kwe.mm import heap
        heap.py_trim()
        self.free0 = pmm.py_stats()["free_pages"]
        self.space = vmm.py_create()
        self.model = {}                                 # va -> (pa, flags)

    @rule(va=st.sampled_from(VAS), flags=st.sampled_from([U, U | W, U | X, U | W | X, W]),
          owned=st.booleans())
    def map(self, va, flags, owned):
        pa = pmm.py_alloc()
        err = vmm.py_map(self.space, va, pa, flags | (OWNED if owned else 0))
        if va in self.model:
            assert err == -2
            pmm.py_free(pa)
        else:
            assert err == 0
            self.model[va] = (pa, flags | (OWNED if owned else 0))

    @rule(va=st.sampled_from(VAS))
    def unmap(self, va):
        err, pa = vmm.py_unmap(self.space, va)
        if va not in self.model:
            assert err == -3
            return
        want_pa, flags = self.model.pop(va)
        assert (err, pa) == (0, want_pa)
        assert pmm.py_is_allocated(pa) == (not flags & OWNED)
        if not flags & OWNED:
            pmm.py_free(pa)

    @invariant()
    def translate_agrees(self):
        for va in VAS:
            got = vmm.py_translate(self.space, va + 0x10)
            want = self.model.get(va)
            assert got == (None if want is None else (want[0] + 0x10, want[1]))

    def teardown(self):
        for va, (pa, flags) in self.model.items():
            if not flags & OWNED:
                pmm.py_free(pa)
        vmm.py_destroy(self.space)
        from kwe.mm import heap
        heap.py_trim()
        assert pmm.py_stats()["free_pages"] == self.free0, "pages leaked"


TestPageTables = PageTables.TestCase
TestPageTables.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
