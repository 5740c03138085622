"""A new program is one file (issue 14, item 4): docs/programs.md's two
examples, dropped into pyx/user/programs/ as docgreet.pyx and
docworkflow.pyx, are built and put on the disk by `tools/kwe build` with
nothing else edited, run as init, and print what the document says.

Not a scratch copy of the checkout: a copy's build/ would be a cold build
(minutes).  The files go into the real tree and the real build/ instead, and
are removed in a finally, with what the build made of them, followed by a
rebuild that reconfigures without them: the disk then holds the programs it
held before (checked).  Not byte for byte: fs.img differs at every rebuild
anyway (its block checksums' seed)."""
import os
import re
import shutil
import subprocess
import sys
import zlib

import pytest

from conftest import boot, kwe_fs
from kwecli import gdb
from kwecli.paths import BUILD, IMAGE, ROOT

PROGRAMS = ROOT / "pyx/user/programs"
NAMES = ("docgreet", "docworkflow")
DOC = ROOT / "docs/programs.md"


def examples():
    """The doc's ```cython blocks: the first program, then the workflow."""
    found = re.findall(r"^```cython\n(.*?)^```", DOC.read_text(), re.S | re.M)
    assert len(found) == 2, "docs/programs.md should have two ```cython examples"
    return found


def kwe_build():
    """tools/kwe build in a child, as a user runs it; its stderr (what it said it did)."""
    # the venv's bin first: a meson from elsewhere runs under another Python and rebuilds everything
    env = dict(os.environ, PYTHONPATH=str(ROOT / "tools"),
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    r = subprocess.run([sys.executable, "-m", "kwecli", "build"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stderr


def image_programs():
    """The names of the programs on build/kwe.img (tools/kwe fs ls's fourth column)."""
    return sorted(line.split()[3] for line in kwe_fs("ls", IMAGE, "type=program").stdout.splitlines())


def remove_build_outputs(name):
    """What the build made of program NAME and a rebuild without it leaves (headers, object dirs)."""
    for path in (BUILD / "pyx/user").glob(f"*{name}*"):
        shutil.rmtree(path) if path.is_dir() else path.unlink()


@pytest.fixture(scope="module")
def built():
    before = image_programs()
    files = {PROGRAMS / f"{name}.pyx": text for name, text in zip(NAMES, examples())}
    assert not any(f.exists() for f in files), "left over from an earlier run: remove them"
    try:
        for f, text in files.items():
            f.write_text(text)
        yield kwe_build()
    finally:
        for f in files:
            f.unlink(missing_ok=True)
        after = kwe_build()                  # back to the build the other tests expect
        for name in NAMES:
            remove_build_outputs(name)
    assert "reconfiguring" in after and image_programs() == before


def test_a_dropped_in_program_is_built_with_nothing_else_edited(built):
    assert "the programs in pyx/user/programs changed; reconfiguring" in built
    b = boot("run=init init=docgreet args=you", timeout=60)
    assert b.ok, b.log[-2000:]
    # the doc's greet prints its argument and the CRC-32 of its bytes
    assert f"hello, you (crc32 {zlib.crc32(b'you'):08x})" in b.log, b.log[-2000:]


def test_the_three_node_workflow_example_runs_as_documented(built):
    b = boot("run=init init=docworkflow", timeout=60)
    assert b.ok, b.log[-2000:]
    nodes = dict(re.findall(r"^node (\d+): status E_OK: success value ([0-9a-f]{8})$", b.log, re.M))
    # two CRC32s of "hello " and "world", then the NOP that joins them
    assert nodes.get("0") == f"{zlib.crc32(b'hello '):08x}", b.log[-2000:]
    assert nodes.get("1") == f"{zlib.crc32(b'world'):08x}", b.log[-2000:]
    assert "2" in nodes and "done 3 failed 0" in b.log, b.log[-2000:]


def gdb_steps():
    """The doc's gdb session, for its greet: the (gdb) lines (`a / b` is two commands; comments
    dropped), then the command its prose gives for which process stopped."""
    text = DOC.read_text().split("## Debugging a program with gdb", 1)[1]
    steps = [c.split("#")[0].strip() for line in re.findall(r"^\(gdb\) (.*)$", text, re.M)
             for c in line.split(" / ")]
    return steps + re.findall(r"`(print \(\(struct [^`]*->pid)`", text)


def test_the_gdb_steps_stop_in_the_program_and_read_it(built, monkeypatch):
    steps = [s.replace("/greet.elf", "/docgreet.elf") for s in gdb_steps()]
    assert steps[0] == "add-symbol-file build/pyx/user/docgreet.elf" and len(steps) == 7, steps
    monkeypatch.chdir(ROOT)                  # the doc's paths are from the checkout, where tools/kwe gdb is run
    out = gdb.batch(steps, cmdline="run=init init=docgreet")
    assert "Temporary breakpoint 1, umain () at user/programs/docgreet.pyx" in out, out
    assert re.search(r"^\$1 = -?\d+$", out, re.M), out          # print __pyx_v_n: a local, read
    assert re.search(r"^#0 .*umain \(\) at user/programs/docgreet.pyx", out, re.M), out
    assert re.search(r"^\$2 = 1$", out, re.M), out              # the pid: init's, 1
