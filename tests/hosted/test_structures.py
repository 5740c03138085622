"""Rings, the hash map and kmap: properties under random operations."""
import subprocess

from hypothesis import given, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from kwe.lib import hashmap
from kwe.mm import kmap, heap, pmm
from kwe.common import ring
from memory import fresh


# ---- SPSC rings ----------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.sampled_from([16, 32, 64]), st.lists(st.booleans(), max_size=400))
def test_ring_keeps_order_loses_nothing_duplicates_nothing(size, ops):
    """Any interleaving of producer (True) and consumer (False) steps."""
    r = ring.PyRing(size)
    sent, got, n = [], [], 0
    for produce in ops:
        if produce:
            item = n.to_bytes(8, "little")
            if r.push(item):
                sent.append(n)
                n += 1
            else:
                assert len(sent) - len(got) == size          # refused only when full
        else:
            item = r.pop()
            if item is None:
                assert len(sent) == len(got)                 # empty only when all consumed
            else:
                got.append(int.from_bytes(item, "little"))
        assert r.pending() == len(sent) - len(got) <= size
    while (item := r.pop()) is not None:
        got.append(int.from_bytes(item, "little"))
    assert got == sent


def test_ring_sizes_and_a_hostile_head():
    for bad in (0, 8, 15, 48, 65536):
        try:
            ring.PyRing(bad)
            assert False, bad
        except ValueError:
            pass
    r = ring.PyRing(16)
    r.push(b"a" * 8)
    r.poke_head(0xFFFF0000)                                 # nonsense from the producer's side
    assert r.corrupt() and r.pop() is None and r.pending() == 0


def test_free_running_indexes_wrap_around():
    r = ring.PyRing(16)
    r.poke_head(0xFFFFFFF0)
    # make the consumer start at the same place: a fresh ring over the same memory is simplest
    r2 = ring.PyRing(16)
    for i in range(100000):
        assert r2.push(i.to_bytes(8, "little"))
        assert int.from_bytes(r2.pop(), "little") == i


# ---- the hash map ----------------------------------------------------------------------
class MapModel(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        fresh()
        self.m = hashmap.PyHashMap(8)
        self.model = {}

    @rule(k=st.integers(0, 2**64 - 1) | st.integers(0, 50), v=st.integers(1, 2**63))
    def put(self, k, v):
        assert self.m.put(k, v)
        self.model[k] = v

    @rule(k=st.integers(0, 50))
    def remove(self, k):
        assert self.m.remove(k) == self.model.pop(k, None)

    @rule(k=st.integers(0, 60))
    def get(self, k):
        assert self.m.get(k) == self.model.get(k)

    @invariant()
    def same(self):
        assert len(self.m) == len(self.model)
        assert sorted(self.m.items()) == sorted(self.model.items())
        assert len(self.m) * 4 <= self.m.buckets() * 3

    def teardown(self):
        del self.m                  # free it on this machine, before the next one is made


TestMapModel = MapModel.TestCase
TestMapModel.settings = settings(max_examples=30, stateful_step_count=60, deadline=None)


def test_hash_map_grows_and_shrinks_back():
    fresh()
    heap.py_trim()
    free0 = pmm.py_stats()["free_pages"]
    m = hashmap.PyHashMap(8)
    for k in range(20000):
        m.put(k, k + 1)
    assert m.buckets() >= 20000 * 4 // 3 and m.get(12345) == 12346
    for k in range(20000):
        assert m.remove(k) == k + 1
    assert m.buckets() == 8 and len(m) == 0
    del m
    heap.py_trim()
    assert pmm.py_stats()["free_pages"] == free0


# ---- kmap ---------------------------------------------------------------------------------
@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1, 20)), max_size=60))
def test_kmap_ranges_never_overlap_and_all_come_back(ops):
    fresh()
    kmap.py_reset()
    live = {}
    for take, n in ops:
        if take or not live:
            va = kmap.py_reserve(n)
            assert va and va % 4096 == 0
            for other, m in live.items():
                assert va + n * 4096 <= other or other + m * 4096 <= va
            live[va] = n
        else:
            va = sorted(live)[n % len(live)]
            kmap.py_release(va, live.pop(va))
    for va, n in live.items():
        kmap.py_release(va, n)
    assert kmap.py_state() == (0, [])                      # everything merged back
