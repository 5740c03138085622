"""Boot the real image under QEMU and read the serial log."""
import re

import pytest

from conftest import assert_ktap_passed, boot


def test_selftest_passes():
    b = boot("run=selftest")
    assert "KWE kernel booting" in b.log
    assert "cmdline: run=selftest" in b.log
    assert_ktap_passed(b, at_least=4)
    # the walk every clean power-off makes, which conftest.boot judges
    assert re.search(r"heap: walk at power-off: \d+ objects, \d+ bytes, 0 problems \(0 seen earlier\)", b.log)


def test_memory_map_reaches_the_kernel():
    b = boot("run=hello", memory="128M")
    assert b.ok, b.log
    assert "memory map (E820" in b.log
    usable = [l for l in b.log.splitlines() if l.startswith("memory: ")]
    kib = int(usable[0].split()[1])
    # 128 MiB of RAM minus BIOS areas
    assert 120 * 1024 < kib < 128 * 1024, usable


def test_default_cmdline_comes_from_the_image():
    b = boot(None)
    assert "cmdline: run=demo" in b.log and b.ok, b.log


def test_unknown_scenario_is_a_usage_error():
    b = boot("run=no-such-thing")
    assert b.status == 2 and "unknown scenario 'no-such-thing'" in b.log


def test_panic_prints_registers_and_exits_distinctly():
    b = boot("run=panic")
    assert b.status == 3, b.log
    assert "KWE PANIC: requested by the command line" in b.log
    for reg in ("rsp=0x", "rbp=0x", "rflags=0x", "cr0=0x", "cr3=0x", "cr4=0x"):
        assert reg in b.log
    assert "  #0 0xffffffff8" in b.log       # a backtrace into the kernel image


def test_a_hung_kernel_is_cut_off_by_the_timeout(tmp_path):
    # An image whose stage2 region is blank never reaches the kernel; with no
    # exit path QEMU would run forever.  The harness must still end it.
    from kwecli.paths import IMAGE
    bad = tmp_path / "blank.img"
    data = bytearray(IMAGE.read_bytes())
    data[512:33 * 512] = b"\xeb\xfe" * (32 * 256)         # jmp $ forever
    bad.write_bytes(bytes(data))
    b = boot("run=hello", timeout=3, image=bad)
    assert b.status == 124


def test_stage1_reports_a_disk_error(tmp_path):
    # An image of one sector: the stage2 read fails, stage1 must say so and exit.
    from kwecli.paths import IMAGE
    bad = tmp_path / "short.img"
    bad.write_bytes(IMAGE.read_bytes()[:512])
    b = boot("run=hello", timeout=20, image=bad)
    assert b.status == 126, (b.status, b.log)
    assert "KWE stage1: disk read failed" in b.log
