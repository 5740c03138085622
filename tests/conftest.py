"""Shared fixtures.  tools/kwe test puts build/pyx (the hosted package kwe)
and tools/ (kwecli) on PYTHONPATH; the kernel image is already built."""
import re

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


HEAP_WALK = re.compile(r"heap: walk at power-off: \d+ objects, \d+ bytes, (\d+) problems \((\d+) seen earlier\)")


def assert_heap_sound(log):
    """No heap problem and no account left non-zero reported, and if the
    kernel reached power-off, its heap walk found nothing."""
    assert "heap: CORRUPT" not in log, log
    assert "ended still holding" not in log, log            # an account not back to zero
    assert "it does not hold" not in log, log               # given back twice
    for m in HEAP_WALK.finditer(log):
        assert m.group(1) == "0" and m.group(2) == "0", log


def assert_ktap_passed(b, at_least=1):
    results, plan = ktap.parse(b.log)
    failed = [r.name for r in results if not r.ok]
    assert not failed, f"failed in-kernel checks {failed}\n{b.log}"
    assert plan == len(results) and len(results) >= at_least, b.log
    assert b.status == 0, f"status {b.status}\n{b.log}"
