"""Turning the kernel's trace (pyx/kwe/debug/trace.pyx, printed on serial) into a
Chrome/Perfetto trace JSON and a PNG timeline.  docs/trace.md has the format."""
import json
import re
import struct
import zlib
from collections import defaultdict
from dataclasses import dataclass

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


def slices(trace):
    """The trace as intervals: deck visits, workflow nodes, process run spans.
    Times in microseconds (or, when the TSC rate is unknown, thousands of cycles)."""
    t0 = trace.records[0].tsc if trace.records else 0
    hz = trace.tsc_hz or 1_000_000_000
    us = lambda tsc: (tsc - t0) * 1e6 / hz
    opcode, node_of, open_deck, node_start = {}, {}, {}, {}
    decks, nodes, running, events, irqs, edges = [], [], [], [], [], defaultdict(list)
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
        elif r.kind == "deck_enter":
            open_deck[r.id] = us(r.tsc)
        elif r.kind == "deck_exit" and r.id in open_deck:
            decks.append(dict(deck=r.deck, id=r.id, start=open_deck.pop(r.id), end=us(r.tsc),
                              op=OPNAMES.get(opcode.get(r.id), "?"), run=r.run, node=r.node,
                              status=struct.unpack("<i", struct.pack("<I", r.extra))[0]))
        elif r.kind == "complete":
            if r.id in node_start:
                run, node = node_of[r.id]
                nodes.append(dict(run=run, node=node, id=r.id, start=node_start.pop(r.id), end=us(r.tsc),
                                  op=OPNAMES.get(opcode.get(r.id), "?"),
                                  status=struct.unpack("<i", struct.pack("<I", r.extra))[0]))
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
    return dict(decks=decks, nodes=nodes, running=running, events=events, irqs=irqs, edges=edges)


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
                    "args": {"event": n["id"], "status": n["status"]}})
        where[(n["run"], n["node"])] = n
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


def png(trace, path):
    """A timeline: one row per deck, one per workflow node, one per process."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    s = slices(trace)
    rows, bars = [], defaultdict(list)
    for d, name in DECKS.items():
        rows.append(f"deck {name}")
    for v in s["decks"]:
        bars[f"deck {DECKS.get(v['deck'], v['deck'])}"].append((v["start"], v["end"] - v["start"], "C0"))
    for n in sorted(s["nodes"], key=lambda n: (n["run"], n["node"])):
        row = f"run {n['run']} node {n['node']} {n['op']}"
        rows.append(row)
        color = "C2" if n["status"] == 0 else ("C7" if n["status"] == abi.E_CANCELLED else "C3")
        bars[row].append((n["start"], n["end"] - n["start"], color))
    for r in s["running"]:
        row = f"process {r['pid']}" if r["pid"] else "idle"
        if row not in rows:
            rows.append(row)
        bars[row].append((r["start"], r["end"] - r["start"], "C1"))
    fig, ax = plt.subplots(figsize=(14, max(3, 0.32 * len(rows) + 1.2)))
    for y, row in enumerate(rows):
        for start, width, color in bars[row]:
            ax.broken_barh([(start, max(width, 0.5))], (y - 0.35, 0.7), color=color)
    index = {r: i for i, r in enumerate(rows)}
    place = {(n["run"], n["node"]): n for n in s["nodes"]}
    for run, pairs in s["edges"].items():
        for dep, node in pairs:
            a, b = place.get((run, dep)), place.get((run, node))
            if a and b:
                ya = index[f"run {run} node {dep} {a['op']}"]
                yb = index[f"run {run} node {node} {b['op']}"]
                ax.annotate("", xy=(b["start"], yb), xytext=(a["end"], ya),
                            arrowprops=dict(arrowstyle="->", color="0.4", lw=0.8))
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("microseconds since the first record (TSC)")
    ax.set_title(f"KWE trace: {len(trace.records)} records, {trace.overwritten} overwritten")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(trace, json_path, png_path=None):
    with open(json_path, "w") as f:
        json.dump(chrome(trace), f)
    if png_path:
        png(trace, png_path)


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
