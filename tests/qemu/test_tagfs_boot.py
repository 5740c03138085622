"""Issue 6 in the booted kernel: TagFS over ATA, file events from a
process, persistence across boots, and power cuts in the middle of writes."""
import random
import re
import shutil
import zlib

import pytest

from conftest import boot
from kwecli import qemu
from kwecli.paths import IMAGE


@pytest.fixture
def disk(tmp_path):
    """A private, writable copy of the image (the tests' boots change it)."""
    path = tmp_path / "disk.img"
    shutil.copy(IMAGE, path)
    return path


def test_programs_come_from_tagfs_and_the_disk_checks_clean():
    b = boot("run=fsck")
    assert b.ok, b.log
    assert re.search(r"tagfs: (\d+) files, \d+ tags", b.log)
    assert re.search(r"programs: \d+ in TagFS", b.log)
    assert re.search(r"fsck: \d+ files, \d+ tags, \d+ index blocks, \d+ data blocks: 0 problems", b.log)


@pytest.mark.parametrize("crc", ["table", "clmul", "bogus"])
def test_file_events_from_a_process(crc):
    b = boot(f"run=init init=files crc={crc}")          # the 20000-byte CRC node: both code paths
    assert b.ok, b.log
    if crc == "bogus":                                  # a bad value is said, then timed as auto
        assert "ops: crc=bogus is not table, clmul or auto; timing both" in b.log
        assert "ops: CRC32 by " in b.log
    else:
        assert "ops: CRC32 by " + {"table": "slicing-by-8", "clmul": "PCLMULQDQ folding"}[crc] in b.log
    assert "files: FAILED" not in b.log
    m = re.search(r"files: (\d+) of (\d+) checks", b.log)
    assert m and m.group(1) == m.group(2) and int(m.group(1)) >= 20
    # ring 3 picks its own CRC32: PCLMULQDQ is there, AVX-512 state is not saved by KWE
    assert "files: CRC32 here by clmul" in b.log


def test_files_persist_across_boots(disk):
    first = boot("run=init init=fsstress args=5", image=disk, snapshot=False)
    assert first.ok, first.log
    committed = expected(first.log)
    second = boot("run=fsck init=fsverify", image=disk, snapshot=False)
    assert second.ok, second.log
    assert survivors(second.log) == committed


def expected(log):
    """{seq: (size, crc)} that fsstress reported committed."""
    return {int(s): (int(n), c) for s, n, c in re.findall(r"fsstress: committed (\d+) size (\d+) crc (\w+)", log)}


def survivors(log):
    out = {}
    for size, got, crc, tags in re.findall(r"fsverify: file \d+ size (\d+) read (-?\d+) crc (\w+) tags (.*)", log):
        seq = int(re.search(r"seq=(\d+)", tags).group(1)) if "seq=" in tags else None
        assert int(got) == int(size), "a file reads back shorter than its size"
        out[seq] = (int(size), crc)
    return out


def test_power_cuts_in_the_middle_of_writes(disk):
    """Kill QEMU at random points of a write workload, several times over
    the same disk; each time it must boot, replay, fsck clean, and hold
    every file fsstress had reported committed -- with the right bytes."""
    rng = random.Random(6)
    committed = {}
    for round in range(4):
        with qemu.Session(f"run=init init=fsstress args=400", image=disk, snapshot=False) as s:
            s.wait_for("fsstress: committed 2 ", timeout=120)
            s.wait_for(f"fsstress: committed {rng.randint(4, 30)} ", timeout=120)
            s.proc.kill()                                     # the power cut
            s.proc.wait()
            log = s.log
        done = expected(log)
        assert done, log
        check = boot("run=fsck init=fsverify", image=disk, snapshot=False, timeout=120)
        assert check.ok, check.log
        assert re.search(r"fsck: .*: 0 problems", check.log), check.log
        found = survivors(check.log)
        # everything this round committed is there, byte for byte (CRC); earlier rounds' too
        for seq, (size, crc) in done.items():
            assert found.get(seq) is not None, f"round {round}: committed file {seq} is missing"
        committed.update(done)
        for seq in done:
            size, crc = done[seq]
            assert (size, crc) in [v for k, v in found.items() if k == seq], (seq, found.get(seq))
        # anything else found is a complete file from a write that had not been reported yet
        for seq, (size, crc) in found.items():
            assert seq is not None
