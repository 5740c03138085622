"""tools/kwe as a newcomer meets it: help with no arguments, --list, bad
option values refused with a message, unknown scenarios and programs
answered with the list, and KVM's software stand-in detected."""
import os
import subprocess
import sys

import pytest

from conftest import boot
from kwecli import qemu
from kwecli.paths import ROOT


def kwe(*args, timeout=120):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "tools"))
    return subprocess.run([sys.executable, "-m", "kwecli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def program_names():
    return sorted(p.stem for p in (ROOT / "pyx/user/programs").glob("*.pyx"))


def test_no_arguments_prints_help():
    r = kwe()
    assert r.returncode == 0 and "usage: tools/kwe" in r.stdout and "run" in r.stdout and "test" in r.stdout


def test_run_list_names_every_scenario_and_program():
    r = kwe("run", "--list")
    assert r.returncode == 0
    scenarios, programs = r.stdout.splitlines()
    assert {"demo", "init", "selftest", "echo", "fsck", "bench"} <= set(scenarios.split(":", 1)[1].split())
    assert programs.split(":", 1)[1].split() == program_names()


@pytest.mark.parametrize("cmdline, problem", [("run=nonsense", "run=nonsense is not a scenario"),
                                              ("run=init init=doesnotexist", "init=doesnotexist is not a program")])
def test_an_unknown_scenario_or_program_is_answered_with_the_list(cmdline, problem):
    r = kwe("run", "--cmdline", cmdline)
    assert r.returncode == 2 and problem in r.stderr
    assert "scenarios" in r.stderr and "wfdemo" in r.stderr


@pytest.mark.parametrize("value", ["0", "-1", "abc", "nan", "inf"])
def test_a_bad_timeout_is_refused_with_a_message(value):
    r = kwe("run", "--timeout", value)
    assert r.returncode == 2 and "--timeout" in r.stderr and "kernel status" not in r.stderr


def test_the_kernel_lists_what_it_knows_when_asked_for_what_it_does_not():
    b = boot("run=nonsense", timeout=30)
    assert b.status == 2 and "unknown scenario 'nonsense'; the scenarios: demo init" in b.log
    b = boot("run=init init=doesnotexist", timeout=30)
    assert "init: cannot start 'doesnotexist': E_NOENT" in b.log
    listed = b.log.split("init: cannot start")[1].splitlines()[1]
    assert listed.startswith("programs:") and {"hello", "sh", "wfdemo"} <= set(listed.split()[1:])


def fake_modules(tmp_path, *names):
    for n in names:
        (tmp_path / n).mkdir()
    return str(tmp_path)


def test_kvm_pvm_is_detected_and_refused(tmp_path):
    why = qemu.kvm_refusal(fake_modules(tmp_path, "kvm", "kvm_pvm"))
    assert "kvm_pvm" in why and "SSE" in why and "SYSCALL" in why


def test_a_hardware_kvm_module_is_not_mistaken_for_kvm_pvm(tmp_path):
    why = qemu.kvm_refusal(fake_modules(tmp_path, "kvm", "kvm_pvm", "kvm_intel"))
    assert why is None or "kvm_pvm" not in why           # then only /dev/kvm itself decides


def test_run_kvm_falls_back_to_tcg_saying_why():
    r = kwe("run", "--kvm", "--cmdline", "run=hello", "--timeout", "60")
    why = qemu.kvm_refusal()
    if why is None:
        pytest.skip("this machine's KVM can run KWE: there is no fallback to see")
    assert r.returncode == 0, r.stderr
    assert f"kwe: {why}; running under TCG instead" in r.stderr and "(TCG;" in r.stderr
    assert "KWE: hello from the kernel" in r.stdout


def test_wf_checks_a_file_on_the_host_then_runs_it_in_one_boot(tmp_path):
    import re
    import zlib
    bad = tmp_path / "bad.wf"
    bad.write_text("node a = nop\nnode b = crc32 from c\n")
    r = kwe("wf", str(bad))
    assert r.returncode == 1 and "booting" not in r.stderr
    assert r.stderr.strip().endswith(f"{bad}:2:21: 'c' is not a node defined above (a node names only earlier ones)")
    good = tmp_path / "mine.wf"
    good.write_text('node a = crc32 data "abc"\nnode b = crc32 file "type=program AND name=hello"  after a\n')
    r = kwe("wf", str(good))
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(rf"^  a +E_OK +attempts 1 +\d+ ms  value 0x{zlib.crc32(b'abc'):x}  ", r.stdout, re.M), r.stdout
    listed = kwe("fs", "ls", "build/kwe.img").stdout
    hello_crc = re.search(r" hello +type=program crc32=([0-9a-f]{8})$", listed, re.M)[1]
    assert re.search(rf"^  b +E_OK +attempts 1 +\d+ ms  value 0x0*{int(hello_crc, 16):x} ", r.stdout, re.M), r.stdout
    assert "wf mine: E_OK: success; 2 done, 0 failed, 0 cancelled in " in r.stdout
    assert "(and 1 file read: 0 failed)" in r.stdout
    r = kwe("wf", str(tmp_path / "none.wf"))
    assert r.returncode != 0 and "none.wf: No such file or directory" in r.stderr


def test_gdb_debug_builds_and_attaches_to_build_debug(monkeypatch):
    """The wiring only: building build-debug/ for real takes minutes
    (tests/qemu/test_gdb.py checks that build when it is there)."""
    from kwecli import __main__ as cli, build, gdb, paths
    calls = []
    monkeypatch.setattr(build, "build", lambda quiet=False, debug=False: calls.append(("build", debug)) or True)
    monkeypatch.setattr(gdb, "session", lambda cmdline=None, kvm=False, build=None: calls.append(("gdb", build)) or 0)
    assert cli.main(["gdb", "--debug"]) == 0
    assert calls == [("build", True), ("gdb", paths.BUILD_DEBUG)]
    assert gdb.init_commands(1234, paths.BUILD_DEBUG)[2] == f"file {paths.BUILD_DEBUG / 'kernel.elf'}"
    assert build.setup_options(paths.BUILD_DEBUG) == ["-Doptimization=g"] and build.setup_options(paths.BUILD) == []


def test_wf_lists_files_by_name_and_tags_through_fs_list(tmp_path):
    """OP_FS_LIST as a workflow node: a line "ID NAME TAGS" per match, NAME
    from the name= tag (httpd's listings can only show users' files, which
    have none: this is where a name is read)."""
    import re
    f = tmp_path / "ls.wf"
    f.write_text('node ls = fs_list data "type=program AND (name=hello OR name=tcpecho)"\n')
    r = kwe("wf", str(f))
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r'^  ls +E_OK +attempts 1 +\d+ ms  value 0x2  "\d+ hello type=program na"', r.stdout, re.M), \
        r.stdout
