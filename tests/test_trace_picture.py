"""The pictures tools/kwe trace draws, from one real traced boot of the
workflow demo: the timeline's legend covers every colour and mark, a
cancelled node is drawn as cancelled, every attempt of a retried node is
its own bar, and the Graphviz DAG names each node's final status.  What
the pictures say is checked against what wfdemo itself printed."""
import re

import pytest
from matplotlib.colors import to_rgba

from conftest import boot
from kwecli import trace

DEMOS = {1: "fanout", 2: "retry", 3: "failure"}         # wfdemo's workflow ids


@pytest.fixture(scope="module")
def traced():
    b = boot("run=init init=wfdemo trace=1 trace_records=65536", timeout=120)
    assert b.ok, b.log
    t = trace.parse(b.log)
    assert t.garbled == [] and t.overwritten == 0
    runs = trace.graph(trace.slices(t))
    by_name = {DEMOS[g["workflow"]]: (run, g) for run, g in runs.items()}
    assert sorted(by_name) == ["failure", "fanout", "retry"]
    return b.log, t, by_name


@pytest.fixture(scope="module")
def timeline(traced):
    fig, shown = trace.figure(traced[1])
    yield fig, fig.axes[0], shown
    import matplotlib.pyplot as plt
    plt.close(fig)


def printed(log):
    """What wfdemo printed per node: {(demo, node): (status, attempts)}."""
    return {(m[1], int(m[2])): (int(m[3]), int(m[4]))
            for m in re.finditer(r"^wfdemo (\w+) node (\d+) status (-?\d+) attempts (\d+)", log, re.M)}


def test_the_graph_agrees_with_what_the_demo_printed(traced):
    log, _, by_name = traced
    seen = printed(log)
    assert len(seen) == 15
    for (demo, i), (status, tries) in seen.items():
        n = by_name[demo][1]["nodes"][i]
        state = "done" if status == 0 else "cancelled" if status == trace.abi.E_CANCELLED else "failed"
        assert (n["state"], len(n["attempts"])) == (state, tries), (demo, i, n)
        assert n["status"] == status


def test_the_legend_explains_every_colour_and_mark(timeline):
    _, ax, shown = timeline
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == shown["legend"]
    for kind in ("deck", "cpu", "done", "failed", "retried"):
        assert trace.BARS[kind][1] in texts, kind
    for mark in ("backoff", "cancelled", "depends"):
        assert trace.MARKS[mark][1] in texts, mark
    explained = {to_rgba(h.get_facecolor()) for h in ax.get_legend().legend_handles if hasattr(h, "get_facecolor")}
    used = {tuple(c) for coll in ax.collections for c in coll.get_facecolors()}
    assert used and used <= explained


def row_of(ax, start):
    """The bar collection and marks of the timeline row whose label starts so."""
    bars = [c for c in ax.collections if (c.get_gid() or "").startswith(start)]
    marks = [ln for ln in ax.lines if (ln.get_gid() or "").startswith(start)]
    return bars, marks


def test_cancelled_nodes_are_drawn_cancelled(traced, timeline):
    _, _, by_name = traced
    _, ax, shown = timeline
    run, g = by_name["failure"]
    assert [i for i, n in sorted(g["nodes"].items()) if n["state"] == "cancelled"] == [2, 3]
    for i in (2, 3):
        label = f"run {run} node {i} (cancelled)"
        assert shown["rows"][label] == []                           # it never ran: no bar
        bars, marks = row_of(ax, label)
        assert bars == [] and len(marks) == 1 and marks[0].get_marker() == "X"
        assert marks[0].get_xdata()[0] == g["nodes"][1]["at"]        # when node 1 failed


def colours(coll):
    return [tuple(c) for c in coll.get_facecolors()]


def test_each_attempt_is_its_own_bar(traced, timeline):
    _, _, by_name = traced
    _, ax, shown = timeline
    orange, green, red = (to_rgba(trace.BARS[k][0]) for k in ("retried", "done", "failed"))
    for demo, i, op, last in (("retry", 0, "FLAKY", green), ("failure", 5, "FLAKY", red)):
        run = by_name[demo][0]
        (bars,), _ = row_of(ax, f"run {run} node {i} {op} (3 attempts)")
        assert len(bars.get_paths()) == 3 and colours(bars) == [orange, orange, last]
        tries = by_name[demo][1]["nodes"][i]["attempts"]
        assert all(a["end"] < b["start"] for a, b in zip(tries, tries[1:]))   # the backoff between them
    run = by_name["fanout"][0]
    (bars,), _ = row_of(ax, f"run {run} node 0 NOP")
    assert len(bars.get_paths()) == 1
    assert shown["rows"][f"run {run} node 0 NOP"] == ["done"]


def test_the_dag_picture_names_every_status(traced, tmp_path):
    _, t, by_name = traced
    shown = trace.write(t, tmp_path / "t.json", tmp_path / "t.png", tmp_path / "dag.svg")
    assert shown["dag"] is True and (tmp_path / "t.png").stat().st_size > 10_000
    svg = (tmp_path / "dag.svg").read_text()
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    run = by_name["failure"][0]
    assert f"run {run}, workflow 3: first error E_BADDATA" in texts
    assert texts.count("cancelled (never ran)") == 2
    assert "failed: E_BADDATA" in texts and "failed: E_AGAIN" in texts
    assert texts.count("3 attempts") == 2 and texts.count("done") == 11
    edges = re.findall(r'<g id="edge\d+" class="edge">\s*<title>(r\d+n\d+)&#45;&gt;(r\d+n\d+)</title>', svg)
    assert len(edges) == 7 + 1 + 3
    assert (f"r{run}n1", f"r{run}n2") in edges and (f"r{run}n2", f"r{run}n3") in edges


def test_without_graphviz_only_the_dag_is_skipped(traced, tmp_path, monkeypatch):
    monkeypatch.setattr(trace.shutil, "which", lambda name: None)
    shown = trace.write(traced[1], tmp_path / "t.json", tmp_path / "t.png", tmp_path / "dag.svg")
    assert shown["dag"] is False and not (tmp_path / "dag.svg").exists()
    assert (tmp_path / "t.png").exists() and (tmp_path / "t.json").exists()
