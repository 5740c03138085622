"""cy2c refuses kernel Cython that cannot work without module import or
that silently does something else than it says."""
import subprocess
import sys

import pytest

from kwecli.paths import ROOT

CY2C = ROOT / "tools" / "build" / "cy2c.py"

ASSIGNS = """
cdef int pending
cdef void note() noexcept nogil:
    {global_line}
    pending = 1
cdef int read() noexcept nogil:
    return pending
"""


def kernel_c(tmp_path, text):
    src = tmp_path / "probe.pyx"
    src.write_text(text)
    return subprocess.run([sys.executable, str(CY2C), "--mode", "kernel", "--module-name", "kwe.probe",
                           "-I", str(tmp_path), str(src), str(tmp_path / "probe.c")],
                          capture_output=True, text=True)


@pytest.mark.parametrize("global_line, refused", [("pass", True), ("global pending", False)])
def test_a_module_variable_assigned_without_global_is_refused(tmp_path, global_line, refused):
    r = kernel_c(tmp_path, ASSIGNS.format(global_line=global_line))
    assert (r.returncode != 0) == refused, r.stderr
    assert ("pending is a module variable and a function's local" in r.stderr) == refused, r.stderr


def test_a_local_declared_with_a_module_variables_name_is_refused(tmp_path):
    r = kernel_c(tmp_path, "cdef int turn\ncdef int f() noexcept nogil:\n    cdef int turn = 2\n    return turn\n"
                       "cdef int g() noexcept nogil:\n    return turn\n")
    assert r.returncode != 0 and "turn is a module variable and a function's local" in r.stderr, r.stderr


def test_the_old_guide_with_its_missing_global_is_refused(tmp_path):
    """The bug that made this check: run_own's `work_pending = True` set a local."""
    head = "cdef void run_own(Process* p) noexcept nogil:\n"
    now = (ROOT / "pyx/kwe/events/guide.pyx").read_text()
    old = now.replace(head + "    global work_pending\n", head)
    assert old != now
    src = tmp_path / "guide.pyx"
    src.write_text(old)
    r = subprocess.run([sys.executable, str(CY2C), "--mode", "kernel", "--module-name", "kwe.events.guide",
                        "-I", str(ROOT / "pyx"), str(src), str(tmp_path / "guide.c")],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "work_pending is a module variable" in r.stderr, r.stderr
