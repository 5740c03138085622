"""Issue 5 in the booted kernel: the workflow demos' bytes against Python,
event-driven latency, full rings, and WAIT races."""
import re
import struct
import zlib

import pytest

from conftest import boot
from kwecli import abi
from kwecli.paths import ROOT

TEXT = b"KWE fan-out/fan-in: " + b"a" * 24 + b" " + b"b" * 12 + b" 0123456789 " + b"c" * 30 + b"!"


def xor(data, key, n):
    k = key.to_bytes(8, "little")
    return bytes(c ^ k[i % n] for i, c in enumerate(data))


def demo_nodes(log, name):
    out = {}
    for m in re.finditer(rf"^wfdemo {name} node (\d+) status (-?\d+) attempts (\d+) value (\w+) "
                         rf"length (\d+) out (\w*)$", log, re.M):
        node, status, attempts, value, length, hexout = m.groups()
        out[int(node)] = dict(status=int(status), attempts=int(attempts), value=int(value, 16),
                              length=int(length), out=bytes.fromhex(hexout))
    return out


def test_workflow_demos_match_python_byte_for_byte():
    b = boot("run=init init=wfdemo", timeout=120)
    assert b.ok, b.log
    fan = demo_nodes(b.log, "fanout")
    rle, crc, x = abi.rle_encode(TEXT), zlib.crc32(TEXT), xor(TEXT, 0x5A3C, 2)
    combined = rle + struct.pack("<I", crc) + x
    assert fan[0]["out"] == TEXT
    assert fan[1]["out"] == rle
    assert fan[2]["value"] == crc and fan[2]["out"] == struct.pack("<I", crc)
    assert fan[3]["out"] == x
    assert fan[4]["out"] == combined
    assert fan[5]["value"] == zlib.crc32(combined)
    assert abi.rle_decode(fan[1]["out"]) == TEXT
    assert all(fan[i]["length"] == len(fan[i]["out"]) for i in range(6))    # when it happened: test_trace_boot
    assert "wfdemo fanout summary status 0 done 7 failed 0 cancelled 0" in b.log

    retry = demo_nodes(b.log, "retry")
    assert (retry[0]["status"], retry[0]["attempts"]) == (0, 3)
    assert retry[1]["value"] == zlib.crc32(b"after the retries")
    assert "wfdemo retry summary status 0 done 2" in b.log

    fail = demo_nodes(b.log, "failure")
    assert fail[1]["status"] == abi.E_BADDATA
    assert fail[2]["status"] == fail[3]["status"] == abi.E_CANCELLED
    assert fail[0]["value"] == zlib.crc32(b"independent") and fail[4]["status"] == 0
    assert (fail[5]["status"], fail[5]["attempts"]) == (abi.E_AGAIN, 3)
    assert (f"wfdemo failure summary status {abi.E_BADDATA} done 2 failed 2 cancelled 2 "
            f"node 1 deck {abi.DECK_OPERATIONS}") in b.log


def sh_nodes(log):
    """sh's `wf run` lines: name -> status, attempts, value, shown output, length."""
    out = {}
    for m in re.finditer(r"^  (\S+) +(E_\w+) +attempts (\d+) +\d+ ms  value 0x(\w+)  "
                         r"(?:no output|(?:\"(.*)\"|([0-9a-f]+))(?:\.\.\.)? \((\d+) bytes\))$", log, re.M):
        name, status, attempts, value, text, hexout, length = m.groups()
        shown = text.encode() if text is not None else bytes.fromhex(hexout or "")
        out[name] = dict(status=getattr(abi, status), attempts=int(attempts), value=int(value, 16),
                         shown=shown, length=int(length or 0))
    return out


@pytest.fixture(scope="module")
def wfdemo_log():
    b = boot("run=init init=wfdemo", timeout=120)
    assert b.ok, b.log
    return b.log


@pytest.mark.parametrize("name", ["fanout", "retry", "failure"])
def test_the_shipped_workflow_files_give_what_wfdemo_gives(name, wfdemo_log):
    """`wf run NAME` (sh reading workflows/NAME.wf from TagFS) against wfdemo's
    own run of the same DAG: every node's status, attempts, value and output."""
    from kwe.common import wflang
    names = [n["name"] for n in wflang.py_parse((ROOT / "workflows" / f"{name}.wf").read_bytes())]
    demo = demo_nodes(wfdemo_log, name)
    b = boot(f"run=init init=sh args=-c,wf,run,{name}", timeout=120)
    assert b.status == (1 if name == "failure" else 0), b.log
    ours = sh_nodes(b.log)
    assert sorted(ours) == sorted(names) and len(demo) == len(names), b.log
    for i, d in demo.items():
        mine = ours[names[i]]
        assert (mine["status"], mine["attempts"], mine["value"]) == (d["status"], d["attempts"], d["value"]), (i, b.log)
        if d["status"] == 0 and d["out"]:
            assert mine["length"] == d["length"] and mine["shown"] and d["out"].startswith(mine["shown"]), (i, b.log)


def test_submit_to_completion_is_well_under_a_tick():
    b = boot("run=init init=latency args=300", timeout=120)
    assert b.ok, b.log
    tick = int(re.search(r"one tick = (\d+) cycles", b.log).group(1))
    outer = int(re.search(r"process submit->wake median (\d+) cycles", b.log).group(1))
    assert outer < tick / 10, b.log               # event-driven: no waiting for the next tick


def test_full_rings_make_the_producer_wait_and_keep_every_result():
    b = boot("run=init init=spawner args=1,flood,2000", timeout=120)
    assert b.ok, b.log
    m = re.search(r"flood: (\d+) results for (\d+) events, (\d+) wrong, (\d+) submits took fewer than offered "
                  r"\(rings of 16/16\)", b.log)
    assert m and m.group(1) == m.group(2) == "2000" and m.group(3) == "0" and int(m.group(4)) > 0


def test_wait_does_not_miss_completions_that_came_first():
    b = boot("run=init init=waits", timeout=60)
    assert b.ok, b.log
    assert "3 of 3 checks" in b.log
    for ms in re.findall(r"returned after (\d+) ms", b.log):
        assert int(ms) < 50, b.log


def test_the_demo_shows_everything_and_ends_cleanly():
    b = boot(None, timeout=120)                             # what tools/kwe run boots
    assert b.ok, b.log
    for text in ("hello from pid", "counter A done", "wfdemo fanout summary status 0",
                 "latency: 200 runs", "init: 5 children ended, 0 failed", "kernel: every page came back"):
        assert text in b.log, text
