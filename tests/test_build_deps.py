"""The build never goes stale: editing a .pxd regenerates the C of every
module that reads it, however it is cimported (cy2c writes the depfile from
tools/build/cimports.py).  Each case edits a scratch copy of the tree and
asks ninja for the generated C only."""
import re
import shutil
import subprocess
import sys

import pytest

from kwecli.paths import ROOT

sys.path.insert(0, str(ROOT / "tools" / "build"))
import cimports  # noqa: E402


def skip(directory, names):
    """Leave out the checkout's own build, venv and caches (not tools/build)."""
    top = {".git", ".venv", "build"} if directory == str(ROOT) else set()
    return [n for n in names if n in top or n in ("__pycache__", ".hypothesis", ".pytest_cache")]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    tree = tmp_path_factory.mktemp("tree") / "kwe"
    shutil.copytree(ROOT, tree, ignore=skip, symlinks=True)
    subprocess.run(["meson", "setup", str(tree / "build"), str(tree)], check=True,
                   stdout=subprocess.DEVNULL)
    return tree


def generate(tree, targets):
    subprocess.run(["ninja", "-C", str(tree / "build"), *targets], check=True,
                   stdout=subprocess.DEVNULL)
    return {t: (tree / "build" / t).read_text() for t in targets}


def edit(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


# Each case: the generated C files to watch, and the edit of a .pxd they read.
IDT = ["pyx/kwe/arch/idt.kernel.c", "pyx/kwe/arch/idt.hosted.c"]
NET = ["pyx/kwe/decks/deck_net.kernel.c"]
SLEEPER = ["pyx/user/user.sleeper.c"]


@pytest.fixture(scope="module")
def regenerated(scratch):
    """(before, after): every watched file generated, the .pxd files edited,
    the same targets asked for again -- one ninja run each way."""
    before = generate(scratch, IDT + NET + SLEEPER)
    # idt.pyx says `from kwe.arch cimport hal, gdt`: the form Cython's depfile misses.
    edit(scratch / "pyx/kwe/arch/gdt.pxd", "KERNEL_CS = 0x08", "KERNEL_CS = 0x38")
    # deck_net.pyx cimports guide.pxd, which cimports proc.pxd, whose Process holds a Ring.
    edit(scratch / "pyx/kwe/common/ring.pxd", "cdef struct Ring:", "cdef struct Ring:\n    int canary_field\n   ")
    # sleeper.pyx says `from kwe.common cimport abi` and uses abi.OP_SLEEP.
    abi = scratch / "pyx/kwe/common/abi.pxd"
    old = re.search(r"^\s*OP_SLEEP = (\w+)", abi.read_text(), re.M)
    edit(abi, old.group(0).strip(), "OP_SLEEP = 0x7777")
    return before, generate(scratch, IDT + NET + SLEEPER)


def test_enum_in_gdt_reaches_idt_kernel_and_hosted(regenerated):
    before, after = regenerated
    for t in IDT:
        assert "0x38" not in before[t] and "0x38" in after[t], t


def test_struct_two_pxd_files_away(regenerated):
    before, after = regenerated
    assert "canary_field" not in before[NET[0]] and "canary_field" in after[NET[0]]


def test_abi_constant_reaches_a_user_program(regenerated):
    before, after = regenerated
    assert "0x7777" not in before[SLEEPER[0]] and "0x7777" in after[SLEEPER[0]]


def test_scanner_reads_every_cimport_form(tmp_path):
    (tmp_path / "p").mkdir()
    for name in ("a", "b", "c", "d", "e"):
        (tmp_path / "p" / f"{name}.pxd").write_text("")
    src = tmp_path / "p" / "m.pyx"
    src.write_text("from p cimport (a,  # a comment\n    b as bee)\n"
                   "cimport p.c, p.d as dee\n"
                   "from p.e cimport thing\n"
                   "from libc.stdint cimport uint8_t\n"
                   "# from p cimport nothing\n")
    assert cimports.cimported_modules(src.read_text(), str(tmp_path)) == ["p.a", "p.b", "p.c", "p.d", "p.e"]
    (tmp_path / "p" / "m.pxd").write_text("from p cimport a\n")
    (tmp_path / "p" / "a.pxd").write_text("include 'inc.pxi'\n")
    (tmp_path / "p" / "inc.pxi").write_text("")
    deps = cimports.dependencies(str(src), str(tmp_path))
    assert [d.rsplit("/", 1)[1] for d in deps] == ["a.pxd", "b.pxd", "c.pxd", "d.pxd", "e.pxd", "inc.pxi",
                                                   "m.pxd"]
