"""A traced boot: the workflow demo's trace is complete, checksummed, and
its node slices respect the DAG."""
import json

from conftest import boot
from kwecli import trace


def test_traced_workflows_respect_their_dags(tmp_path):
    b = boot("run=init init=wfdemo trace=1", timeout=120)
    assert b.ok, b.log
    t = trace.parse(b.log)
    assert t.garbled == [] and t.overwritten == 0 and len(t.records) > 100
    s = trace.slices(t)
    runs = {n["run"] for n in s["nodes"]}
    assert len(runs) == 3                                   # fanout, retry, failure
    where = {(n["run"], n["node"]): n for n in s["nodes"]}
    checked = 0
    for run, pairs in s["edges"].items():
        for dep, node in pairs:
            if (run, node) in where:                        # cancelled nodes never start
                assert where[(run, node)]["start"] >= where[(run, dep)]["end"], (run, dep, node)
                checked += 1
    assert checked >= 7
    fan = min(runs)
    parallel = [where[(fan, i)] for i in (1, 2, 3)]
    assert max(p["start"] for p in parallel) < min(p["end"] for p in parallel)    # in flight together
    timer, first, last = where[(fan, 6)], where[(fan, 1)], where[(fan, 5)]
    assert timer["start"] < first["start"] and timer["end"] > last["end"]        # the 40 ms node beside them
    assert {d["deck"] for d in s["decks"]} >= {0, 1, 2}
    trace.write(t, tmp_path / "trace.json", tmp_path / "trace.png")
    assert json.loads((tmp_path / "trace.json").read_text())["otherData"]["records"] == len(t.records)


def test_tracing_off_prints_nothing():
    b = boot("run=init init=hello")
    assert b.ok and "TRACE-BEGIN" not in b.log


def test_stage_counters_cover_the_completion_path():
    b = boot("run=init init=wfdemo stages=1", timeout=120)
    assert b.ok, b.log
    rows = {name: (cycles, entries) for name, cycles, entries in trace.stages(b.log)}
    assert list(rows) == ["user", "kernel", "ring", "route", "deck", "engine", "complete", "wake"]
    for name in ("kernel", "ring", "route", "deck", "engine", "complete", "wake"):
        assert rows[name][0] > 0 and rows[name][1] > 0, (name, rows[name])
    assert trace.stage_table(trace.stages(b.log))[1].split()[0] == "user"
