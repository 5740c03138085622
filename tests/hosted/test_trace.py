"""The trace path, hosted: the kernel's trace module records and dumps;
the converter reads it back, rejects garbled lines, and builds the JSON."""
import json

from kwe.base import hal
from kwe.debug import trace as ktrace
from kwecli import trace
from memory import fresh

# The clock figures the kernel passes from kwe.dev.pit (hosted: a 1 GHz TSC, 100 Hz ticks).
TSC_HZ, TICK_HZ = 1_000_000_000, 100
SUBMIT, PICKUP, ENTER, EXIT, COMPLETE, NODE, EDGE, RUN_START, RUN_END, SWITCH, IRQ = range(1, 12)


def recorded(records):
    fresh()
    hal.serial_clear()
    ktrace.py_start(1024)
    for r in records:
        ktrace.py_record(*r)
    ktrace.py_dump(TSC_HZ, TICK_HZ)
    ktrace.py_stop()
    return hal.serial_output().decode().replace("\r", "")


def sample():
    """A run of two nodes (0 -> 1) through Operations, one process switch, an IRQ."""
    return [(RUN_START, 0, 7, 3, 0, 0xFF, 1), (EDGE, 0, 7, 3, 1, 0xFF, 0),
            (NODE, 100, 7, 3, 0, 0xFF, 0x0101), (PICKUP, 100, 7, 3, 0, 1, 0),
            (ENTER, 100, 7, 3, 0, 1, 0), (EXIT, 100, 7, 3, 0, 1, 0), (COMPLETE, 100, 7, 3, 0, 0xFF, 0),
            (NODE, 101, 7, 3, 1, 0xFF, 0x0102), (ENTER, 101, 7, 3, 1, 1, 0), (EXIT, 101, 7, 3, 1, 1, 0),
            (COMPLETE, 101, 7, 3, 1, 0xFF, 0), (RUN_END, 0, 7, 3, 0, 0xFF, 0),
            (SWITCH, 0, 0, 3, 0, 0xFF, 0), (IRQ, 0, 0, 0, 0, 0xFF, 32)]


def test_round_trip():
    t = trace.parse(recorded(sample()))
    assert len(t.records) == 14 and t.garbled == [] and t.overwritten == 0
    assert [r.kind for r in t.records][:3] == ["run_start", "edge", "node"]
    assert all(a.tsc <= b.tsc for a, b in zip(t.records, t.records[1:]))
    s = trace.slices(t)
    assert [(n["node"], n["op"]) for n in s["nodes"]] == [(0, "CRC32"), (1, "DJB2")]
    assert s["edges"][7] == [(0, 1)]
    assert s["nodes"][1]["start"] >= s["nodes"][0]["end"]
    assert [d["deck"] for d in s["decks"]] == [1, 1]


def test_garbled_lines_are_detected_not_misread():
    log = recorded(sample()).splitlines()
    victim = next(i for i, l in enumerate(log) if l.startswith("T 4 "))
    parts = log[victim].split()
    flipped = parts[2][:10] + ("0" if parts[2][10] != "0" else "1") + parts[2][11:]
    log[victim] = " ".join([parts[0], parts[1], flipped, parts[3]])      # one hex digit off
    log.insert(victim + 1, "T 99 zz not a record")
    t = trace.parse("\n".join(log))
    assert len(t.garbled) == 2 and len(t.records) == 13
    assert all(r.seq != 4 for r in t.records)


def test_overwrite_oldest_and_count():
    fresh()
    hal.serial_clear()
    ktrace.py_start(8)
    for i in range(20):
        ktrace.py_record(IRQ, extra=i)
    ktrace.py_dump(TSC_HZ, TICK_HZ)
    t = trace.parse(hal.serial_output().decode().replace("\r", ""))
    assert t.overwritten == 12 and [r.extra for r in t.records] == list(range(12, 20))


def test_chrome_json_has_tracks_slices_and_flows(tmp_path):
    t = trace.parse(recorded(sample()))
    trace.write(t, tmp_path / "t.json", tmp_path / "t.png")
    data = json.loads((tmp_path / "t.json").read_text())
    ev = data["traceEvents"]
    names = {e["args"]["name"] for e in ev if e["ph"] == "M"}
    assert {"Decks", "Operations", "workflow run 7", "node 0", "node 1", "Interrupts"} <= names
    assert {e["name"] for e in ev if e["ph"] == "X" and e["cat"] == "workflow"} == {"node 0 CRC32", "node 1 DJB2"}
    starts = [e for e in ev if e["ph"] == "s"]
    ends = [e for e in ev if e["ph"] == "f"]
    assert len(starts) == len(ends) == 1 and starts[0]["tid"] == 0 and ends[0]["tid"] == 1
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
