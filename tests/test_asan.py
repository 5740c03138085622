"""The hosted sanitizer build (build-asan/, kwecli.asan) catches what the
simulated RAM's allocators poison: each check runs a small Python under ASan
and UBSan in a subprocess and expects a report, or a clean run.

Only the modules these checks import are built here (a cold build of all of
build-asan takes minutes); `tools/kwe test --asan` builds and runs the rest."""
import textwrap

import pytest

from kwecli import asan

# What the snippets and the clean-run test files import.
MODULES = ["kwe.base.hal", "kwe.base.sanitize", "kwe.mm.pmm", "kwe.mm.account", "kwe.mm.heap", "kwe.mm.vmm",
           "kwe.arch.traps", "kwe.dev.blockdev", "kwe.fs.bcache", "kwe.fs.tagfs_host"]
CLEAN_FILES = ["tests/hosted/test_pmm.py", "tests/hosted/test_tagfs.py"]

PRELUDE = """\
from kwecli.hosted import fresh
from kwe.base import hal, sanitize
from kwe.mm import pmm
PAGE = 4096
assert sanitize.py_enabled(), "not the sanitizer build"
"""


@pytest.fixture(scope="module", autouse=True)
def built():
    assert asan.build(only=MODULES, quiet=True), "build-asan failed"


def run(code):
    """Run PRELUDE + code under the sanitizers; it prints "reached" just
    before the access that must be reported."""
    return asan.python(["-c", PRELUDE + textwrap.dedent(code)], capture_output=True, text=True,
                       timeout=120)


def assert_reported(r, what="use-after-poison"):
    assert r.returncode != 0, r.stdout + r.stderr
    assert "reached" in r.stdout, r.stderr                  # not a failure before the access
    assert f"ERROR: AddressSanitizer: {what}" in r.stderr, r.stderr


def test_exactly_the_free_pages_are_poisoned():
    r = run("""
        from kwecli.hosted import KERNEL, e820
        fresh(with_vmm=False)
        pa = pmm.py_alloc(3)
        poisoned = [p * PAGE for p in range(hal.ram_bytes() // PAGE) if sanitize.py_phys_poisoned(p * PAGE)]
        assert len(poisoned) == pmm.py_stats()["free_pages"]
        assert not any(pmm.py_is_allocated(a) for a in poisoned)
        # what the PMM keeps back stays usable: low memory, the kernel and the
        # bitmaps just above it, what E820 does not call usable
        kept = [range(0, KERNEL[1] + PAGE)] + [range(b, b + n) for b, n, kind in e820(hal.ram_bytes()) if kind != 1]
        assert not any(a in r for a in poisoned for r in kept)
        assert pmm.py_free(pa, 3) == 0 and sanitize.py_phys_poisoned(pa + PAGE)
        print("ok")
    """)
    assert r.returncode == 0 and "ok" in r.stdout, r.stdout + r.stderr


def test_a_write_past_an_allocated_page_into_a_free_one_is_reported():
    r = run("""
        fresh(with_vmm=False)
        pa = pmm.py_alloc()
        assert not pmm.py_is_allocated(pa + PAGE)
        hal.write_phys(pa + PAGE - 1, b"x")           # the page's last byte: fine
        print("reached", flush=True)
        hal.write_phys(pa + PAGE, b"x")               # one past it
    """)
    assert_reported(r)
    assert "WRITE of size 1" in r.stderr


@pytest.mark.parametrize("n", [40, 3000])              # a slab slot, a large allocation
def test_a_write_into_a_heap_objects_guard_zone_is_reported(n):
    r = run(f"""
        from kwe.mm import heap
        fresh()
        p = heap.py_malloc({n})
        heap.py_write(p + {n} - 1, b"x")              # its last byte: fine
        print("reached", flush=True)
        heap.py_write(p + {n}, b"x")                  # one past it: the guard zone
    """)
    assert_reported(r)
    assert "WRITE of size 1" in r.stderr


def test_a_read_of_a_freed_heap_object_is_reported():
    r = run("""
        from kwe.mm import heap
        fresh()
        p = heap.py_malloc(100)
        heap.py_read(p, 100)
        heap.py_free(p)
        print("reached", flush=True)
        heap.py_read(p, 16)                          # (1 byte would be a cached bytes object)
    """)
    assert_reported(r)


def test_a_read_of_a_freed_page_is_reported():
    r = run("""
        fresh(with_vmm=False)
        pa = pmm.py_alloc()
        hal.read_phys(pa, 8)
        assert pmm.py_free(pa) == 0
        print("reached", flush=True)
        hal.read_phys(pa, 8)
    """)
    assert_reported(r)


def test_a_block_pointer_kept_past_eviction_is_reported():
    r = run("""
        from kwe.dev import blockdev
        from kwe.fs import bcache
        from kwe.mm import heap
        fresh()
        disk = blockdev.MemDisk(8)
        c = bcache.BlockCache(disk)
        p = c.get(3)
        heap.py_read(p, 16)                           # cached: fine
        c.drop_clean()                                # evicted: its page back to the PMM
        print("reached", flush=True)
        heap.py_read(p, 16)
    """)
    assert_reported(r)


def test_rollback_still_works_with_the_undo_copy_poisoned():
    r = run("""
        from kwe.dev import blockdev
        from kwe.fs import bcache
        from kwe.mm import heap
        fresh()
        disk = blockdev.MemDisk(8)
        c = bcache.BlockCache(disk)
        c.get(2)
        c.begin_op()
        live = c.modify(2)
        heap.py_write(live, b"new")
        c.end_op(False)                               # rolled back from the copy
        assert heap.py_read(c.get(2), 3) == bytes(3)
        c.begin_op()
        c.modify(2)
        c.end_op(True)
        c.close()
        print("ok")
    """)
    assert r.returncode == 0 and "ok" in r.stdout, r.stdout + r.stderr


def test_a_volume_dying_in_a_reference_cycle_unmounts_before_its_disk_is_freed():
    # Found by this build: the collector cleared Volume.disk, the MemDisk was
    # freed, then Volume.__dealloc__ synced through its BlockDev (use after free).
    r = run("""
        import gc
        from kwecli.hosted import new_volume
        from kwe.fs import tagfs_host as tfs
        def cycle():
            disk, v = new_volume()
            v.write(v.create("a=1"), b"dirty" * 1000)     # unmount will write
            try:
                v.delete(12345)
            except tfs.FSError as e:
                err = e                                    # err -> traceback -> this frame -> err
        for _ in range(5):
            cycle()
            gc.collect()
        print("ok")
    """)
    assert r.returncode == 0 and "ok" in r.stdout, r.stdout + r.stderr


def test_hosted_tests_run_clean_under_the_sanitizers():
    r = asan.python(["-m", "pytest", "-q", "-p", "no:cacheprovider", "--capture=sys", *CLEAN_FILES],
                    capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-8000:]
    assert "AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr
