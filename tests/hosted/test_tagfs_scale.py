"""TagFS at scale: 100,000 files and 1,000 tags in one image, queries
answered from the index and checked against Python sets."""
import random

from fsutil import assert_clean, new_volume
from kwe.dev import blockdev
from kwe.fs import tagfs_host as tfs

N_FILES, N_TAGS = 100_000, 1000


def test_hundred_thousand_files_thousand_tags():
    disk, v = new_volume(blocks=1 << 16, ram=512 << 20)
    rng = random.Random(2026)
    has = {}                                        # tag -> set of file ids
    for _ in range(N_FILES):
        tags = {f"t{rng.randrange(N_TAGS)}" for _ in range(rng.randint(1, 4))}
        f = v.create(" ".join(sorted(tags)))
        for t in tags:
            has.setdefault(t, set()).add(f)
    v.sync()
    info = v.info()
    assert info["files"] == N_FILES and info["tags"] == len(has) == N_TAGS
    every = set(range(1, N_FILES + 1))
    checks = {
        "t1": has["t1"],
        "t1 AND t2": has["t1"] & has["t2"],
        "t3 OR t4 OR t5": has["t3"] | has["t4"] | has["t5"],
        "t6 AND NOT t7": has["t6"] - has["t7"],
        "(t8 OR t9) AND NOT (t10 OR t11)": (has["t8"] | has["t9"]) - has["t10"] - has["t11"],
        "NOT t12": every - has["t12"],
        "t13 t14": has["t13"] & has["t14"],
    }
    for q, want in checks.items():
        assert v.query(q) == sorted(want), q
    assert v.query("no-such-tag") == []
    # and all of it persists
    v.unmount()
    v = tfs.Volume(blockdev.MemDisk(image=disk.image()))
    assert v.query("t1 AND t2") == sorted(has["t1"] & has["t2"])
    details = assert_clean(v)
    assert details["files"] == N_FILES and details["tags"] == N_TAGS
