"""Crash addresses named as .pyx lines: a panic's backtrace after
`tools/kwe run`, and in the log the test helpers return, a ring-0 CPU
exception's rip and a ring-3 fault's rip (against the program's own ELF)."""
import os
import subprocess
import sys

from conftest import boot
from kwecli.paths import ROOT


def line_of(path, text):
    """The 1-based line of the one source line holding text (what the kernel's
    code at that spot is, so the test follows edits of the file)."""
    found = [i for i, line in enumerate((ROOT / path).read_text().splitlines(), 1) if text in line]
    assert len(found) == 1, (path, text, found)
    return found[0]


def kwe_run(cmdline):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "tools"))
    return subprocess.run([sys.executable, "-m", "kwecli", "run", "--cmdline", cmdline, "--timeout", "60"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_run_names_a_panics_backtrace_frames_as_pyx_lines():
    r = kwe_run("run=panic")
    assert r.returncode == 3 and "KWE PANIC" in r.stdout, r.stdout + r.stderr
    report = r.stderr.split("kwe: symbolized", 1)[1].splitlines()
    assert "KWE PANIC: requested by the command line (run=panic)" in report, r.stderr
    frames = [l for l in report if l.startswith("  #")]
    call = line_of("pyx/kwe/init/scenarios.pyx", 'panic(b"requested by the command line')
    caller = f"pyx/kwe/init/scenarios.pyx:{call}"
    # frame 0 returns into the caller of panic(): the line of the call
    assert caller in frames[0] and "scenarios." in frames[0], r.stderr
    assert any("main.kmain_on_stack pyx/kwe/init/main.pyx:" in f for f in frames[1:]), r.stderr


def test_a_kernel_exceptions_rip_is_named_in_the_boot_log():
    b = boot("run=fault fault=ud", timeout=60)
    assert b.status == 4, b.log
    rip = next(l for l in b.log.splitlines() if l.startswith("  rip="))
    trap = line_of("pyx/kwe/init/scenarios.pyx", "        __builtin_trap()")
    assert f"-> scenarios.run_fault pyx/kwe/init/scenarios.pyx:{trap}" in rip, b.log


def test_a_ring3_faults_rip_is_named_from_the_programs_elf():
    b = boot("run=init init=fault args=ud", timeout=60)
    killed = next(l for l in b.log.splitlines() if "(fault) killed: #UD" in l)
    trap = line_of("pyx/user/programs/fault.pyx", "        __builtin_trap()")
    assert f"-> umain pyx/user/programs/fault.pyx:{trap}" in killed, b.log
