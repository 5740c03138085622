"""Turning the kernel's trace (pyx/kwe/debug/trace.pyx, printed on serial) into a
Chrome/Perfetto trace JSON, a PNG timeline and a Graphviz picture of the
workflow DAGs.  docs/trace.md has the format."""
import heapq
import json
import re
import shutil
import struct
import subprocess
import zlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from . import abi

RECORD = struct.Struct("<QQQIIHBBI")          # struct Record, 40 bytes
KINDS = {1: "submit", 2: "pickup", 3: "deck_enter", 4: "deck_exit", 5: "complete", 6: "node",
         7: "edge", 8: "run_start", 9: "run_end", 10: "switch", 11: "irq", 12: "deny"}
DECKS = {0: "Execution", 1: "Operations", 2: "Hardware", 3: "Storage", 4: "Network"}
OPNAMES = {v: k[3:] for k, v in abi.C.items() if k.startswith("OP_")}
NO_DECK = 0xFF


@dataclass
class Record:
    seq: int
    tsc: int
    id: int
    run: int
    pid: int
    extra: int
    node: int
    kind: str
    deck: int


@dataclass
class Trace:
    tsc_hz: int
    tick_hz: int
    overwritten: int
    records: list
    garbled: list                # lines that failed their checksum or format


def parse(log):
    """Find the TRACE block in a serial log and decode it, checking every line."""
    header = re.search(r"^TRACE-BEGIN version 1 tsc_hz (\d+) tick_hz (\d+) records (\d+) overwritten (\d+)$",
                       log, re.M)
    if not header:
        raise ValueError("no trace in this log (was it booted with trace=1?)")
    tsc_hz, tick_hz, _, overwritten = map(int, header.groups())
    records, garbled = [], []
    for line in log[header.end():].splitlines():
        if line.startswith("TRACE-END"):
            break
        if not line.startswith("T "):
            continue
        m = re.fullmatch(r"T (\d+) ([0-9a-f]{80}) ([0-9a-f]{8})", line)
        if not m:
            garbled.append(line)
            continue
        seq, hexdata, crc = int(m.group(1)), m.group(2), int(m.group(3), 16)
        if zlib.crc32(hexdata.encode(), zlib.crc32(struct.pack("<Q", seq))) != crc:
            garbled.append(line)
            continue
        tsc, id_, run, pid, extra, node, kind, deck, _ = RECORD.unpack(bytes.fromhex(hexdata))
        records.append(Record(seq, tsc, id_, run, pid, extra, node, KINDS.get(kind, str(kind)), deck))
    return Trace(tsc_hz, tick_hz, overwritten, records, garbled)


def _clock(trace):
    """Record time -> microseconds since the first record (thousands of
    cycles when the TSC rate is unknown)."""
    t0 = trace.records[0].tsc if trace.records else 0
    hz = trace.tsc_hz or 1_000_000_000
    return lambda tsc: (tsc - t0) * 1e6 / hz


def _signed(u32):
    """Statuses travel as u32 in the records; errors are negative."""
    return struct.unpack("<i", struct.pack("<I", u32))[0]


def attempts(trace):
    """Each workflow node event's attempts: {event id: [dict(start, end, status)]}.
    A retried node is the same event run again (workflow.pyx node_finished
    defers it), with no new node or pickup record: an attempt ends when the
    Execution deck has handled it, the next starts at the event's next
    deck_enter.  end is None for an attempt still running at the trace's end."""
    us, out, finished = _clock(trace), {}, set()
    for r in trace.records:
        if r.kind == "node":
            out[r.id] = [dict(start=us(r.tsc), end=None, status=0)]
        elif r.id not in out or r.id in finished:
            continue
        elif r.kind == "deck_enter" and out[r.id][-1]["end"] is not None:
            out[r.id].append(dict(start=us(r.tsc), end=None, status=0))
        elif r.kind == "deck_exit" and out[r.id][-1]["end"] is None:
            a = out[r.id][-1]
            a["status"] = a["status"] or _signed(r.extra)     # the deck that failed it; Execution's exit says 0
            if r.deck == abi.DECK_EXECUTION:
                a["end"] = us(r.tsc)
        elif r.kind == "complete":
            a = out[r.id][-1]
            a["end"] = us(r.tsc) if a["end"] is None else a["end"]
            a["status"] = _signed(r.extra)
            finished.add(r.id)
    return out


def slices(trace):
    """The trace as intervals: deck visits, workflow nodes (with their
    attempts), runs, process run spans.  Times from _clock."""
    us = _clock(trace)
    opcode, node_of, open_deck, node_start = {}, {}, {}, {}
    decks, nodes, running, events, irqs, edges, runs = [], [], [], [], [], defaultdict(list), {}
    last_switch = None
    for r in trace.records:
        if r.kind == "submit":
            opcode[r.id] = r.extra
            events.append(dict(id=r.id, pid=r.pid, start=us(r.tsc), end=None))
        elif r.kind == "node":
            opcode[r.id] = r.extra
            node_of[r.id] = (r.run, r.node)
            node_start[r.id] = us(r.tsc)
        elif r.kind == "edge":
            edges[r.run].append((r.extra, r.node))           # dependency -> dependent
        elif r.kind == "run_start":
            runs[r.run] = dict(workflow=r.extra, start=us(r.tsc), end=None, status=None)
        elif r.kind == "run_end":
            runs.setdefault(r.run, dict(workflow=None, start=None)).update(end=us(r.tsc), status=_signed(r.extra))
        elif r.kind == "deck_enter":
            open_deck[r.id] = us(r.tsc)
        elif r.kind == "deck_exit" and r.id in open_deck:
            decks.append(dict(deck=r.deck, id=r.id, start=open_deck.pop(r.id), end=us(r.tsc),
                              op=OPNAMES.get(opcode.get(r.id), "?"), run=r.run, node=r.node,
                              status=_signed(r.extra)))
        elif r.kind == "complete":
            if r.id in node_start:
                run, node = node_of[r.id]
                nodes.append(dict(run=run, node=node, id=r.id, start=node_start.pop(r.id), end=us(r.tsc),
                                  op=OPNAMES.get(opcode.get(r.id), "?"), status=_signed(r.extra)))
            for e in events:
                if e["id"] == r.id and e["end"] is None:
                    e["end"] = us(r.tsc)
        elif r.kind == "switch":
            if last_switch is not None:
                running.append(dict(pid=last_switch[0], start=last_switch[1], end=us(r.tsc)))
            last_switch = (r.extra, us(r.tsc))
        elif r.kind == "irq":
            irqs.append(dict(vector=r.extra, at=us(r.tsc)))
    end = us(trace.records[-1].tsc) if trace.records else 0
    if last_switch is not None:
        running.append(dict(pid=last_switch[0], start=last_switch[1], end=end))
    for e in events:
        e["end"] = end if e["end"] is None else e["end"]
    unfinished = [dict(run=node_of[i][0], node=node_of[i][1], id=i, start=t, end=None, status=None,
                       op=OPNAMES.get(opcode.get(i), "?")) for i, t in node_start.items()]
    tries = attempts(trace)
    for n in nodes + unfinished:
        n["attempts"] = tries.get(n["id"], [])
    return dict(decks=decks, nodes=nodes, running=running, events=events, irqs=irqs, edges=edges,
                runs=runs, unfinished=unfinished, end=end)


def graph(s):
    """Every workflow run in slices s: {run: dict(workflow, start, end, status,
    edges, nodes={i: dict(state, op, status, attempts, at)})}, state one of
    done, failed, running (at the trace's end), cancelled, not run."""
    blank = dict(workflow=None, start=None, end=None, status=None)
    keys = set(s["runs"]) | set(s["edges"]) | {n["run"] for n in s["nodes"] + s["unfinished"]}
    runs = {run: dict(s["runs"].get(run, blank), edges=s["edges"].get(run, []), nodes={}) for run in keys}
    for n in s["nodes"] + s["unfinished"]:
        state = "running" if n["end"] is None else ("done" if n["status"] >= 0 else "failed")
        runs[n["run"]]["nodes"][n["node"]] = dict(state=state, op=n["op"], status=n["status"],
                                                  attempts=n["attempts"], at=n["end"])
    for g in runs.values():
        for i in {i for pair in g["edges"] for i in pair} - set(g["nodes"]):
            g["nodes"][i] = dict(state="not run", op=None, status=None, attempts=[], at=None)
        _cancelled(g)
    return runs


def _cancelled(g):
    """The kernel writes no record for a node it cancels (workflow.pyx
    cancel_descendants, when a node fails): a node that never started, below
    a failed or cancelled one, was cancelled when the first of those failed.
    Only when the run's start is in the trace: its edge records follow it, so
    they are all there (an overwrite loses the oldest records first)."""
    if g["start"] is None:
        return
    children = defaultdict(list)
    for dep, node in g["edges"]:
        children[dep].append(node)
    front = [(n["at"], i) for i, n in g["nodes"].items() if n["state"] == "failed"]
    heapq.heapify(front)                                  # earliest failure first: it is the one that cancels
    while front:
        at, i = heapq.heappop(front)
        for c in children[i]:
            if g["nodes"][c]["state"] == "not run":
                g["nodes"][c].update(state="cancelled", status=abi.E_CANCELLED, at=at)
                heapq.heappush(front, (at, c))


def chrome(trace):
    """Chrome/Perfetto trace-event JSON: decks, workflow runs (nodes, with
    their dependencies as flows), processes, interrupts."""
    s = slices(trace)
    out = []
    meta = lambda pid, name, tid=None, tname=None: (
        [{"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": name}}] +
        ([{"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": tname}}] if tid is not None else []))
    for d, name in DECKS.items():
        out += meta(1, "Decks", d, name)
    for v in s["decks"]:
        out.append({"ph": "X", "name": v["op"], "cat": "deck", "pid": 1, "tid": v["deck"], "ts": v["start"],
                    "dur": max(v["end"] - v["start"], 0.001),
                    "args": {"event": v["id"], "run": v["run"], "node": v["node"], "status": v["status"]}})
    where = {}
    for n in s["nodes"]:
        pid = 1000 + n["run"]
        out += meta(pid, f"workflow run {n['run']}", n["node"], f"node {n['node']}")
        out.append({"ph": "X", "name": f"node {n['node']} {n['op']}", "cat": "workflow", "pid": pid,
                    "tid": n["node"], "ts": n["start"], "dur": max(n["end"] - n["start"], 0.001),
                    "args": {"event": n["id"], "status": n["status"], "attempts": len(n["attempts"])}})
        where[(n["run"], n["node"])] = n
    out += _chrome_attempts(graph(s))
    flow = 0
    for run, pairs in s["edges"].items():
        for dep, node in pairs:
            a, b = where.get((run, dep)), where.get((run, node))
            if not a or not b:
                continue
            flow += 1
            out.append({"ph": "s", "id": flow, "name": "depends", "cat": "dag", "pid": 1000 + run,
                        "tid": dep, "ts": max(a["end"] - 0.001, a["start"])})
            out.append({"ph": "f", "bp": "e", "id": flow, "name": "depends", "cat": "dag", "pid": 1000 + run,
                        "tid": node, "ts": b["start"]})
    for r in s["running"]:
        out += meta(2000 + r["pid"], f"process {r['pid']}" if r["pid"] else "idle", 0, "CPU")
        out.append({"ph": "X", "name": "running", "cat": "sched", "pid": 2000 + r["pid"], "tid": 0,
                    "ts": r["start"], "dur": max(r["end"] - r["start"], 0.001)})
    for e in s["events"]:
        out += meta(2000 + e["pid"], f"process {e['pid']}", 1, "events")
        out.append({"ph": "X", "name": f"event {e['id']}", "cat": "event", "pid": 2000 + e["pid"], "tid": 1,
                    "ts": e["start"], "dur": max(e["end"] - e["start"], 0.001)})
    out += meta(3, "Interrupts", 0, "IRQ")
    for i in s["irqs"]:
        out.append({"ph": "i", "s": "t", "name": f"vector {i['vector']}", "cat": "irq", "pid": 3, "tid": 0,
                    "ts": i["at"]})
    return {"traceEvents": out, "displayTimeUnit": "ns",
            "otherData": {"tsc_hz": trace.tsc_hz, "records": len(trace.records),
                          "overwritten": trace.overwritten, "garbled_lines": len(trace.garbled)}}


def _chrome_attempts(runs):
    """A retried node's attempts as slices inside its node's slice, and each
    cancelled node as an instant on its own row (it has no slice)."""
    out = []
    for run, g in runs.items():
        pid = 1000 + run
        for i, n in g["nodes"].items():
            if n["state"] == "cancelled":
                out.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": i, "args": {"name": f"node {i}"}})
                out.append({"ph": "i", "s": "t", "name": f"node {i} cancelled", "cat": "workflow", "pid": pid,
                            "tid": i, "ts": n["at"]})
            tries = [a for a in n["attempts"] if a["end"] is not None] if len(n["attempts"]) > 1 else []
            for k, a in enumerate(tries):
                out.append({"ph": "X", "name": f"attempt {k + 1}", "cat": "attempt", "pid": pid, "tid": i,
                            "ts": a["start"], "dur": max(a["end"] - a["start"], 0.001),
                            "args": {"status": a["status"]}})
    return out


# ---- the timeline (matplotlib) ------------------------------------------------------
# Every colour and mark the timeline uses, with the legend's words for it.
BARS = {"deck": ("tab:blue", "deck working on an event"),
        "cpu": ("tab:purple", "process (or idle) has the CPU"),
        "done": ("tab:green", "node attempt: succeeded"),
        "failed": ("tab:red", "node attempt: failed for good"),
        "retried": ("tab:orange", "node attempt: failed, retried"),
        "running": ("tab:gray", "node attempt: still running at the trace's end")}
MARKS = {"backoff": (dict(ls=":", color="0.45"), "waiting to retry (backoff)"),
         "cancelled": (dict(ls="none", marker="X", ms=8, color="0.35"),
                       "node cancelled: a dependency failed, it never ran"),
         "depends": (dict(color="0.4", lw=0.8, marker=">", ms=5), "dependency: it ended -> this started")}


def _row(label, key=None):
    return dict(label=label, key=key, bars=[], waits=[], cancel=None)


def _deck_rows(s):
    rows = {d: _row(f"deck {name}") for d, name in DECKS.items()}
    for v in s["decks"]:
        rows.setdefault(v["deck"], _row(f"deck {v['deck']}"))["bars"].append((v["start"], v["end"], "deck"))
    return list(rows.values())


def _node_row(run, i, n, t_end):
    """One bar per attempt (a node retried twice has three), the backoff
    waits between them, or where it was cancelled."""
    tries = n["attempts"]
    row = _row(f"run {run} node {i} {n['op'] or ''}".rstrip(), key=(run, i))
    if len(tries) > 1:
        row["label"] += f" ({len(tries)} attempts)"
    if n["state"] in ("cancelled", "not run"):
        row["label"] += f" ({n['state']})"
    for k, a in enumerate(tries):
        last = "running" if a["end"] is None else ("done" if a["status"] >= 0 else "failed")
        kind = last if k == len(tries) - 1 else "retried"      # only a failure is retried
        row["bars"].append((a["start"], t_end if a["end"] is None else a["end"], kind))
    row["waits"] = [(a["end"], b["start"]) for a, b in zip(tries, tries[1:])]
    row["cancel"] = n["at"] if n["state"] == "cancelled" else None
    return row


def _cpu_rows(s):
    rows = {}
    for r in s["running"]:
        label = f"process {r['pid']}" if r["pid"] else "idle"
        rows.setdefault(label, _row(label))["bars"].append((r["start"], r["end"], "cpu"))
    return list(rows.values())


def _draw_rows(ax, rows, min_width):
    """Bars (at least min_width wide: a microsecond's deck visit in a 100 ms
    trace would be thinner than a pixel), waits and cancel marks; returns
    which kinds were drawn, for the legend."""
    used = set()
    for y, row in enumerate(rows):
        if row["bars"]:
            ax.broken_barh([(a, max(b - a, min_width)) for a, b, _ in row["bars"]], (y - 0.35, 0.7),
                           facecolors=[BARS[k][0] for _, _, k in row["bars"]], gid=row["label"])
            used |= {k for _, _, k in row["bars"]}
        for a, b in row["waits"]:
            ax.plot([a, b], [y, y], **MARKS["backoff"][0])
            used.add("backoff")
        if row["cancel"] is not None:
            ax.plot([row["cancel"]], [y], gid=row["label"], **MARKS["cancelled"][0])
            used.add("cancelled")
    return used


def _span(row):
    """Where a node row begins and ends: its bars, or its cancel mark."""
    if row["bars"]:
        return row["bars"][0][0], row["bars"][-1][1]
    return row["cancel"], row["cancel"]


def _draw_edges(ax, rows, runs):
    """An arrow per dependency, from where it ended (or was cancelled) to
    where the dependent started (or was cancelled)."""
    y = {row["key"]: i for i, row in enumerate(rows) if row["key"]}
    drawn = set()
    for run, g in runs.items():
        for dep, node in g["edges"]:
            if (run, dep) not in y or (run, node) not in y:
                continue
            x0, x1 = _span(rows[y[(run, dep)]])[1], _span(rows[y[(run, node)]])[0]
            if x0 is not None and x1 is not None:
                ax.annotate("", xy=(x1, y[(run, node)]), xytext=(x0, y[(run, dep)]),
                            arrowprops=dict(arrowstyle="->", color="0.4", lw=0.8))
                drawn.add("depends")
    return drawn


def _legend(ax, used):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    handles = [Patch(color=color, label=text) for k, (color, text) in BARS.items() if k in used]
    handles += [Line2D([], [], label=text, **style) for k, (style, text) in MARKS.items() if k in used]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1), fontsize=7, frameon=False)
    return [h.get_label() for h in handles]


def figure(trace):
    """The timeline: a row per deck, per workflow node (cancelled ones too),
    per process.  Returns (fig, what it shows: dict(legend=[texts],
    rows={label: [bar kinds]}))."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    s = slices(trace)
    runs = graph(s)
    node_rows = [_node_row(run, i, n, s["end"])
                 for run in sorted(runs) for i, n in sorted(runs[run]["nodes"].items())]
    rows = _deck_rows(s) + node_rows + _cpu_rows(s)
    fig, ax = plt.subplots(figsize=(14, max(3, 0.32 * len(rows) + 1.2)))
    used = _draw_rows(ax, rows, min_width=max(s["end"], 1) / 700) | _draw_edges(ax, rows, runs)
    legend = _legend(ax, used)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([row["label"] for row in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("microseconds since the first record (TSC)")
    ax.set_title(f"KWE trace: {len(trace.records)} records, {trace.overwritten} overwritten")
    return fig, dict(legend=legend, rows={row["label"]: [k for _, _, k in row["bars"]] for row in rows})


def png(trace, path):
    fig, shown = figure(trace)
    fig.savefig(path, dpi=110, bbox_inches="tight")       # "tight": the legend sits outside the axes
    import matplotlib.pyplot as plt
    plt.close(fig)
    return shown


# ---- the DAG (Graphviz) -------------------------------------------------------------
DAG_STYLE = {"done": 'fillcolor="palegreen"', "failed": 'fillcolor="salmon"',
             "cancelled": 'fillcolor="lightgrey", style="filled,dashed"',
             "running": 'fillcolor="lightyellow"', "not run": 'fillcolor="white", style="filled,dotted"'}


def _error(code):
    return abi.ERRORS.get(code, (f"error {code}",))[0]


def _node_label(i, n):
    status = {"done": "done", "failed": f"failed: {_error(n['status'])}", "cancelled": "cancelled (never ran)",
              "running": "still running at the trace's end", "not run": "not run"}[n["state"]]
    k = len(n["attempts"])
    tries = [f"{k} attempt{'s' * (k != 1)}"] if k else []
    return "\\n".join([f"node {i} {n['op'] or ''}".rstrip(), status] + tries)     # dot's line break


def _run_label(run, g):
    head = f"run {run}" + (f", workflow {g['workflow']}" if g["workflow"] is not None else "")
    if g["status"] is None:
        return head + ": no end in the trace"
    return head + (": ok" if g["status"] >= 0 else f": first error {_error(g['status'])}")


def dag_dot(trace):
    """The workflow runs in Graphviz's dot language: a cluster per run, a box
    per node (operation, final status, attempts; orange border: retried), an
    arrow per dependency (the trace's edge records)."""
    lines = ["digraph kwe_trace {", "  rankdir=LR;",
             '  node [shape=box, style=filled, fontname="Helvetica", fontsize=10];']
    for run, g in sorted(graph(slices(trace)).items()):
        lines.append(f'  subgraph cluster_run{run} {{ label="{_run_label(run, g)}"; fontname="Helvetica";')
        for i, n in sorted(g["nodes"].items()):
            retried = ', color="orange", penwidth=2' if len(n["attempts"]) > 1 else ""
            lines.append(f'    r{run}n{i} [label="{_node_label(i, n)}", {DAG_STYLE[n["state"]]}{retried}];')
        lines += [f"    r{run}n{dep} -> r{run}n{node};" for dep, node in g["edges"]]
        lines.append("  }")
    return "\n".join(lines + ["}"]) + "\n"


def dag(trace, path):
    """Draw the workflow DAGs with Graphviz into path (.svg, .png: its
    suffix); False, drawing nothing, when `dot` is missing (Debian: graphviz)."""
    dot = shutil.which("dot")
    if dot is None:
        return False
    fmt = Path(path).suffix.lstrip(".") or "svg"
    subprocess.run([dot, f"-T{fmt}", "-o", str(path)], input=dag_dot(trace), text=True, check=True,
                   capture_output=True)
    return True


def write(trace, json_path, png_path=None, dag_path=None):
    """The JSON, and the timeline and the DAG picture when asked.  Returns
    what was drawn: the timeline's legend and rows (figure), and dag: True,
    False when Graphviz is missing, None when not asked."""
    with open(json_path, "w") as f:
        json.dump(chrome(trace), f)
    shown = png(trace, png_path) if png_path else {}
    return dict(shown, dag=dag(trace, dag_path) if dag_path else None)


def stages(log):
    """The kernel's per-stage counters a stages=1 boot prints at its end
    (pyx/kwe/debug/stages.pyx): [(stage, cycles, entries)], in order."""
    return [(m.group(1), int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r"^stages: (\w+) (\d+) cycles (\d+) entries$", log, re.M)]


def stage_table(rows):
    """Lines for the terminal: where the kernel's cycles went, stage by stage."""
    total = sum(c for _, c, _ in rows) or 1
    lines = ["kwe trace: where the cycles went (exclusive per stage, tracing's own cost included):"] if rows else []
    for name, cycles, entries in rows:
        lines.append(f"  {name:9} {cycles:>15,} cycles {cycles * 100 / total:5.1f}%  {entries:>10,} entries")
    return lines
