"""README.md true again (issue 14, item 10): every command the README shows
is either run here and exits as the README says (status 0, unless the line
says "exits with status N"), or named in CHECKS with the reason it is not
run.  A command the README gains that CHECKS does not know, or one CHECKS
keeps that the README lost, fails test_every_readme_command_is_classified:
the README cannot drift from the CLI unseen.  Every long option a command
names, run or not, must be one its subcommand's --help lists."""
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest

from kwecli.paths import IMAGE, ROOT

README = ROOT / "README.md"
BLOCK_LANGUAGES = ("sh", "bash", "console")


def readme_commands(text):
    """{command: the comment on its line} for every command README.md shows,
    in order: each line of its sh/bash/console blocks (a `$ ` prompt and the
    `# comment` split off) and each inline `tools/kwe ...` span."""
    found = {}
    for lang, body in re.findall(r"^```(\w*)\n(.*?)^```", text, re.S | re.M):
        if lang in BLOCK_LANGUAGES:
            for line in body.splitlines():
                command, _, comment = line.removeprefix("$ ").partition(" #")
                if command.strip():
                    found.setdefault(" ".join(command.split()), comment.strip())
    prose = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    for span in re.findall(r"`(tools/kwe(?: [^`]*)?)`", prose):
        found.setdefault(span, "")
    return found


def expected_status(comment):
    """What the README says a command exits with: 0 unless its comment says."""
    said = re.search(r"exits with status (\d+)", comment)
    return int(said[1]) if said else 0


@dataclass
class Check:
    run: str = None         # the command line run (None: not run, see why); {disk}, {note}, {tmp} filled in
    says: tuple = ()        # what the README says it prints (stdout or stderr)
    why: str = ""           # why it is not run as written, or not at all
    seconds: float = 60


# Each command README.md shows, by its text there.  Commands are run with
# stdin not a terminal, as a test is: `tools/kwe run` then runs the demo, as
# the README says (the shell it starts in a terminal is tests/qemu/test_shell.py's).
# the demo as "What tools/kwe run shows" tells it: three counters, three DAGs, latency, a clean shutdown
DEMO = ("counter A done", "counter B done", "counter C done", "wfdemo fanout summary status 0",
        "wfdemo retry summary status 0", "wfdemo failure", "latency: ", "kwe: kernel status 0 (ok)")
BENCH_WHY = ("minutes, and it fetches Debian's kernel; tests/test_bench.py runs `bench --quick` "
             "itself (-o to a scratch file) and checks far more than its status")
ASAN_WHY = "builds build-asan/ (3 to 5 minutes cold); tests/test_asan.py builds and runs it"
GDB_WHY = "an interactive gdb session, ended by the person at it; tests/qemu/test_gdb.py drives gdb in batch"
DEBUG_WHY = ("builds build-debug/ at -Og, about 3 minutes cold; the plain `tools/kwe build` runs here, and "
             "tests/qemu/test_gdb.py steps through build-debug/ when it is there")
CHECKS = {
    "tools/kwe wf FILE [--show]": Check("tools/kwe wf workflows/fanout.wf",
                                        ("wf fanout: E_OK: success; 7 done, 0 failed, 0 cancelled",),
                                        why="FILE filled in: a workflow file the disk ships with"),
    "tools/kwe build [--debug]": Check(why=DEBUG_WHY),
    "tools/kwe build --debug": Check(why=DEBUG_WHY),
    "tools/kwe gdb [--debug]": Check(why=GDB_WHY),
    "tools/kwe gdb --debug": Check(why=GDB_WHY),
    "tools/kwe run": Check("tools/kwe run", DEMO),
    "tools/kwe test": Check(why="the suite this test is part of: running it here would recurse"),
    "tools/kwe": Check("tools/kwe", ("usage: tools/kwe",)),
    "tools/kwe run --demo": Check("tools/kwe run --demo", DEMO),
    "tools/kwe run --net": Check(why="the services run until QEMU is stopped; tests/qemu/test_httpd.py "
                                     "starts it, opens the URL it prints with curl and stops it"),
    "tools/kwe run --list": Check("tools/kwe run --list", ("scenarios (", "programs (")),
    'tools/kwe run --cmdline "run=selftest"': Check('tools/kwe run --cmdline "run=selftest"', ("KTAP version 1", "# failures: 0")),
    'tools/kwe run --cmdline "run=fault fault=pf"':
        Check('tools/kwe run --cmdline "run=fault fault=pf"', ("kernel status 4 (cpu-fault)",)),
    'tools/kwe run --cmdline "run=nosuch"':
        Check('tools/kwe run --cmdline "run=nosuch"', ("run=nosuch is not a scenario", "scenarios (")),
    # FILE is the paragraph's --disk FILE, a boot disk (that put and ls share its writes: test_fs_tool.py)
    "tools/kwe fs put FILE ...": Check("tools/kwe fs put {disk} {note} lang=en",
                                       why="FILE and ... filled in: a scratch boot disk, a note and a tag"),
    "tools/kwe fs ls FILE": Check("tools/kwe fs ls {disk}", ("type=program crc32=",),
                                  why="FILE filled in: a scratch boot disk, whose programs it lists"),
    "tools/kwe build": Check("tools/kwe build"),
    "tools/kwe test -k crc32 -x": Check("tools/kwe test -k crc32 -x --collect-only -q", ("crc32",),
                                        why="collected only (the suite runs those tests itself): the "
                                            "arguments reach pytest and select some tests"),
    "tools/kwe test --asan [-k ...]": Check(why=ASAN_WHY),
    "tools/kwe test --asan": Check(why=ASAN_WHY),
    "tools/kwe fuzz [--target T] [--count N] [--seed S]":
        Check(why="a million inputs per target under ASan, many minutes; tests/test_fuzz.py runs small counts"),
    "tools/kwe gdb [--cmdline ...]": Check(why=GDB_WHY),
    "tools/kwe trace": Check("tools/kwe trace -o {tmp}", ("kernel status 0", "trace.json", "trace.png",
                                                          "trace-dag.svg"),
                             why="-o a scratch directory: a test leaves the user's build/trace.* alone"),
    "tools/kwe bench [--quick] [--kvm]": Check(why=BENCH_WHY),
    "tools/kwe bench": Check(why=BENCH_WHY),
    "tools/kwe errors [CODE]": Check("tools/kwe errors -10", (" -10  E_NOENT: no such file, ",),
                                     why="CODE filled in: the one the table's line shows"),
    "tools/kwe fs ...": Check("tools/kwe fs --help", tuple("mkfs info ls tags put get tag untag query fsck rm".split()),
                              why="its commands are what the README lists; fs put/ls above run two"),
}

COMMANDS = readme_commands(README.read_text())


def test_every_readme_command_is_classified():
    assert set(COMMANDS) - set(CHECKS) == set(), "README commands this test does not know: add them to CHECKS"
    assert set(CHECKS) - set(COMMANDS) == set(), "CHECKS names commands the README no longer shows"


def test_the_fs_commands_the_readme_lists_are_the_ones_checked():
    listed = re.search(r"from the host: `([a-z ]+)`", README.read_text())[1].split()
    assert set(listed) == set(CHECKS["tools/kwe fs ..."].says)


def kwe(command, timeout):
    """A README command line, run as a user runs it: the tools/kwe script, from the checkout."""
    argv = shlex.split(command)
    assert argv[0] == "tools/kwe"
    # the venv's bin first: tools/kwe build's meson must be the venv's, else meson reconfigures for another Python
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    return subprocess.run([str(ROOT / "tools/kwe"), *argv[1:]], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """{disk}: a copy of the boot image (fs put writes to it), {note}: a file to put, {tmp}: a directory."""
    tmp = tmp_path_factory.mktemp("readme")
    shutil.copyfile(IMAGE, tmp / "disk.img")
    (tmp / "note.txt").write_text("a note from the README test\n")
    return {"disk": tmp / "disk.img", "note": tmp / "note.txt", "tmp": tmp}


RUN = [c for c in COMMANDS if CHECKS.get(c, Check()).run]


@pytest.mark.parametrize("command", RUN)
def test_a_readme_command_exits_as_the_readme_says(command, scratch):
    check = CHECKS[command]
    start = time.monotonic()
    r = kwe(check.run.format(**scratch), check.seconds)
    out = r.stdout + r.stderr
    assert r.returncode == expected_status(COMMANDS[command]), f"{check.run}: status {r.returncode}\n{out[-3000:]}"
    for text in check.says:
        assert text in out, f"{check.run}: no {text!r} in\n{out[-3000:]}"
    print(f"{check.run}: {time.monotonic() - start:.1f} s")


def help_text(subcommand, cache={}):
    if subcommand not in cache:
        r = kwe(f"tools/kwe {subcommand} --help", 60)
        assert r.returncode == 0, r.stdout + r.stderr
        cache[subcommand] = r.stdout
    return cache[subcommand]


@pytest.mark.parametrize("command", [c for c in COMMANDS if "--" in c])
def test_every_option_a_readme_command_names_is_one_its_subcommand_has(command):
    subcommand = command.split()[1]
    for option in re.findall(r"(?<![\w-])--[a-z][\w-]*", command):
        assert re.search(rf"(?<![\w-]){option}\b", help_text(subcommand)), f"{command}: {subcommand} has no {option}"
