"""TagFS on a fresh simulated machine, and a Python model to compare it with."""
from kwe import blockdev, tagfs_host as tfs
from memory import fresh

MiB = 1 << 20


def new_volume(blocks=4096, ram=64 * MiB, **kw):
    fresh(ram=ram)
    disk = blockdev.MemDisk(blocks)
    tfs.mkfs(disk, **kw)
    return disk, tfs.Volume(disk)


def snapshot(v):
    """{file id: (contents, sorted tags)}: everything a user can see."""
    return {f: (v.read(f), sorted(v.tags(f))) for f in v.files()}


def assert_clean(v):
    problems, details = v.fsck()
    assert problems == 0, details["log"]
    return details
