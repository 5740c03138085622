"""Issue 5 in the booted kernel: the workflow demos' bytes against Python,
event-driven latency, full rings, and WAIT races."""
import re
import struct
import zlib

from conftest import boot
from kwecli import abi

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
