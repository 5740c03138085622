"""tools/kwe run --disk FILE: a boot disk of the user's own that keeps what
the guest writes, and that `tools/kwe fs` reads and changes in between."""
import re
import subprocess
import sys
import zlib

from conftest import assert_heap_sound, kwe_fs
from kwecli.paths import IMAGE


def run_disk(disk, cmdline, timeout=60):
    """tools/kwe run --disk DISK, as a user runs it (QEMU's own limit, then ours)."""
    r = subprocess.run([sys.executable, "-m", "kwecli", "run", "--disk", str(disk), "--cmdline", cmdline,
                        "--timeout", str(timeout)], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout + 30)
    assert_heap_sound(r.stdout)
    return r


def test_a_disk_keeps_the_guests_writes_and_the_hosts(tmp_path):
    disk = tmp_path / "disk.img"
    first = run_disk(disk, "run=init init=fsstress args=2")
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"kwe: made {disk}, a copy of build/kwe.img" in first.stderr
    assert "the guest's writes stay in it" in first.stderr
    assert disk.stat().st_size == IMAGE.stat().st_size
    wrote = re.findall(r"fsstress: committed (\d+) size (\d+)", first.stdout)
    assert len(wrote) == 2, first.stdout
    listing = kwe_fs("ls", disk, "stress").stdout.splitlines()
    assert [(l.split()[5], l.split()[1]) for l in listing] == [(f"seq={s}", n) for s, n in wrote]

    note = tmp_path / "note.txt"
    note.write_bytes(b"put there by the host\n")
    f = int(kwe_fs("put", disk, note, "stress", "seq=99").stdout)
    second = run_disk(disk, "run=init init=fsverify")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "kwe: made" not in second.stderr and "boots the kernel it was made with" not in second.stderr
    crc = f"{zlib.crc32(note.read_bytes()):08x}"
    assert f"fsverify: file {f} size 22 read 22 crc {crc} tags stress seq=99" in second.stdout, second.stdout
    assert "fsverify: 3 stress files" in second.stdout


def test_a_disk_that_is_no_boot_image_is_refused(tmp_path):
    other = tmp_path / "other.img"
    other.write_bytes(b"\0" * 4096)
    r = run_disk(other, "run=init init=hello")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert r.stderr.strip() == f"kwe run: {other} is not a KWE boot image; give a new path " \
                               "(run makes it from build/kwe.img) or a disk made so"
    assert other.read_bytes() == b"\0" * 4096
