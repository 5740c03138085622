"""Issue 3 in the booted kernel: exceptions, paging, the timer, input, VGA."""
import re

import pytest

from conftest import assert_heap_sound, assert_ktap_passed, boot
from kwecli import qemu


def test_memory_totals_are_printed():
    b = boot("run=hello", memory="256M")
    m = re.search(r"pmm: (\d+) pages usable \((\d+) MiB\), (\d+) free", b.log)
    assert m and b.ok, b.log
    assert 250 <= int(m.group(2)) <= 256 and int(m.group(3)) > 60000


def test_in_kernel_memory_selftests():
    b = boot("run=selftest")
    assert_ktap_passed(b, at_least=25)
    # -cpu max has all three; the selftest checked CR4 against CPUID
    assert "cpu: smep smap umip on" in b.log, b.log


@pytest.mark.parametrize("kind,name,vector", [
    ("divide", "#DE divide error", 0),
    ("ud", "#UD invalid opcode", 6),
    ("gp", "#GP general protection", 13),
    ("pf", "#PF page fault", 14),
])
def test_ring0_exceptions_are_dumped_and_end_the_machine(kind, name, vector):
    b = boot(f"run=fault fault={kind}")
    assert b.status == 4, b.log
    assert f"KWE CPU EXCEPTION {name} (vector {vector}) in ring 0" in b.log
    for field in ("error=0x", "rip=0xffffffff801", "cs=8", "rflags=0x", "rsp=0x",
                  "rax=0x", "rbx=0x", "r15=0x", "cr3=0x"):
        assert field in b.log, field
    if kind == "pf":
        assert "cr2=0xffffc0000dead000" in b.log
        assert "page not present on read in ring 0" in b.log
    if kind == "gp":
        assert "rax=0x8000000000000000" in b.log          # the non-canonical address
    assert "backtrace" in b.log


def test_kernel_stack_overflow_hits_the_guard_page():
    b = boot("run=fault fault=stack")
    assert b.status == 4, b.log
    assert "kernel stack overflow (guard page hit)" in b.log
    assert re.search(r"cr2=0xffffff00000\w+", b.log)


def test_access_after_unmap_faults():
    b = boot("run=vmm")
    assert b.status == 4, b.log
    m = re.search(r"vmm: mapped (0x\w+) -> (0x\w+), wrote and read back 1234567890abcdef 42", b.log)
    assert m, b.log
    assert f"cr2={m.group(1)}" in b.log
    assert "page not present on read in ring 0" in b.log


@pytest.mark.parametrize("hz", [100, 250])
def test_timer_ticks_at_the_configured_rate(hz):
    b = boot(f"run=timer hz={hz} seconds=1", timeout=60)
    assert b.ok, b.log
    m = re.search(r"timer: configured (\d+) Hz, measured (\d+)\.(\d+) Hz", b.log)
    assert m and int(m.group(1)) == hz, b.log
    measured = int(m.group(2)) + int(m.group(3)) / 1000
    assert abs(measured - hz) / hz < 0.10, b.log            # TCG jitters; 10% is plenty
    rtc_khz, pit_khz = map(int, re.search(r"TSC (\d+) kHz by the RTC, (\d+) kHz by PIT", b.log).groups())
    assert abs(rtc_khz - pit_khz) / rtc_khz < 0.10


def test_serial_and_keyboard_input_reach_the_kernel():
    with qemu.Session("run=echo count=5") as s:
        s.wait_for("echo: ready for 5 characters")
        s.send_serial(b"ok")
        for key in ("shift-k", "w", "e"):
            s.monitor(f"sendkey {key}")
        b = s.finish(timeout=30)
    assert b.ok, b.log
    assert_heap_sound(b.log)
    got = re.findall(r"^echo (\w+) \d+ '(.)'$", b.log, re.M)
    assert [c for src, c in got if src == "serial"] == ["o", "k"]
    assert [c for src, c in got if src == "keyboard"] == ["K", "w", "e"]


def test_vga_mirrors_the_console(tmp_path):
    dump = tmp_path / "vga.bin"
    with qemu.Session("run=echo count=1") as s:
        s.wait_for("echo: ready")
        reply = s.monitor(f'pmemsave 0xb8000 4000 "{dump}"')
        assert reply.strip() == "", reply
        s.send_serial(b"!")
        b = s.finish(timeout=30)
    assert b.ok
    cells = dump.read_bytes()
    text = "\n".join(bytes(cells[r * 160:(r + 1) * 160:2]).decode("ascii", "replace").rstrip()
                     for r in range(25))
    assert "echo: ready for 1 characters" in text
    assert "cpu: TSC" in text and "timer 100 Hz" in text
    assert all(a == 0x07 for a in cells[1:160:2])         # grey on black
