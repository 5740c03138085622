"""Shared fixtures.  tools/kwe test puts build/pyx (the hosted package kwe)
and tools/ (kwecli) on PYTHONPATH; the kernel image is already built."""
import subprocess
import sys

import pytest

from kwecli import ktap, qemu
from kwecli.paths import IMAGE


@pytest.fixture
def machine():
    """A freshly reset simulated machine behind the hosted HAL."""
    from kwe.base import hal
    from kwe.arch import traps
    hal.reset(16 << 20)
    traps.py_reset()
    yield hal
    hal.reset()


@pytest.fixture(scope="session")
def image():
    assert IMAGE.exists(), "build/kwe.img missing: run through tools/kwe test"
    return IMAGE


def boot(cmdline, timeout=60, **kw):
    """Boot the kernel once under TCG with a timeout (see kwecli.qemu.boot).
    Every boot that powers off cleanly must have walked a sound heap."""
    b = qemu.boot(cmdline, timeout=timeout, **kw)
    assert_heap_sound(b.log)
    return b


def assert_heap_sound(log):
    """No heap problem and no account left non-zero reported, and if the
    kernel reached power-off, its heap walk found nothing."""
    problems = qemu.kernel_problems(log)
    assert not problems, f"{problems}\n{log}"


def kwe_fs(*args, check=True):
    """tools/kwe fs ARGS, as a user runs it (in a child process)."""
    r = subprocess.run([sys.executable, "-c", "import sys; from kwecli import fs; sys.exit(fs.main(sys.argv[1:]))",
                        *map(str, args)], capture_output=True, text=True)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def assert_ktap_passed(b, at_least=1):
    results, plan = ktap.parse(b.log)
    failed = [r.name for r in results if not r.ok]
    assert not failed, f"failed in-kernel checks {failed}\n{b.log}"
    assert plan == len(results) and len(results) >= at_least, b.log
    assert b.status == 0, f"status {b.status}\n{b.log}"
