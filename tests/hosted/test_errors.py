"""Names for errors, once: abi.pxd's status codes each have a name and a
one-line meaning, and the kernel's table (kwe.common.errors, format's %e),
the host tools (kwecli.abi) and the filesystem tool print the same words."""
import re

from hypothesis import given, strategies as st

from kwe.common import errors, format as kformat
from kwe.fs import tagfs_host as tfs
from kwecli import abi
from kwecli.paths import ROOT


def abi_codes():
    text = (ROOT / "pyx/kwe/common/abi.pxd").read_text()
    return {name: int(value) for name, value in re.findall(r"^\s+(E_\w+) = (-?\d+)", text, re.M)}


def test_every_code_in_abi_has_a_name_and_a_meaning():
    table = errors.py_table()
    assert {name: code for code, name, _ in table} == abi_codes()
    assert all(meaning and "\n" not in meaning for _, _, meaning in table)
    assert len({code for code, _, _ in table}) == len(table)


def test_kernel_and_host_tools_share_the_table():
    assert {code: (name, meaning) for code, name, meaning in errors.py_table()} == abi.ERRORS


def test_percent_e_prints_name_and_meaning():
    assert kformat.py_format(b"[%e]", abi.E_NOENT) == b"[E_NOENT: no such file, tag, program or workflow]"
    assert kformat.py_format(b"%e", 0) == b"E_OK: success"
    assert kformat.py_format(b"%e|%e", 7, -999) == b"unknown error 7|unknown error -999"


@given(st.integers(-(2**63), 2**63 - 1))
def test_percent_e_matches_the_host_tools_for_any_code(code):
    assert kformat.py_format(b"%e", code).decode() == abi.error_text(code)


def test_filesystem_errors_use_the_same_words():
    assert tfs.error_text(abi.E_NOSPC) == abi.error_text(abi.E_NOSPC) == \
        "E_NOSPC: no space left on the volume"
    assert str(tfs.FSError(abi.E_EXIST, "tag")) == "tag: E_EXIST: already exists"


def test_kwe_errors_prints_the_table():
    import subprocess
    import sys
    run = [sys.executable, "-m", "kwecli", "errors"]
    one = subprocess.run(run + ["-10"], capture_output=True, text=True, check=True).stdout
    assert one == " -10  E_NOENT: no such file, tag, program or workflow\n"
    every = subprocess.run(run, capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(every) == len(abi.ERRORS) and every[0] == "   0  E_OK: success"
    bad = subprocess.run(run + ["E_NOPE"], capture_output=True, text=True)
    assert bad.returncode != 0 and "no status code 'E_NOPE'" in bad.stderr
