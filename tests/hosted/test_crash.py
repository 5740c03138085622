"""Crash consistency, hosted: record every block write of a workload, then
crash after each one (and in the middle of each multi-sector write) and
check the filesystem a remount finds.

After a crash the disk must mount (the journal replayed), fsck clean, and
hold exactly the state of the last sync that had returned -- or of the one
in flight, if its commit block reached the disk first.  Nothing a sync
reported committed may be missing."""
import random

import pytest

from fsutil import assert_clean, new_volume, snapshot
from kwe.dev import blockdev
from kwe.fs import tagfs_host as tfs

BLOCK, SECTOR = 4096, 512


def workload(v):
    """Small transactions, each ended by a sync; yields after each sync."""
    rng = random.Random(7)
    files = []
    for step in range(12):
        kind = step % 4
        if kind == 0 or not files:
            f = v.create(f"gen={step} kind=new")
            v.write(f, bytes([step]) * rng.randint(1, 9000))
            files.append(f)
        elif kind == 1:
            f = rng.choice(files)
            v.write(f, b"overwritten %d" % step * 100, offset=rng.randint(0, 5000))
            v.tag(f, f"touched={step}")
        elif kind == 2:
            f = rng.choice(files)
            v.truncate(f, rng.randint(0, 3000))
        else:
            f = files.pop(rng.randrange(len(files)))
            v.delete(f)
        v.sync()
        yield


def record():
    """Run the workload; returns (initial image, write log, snapshots, log length at each sync)."""
    disk, v = new_volume(blocks=1024, journal_blocks=128)
    keep = v.create("survivor")
    v.write(keep, b"present before the workload")
    v.sync()
    states, marks = [snapshot(v)], [0]
    initial = disk.image()
    disk.record(True)
    for _ in workload(v):
        states.append(snapshot(v))
        marks.append(len(disk.log()))
    return initial, disk.log(), states, marks


def crash_image(initial, log, upto, torn_sectors=None):
    """The disk after the first `upto` log entries; torn_sectors: the next
    block write also landed, but only its first sectors."""
    image = bytearray(initial)
    entries = log[:upto]
    if torn_sectors is not None:
        block, data = log[upto]
        entries = entries + [(block, data[:torn_sectors * SECTOR] + image[block * BLOCK + torn_sectors * SECTOR:(block + 1) * BLOCK])]
    for block, data in entries:
        if block != "flush":
            image[block * BLOCK:(block + 1) * BLOCK] = data
    return bytes(image)


def check(image, states, marks, upto):
    v = tfs.Volume(blockdev.MemDisk(image=image))
    assert_clean(v)
    got = snapshot(v)
    done = max(i for i, m in enumerate(marks) if m <= upto)     # the last sync that returned
    allowed = [states[done]] + ([states[done + 1]] if done + 1 < len(states) else [])
    assert got in allowed, f"crash after write {upto}: state matches no committed one"
    return allowed.index(got)


def test_a_crash_after_any_block_write_loses_nothing_committed():
    initial, log, states, marks = record()
    assert len(log) > 100 and log.count(("flush", None)) >= 3 * (len(states) - 1)
    seen_newer = 0
    for upto in range(len(log) + 1):
        seen_newer += check(crash_image(initial, log, upto), states, marks, upto)
    assert seen_newer > 0            # some crashes land after a commit block, before sync returned


def test_torn_multi_sector_writes_are_detected():
    initial, log, states, marks = record()
    rng = random.Random(1)
    writes = [i for i, (b, _) in enumerate(log) if b != "flush"]
    for upto in writes:
        check(crash_image(initial, log, upto, torn_sectors=rng.randint(1, 7)), states, marks, upto)


def test_a_torn_superblock_is_survived_through_its_copy():
    initial, log, states, marks = record()
    sb_writes = [i for i, (b, _) in enumerate(log) if b == 0]
    assert sb_writes
    for upto in sb_writes:
        check(crash_image(initial, log, upto, torn_sectors=3), states, marks, upto)


def test_a_disk_that_dies_mid_commit():
    disk, v = new_volume(blocks=1024, journal_blocks=128)
    a = v.create("before")
    v.sync()
    v.write(a, b"x" * 20000)
    disk.fail_after(3)                                   # the disk stops mid-transaction
    with pytest.raises(tfs.FSError):
        v.sync()
    with pytest.raises(tfs.FSError):                     # read-only until remounted
        v.create("after")
    survivor = tfs.Volume(blockdev.MemDisk(image=disk.image()))
    assert survivor.query("before") == [a] and survivor.read(a) in (b"", b"x" * 20000)
    assert_clean(survivor)
