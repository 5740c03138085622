"""tools/kwe bench: every benchmark, one table, build/bench.json.

Each row is our figure, a reference measured in the same run, and the
ratio oriented so that > 1 means KWE is ahead (ref/ours for costs,
ours/ref for throughputs).  Benchmarks report; they never fail because a
machine is slow -- only a broken measurement (a mismatch, a boot that did
not produce its figures) makes the command exit non-zero.
"""
import json
import platform
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

from . import qemu
from .paths import BUILD, ROOT

MiB = 1 << 20


@dataclass
class Row:
    group: str
    name: str
    ours: float
    ref: float | None
    unit: str
    ref_name: str
    higher_is_better: bool = False
    note: str = ""

    @property
    def ratio(self):
        if not self.ref or not self.ours:
            return None
        return self.ours / self.ref if self.higher_is_better else self.ref / self.ours


class Bench:
    def __init__(self, quick, kvm):
        self.quick, self.kvm = quick, kvm
        self.rows, self.problems = [], []

    def add(self, *a, **kw):
        self.rows.append(Row(*a, **kw))

    def problem(self, text):
        self.problems.append(text)
        print(f"kwe bench: {text}", file=sys.stderr)


def best_time(fn, repeat):
    """The fastest of `repeat` runs, in seconds (the least disturbed one)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def mixed_buffer(n, seed=7):
    """Runs and noise, like the kernel's bench buffer: RLE has work to do."""
    rng = random.Random(seed)
    out = bytearray()
    while len(out) < n:
        out += bytes([rng.randrange(256)]) * rng.choice((1, 1, 2, 5, 40)) if rng.random() < .5 \
            else rng.randbytes(rng.randrange(1, 64))
    return bytes(out[:n])


# ---- hosted Operations deck: the very .pyx code, against zlib / Python / NumPy -------
def hosted_operations(b):
    from kwe.common import operations
    from kwe.decks import simd
    from . import abi
    import numpy as np
    size = (8 if b.quick else 64) * MiB
    data = mixed_buffer(size)
    rep = 3 if b.quick else 5
    mbs = lambda secs, n=size: n / secs / 1e6
    zl = mbs(best_time(lambda: zlib.crc32(data), rep))
    crcs = {"zlib": zlib.crc32(data), "table": operations.py_crc32(data)}
    if simd.py_clmul_available():
        crcs["clmul"] = simd.py_crc32(data)
        b.add("operations (hosted)", "CRC32 PCLMULQDQ folding", mbs(best_time(lambda: simd.py_crc32(data), rep)),
              zl, "MB/s", "zlib.crc32", True, f"{size // MiB} MiB buffer; used when the CPU has PCLMULQDQ")
    else:
        print("kwe bench: this CPU has no PCLMULQDQ; the Operations deck uses slicing-by-8",
              file=sys.stderr)
    b.add("operations (hosted)", "CRC32 slicing-by-8", mbs(best_time(lambda: operations.py_crc32(data), rep)),
          zl, "MB/s", "zlib.crc32", True, "used without PCLMULQDQ (or where it is slower: TCG)")
    if len(set(crcs.values())) != 1:
        b.problem(f"CRC32 results differ: {crcs}")

    small = data[:(256 if b.quick else 1024) * 1024]        # the Python model is slow
    ours = operations.py_rle_encode(small)
    if ours != abi.rle_encode(small):
        b.problem("RLE: the Operations deck and the Python model disagree")
    b.add("operations (hosted)", "RLE encode", mbs(best_time(lambda: operations.py_rle_encode(small), rep), len(small)),
          mbs(best_time(lambda: abi.rle_encode(small), 1), len(small)), "MB/s", "plain Python RLE", True,
          f"{len(small) // 1024} KiB buffer, same output")

    key = 0x0123456789ABCDEF
    arr = np.frombuffer(data, dtype=np.uint64)
    npk = np.uint64(key)
    if operations.py_xor(data, key, 8) != (arr ^ npk).tobytes():
        b.problem("XOR: the Operations deck and NumPy disagree")
    b.add("operations (hosted)", "XOR with an 8-byte key", mbs(best_time(lambda: operations.py_xor(data, key, 8), rep)),
          mbs(best_time(lambda: (arr ^ npk).tobytes(), rep)), "MB/s", "NumPy uint64 xor", True,
          f"{size // MiB} MiB buffer")
    figures = {r.name: r.ours for r in b.rows if r.group == "operations (hosted)"}
    return dict(figures, zlib=zl)


# ---- the booted kernel ------------------------------------------------------------
def native_figures(b):
    """The host's own syscall and pipe round trip, from tools/bench/native.c."""
    src, exe = ROOT / "tools/bench/native.c", BUILD / "bench-native"
    if not exe.exists() or exe.stat().st_mtime < src.stat().st_mtime:
        r = subprocess.run(["cc", "-O2", "-o", str(exe), str(src)], capture_output=True, text=True)
        if r.returncode:
            b.problem("could not compile tools/bench/native.c: " + r.stderr.strip())
            return {}
    out = subprocess.run([str(exe), "20000" if b.quick else "200000"], capture_output=True, text=True).stdout
    return {k: int(v) for k, v in re.findall(r"^(\w+) (\d+)$", out, re.M)}


def parse_bench_lines(log):
    """BENCH lines from the serial log -> {"kernel": {name: (bytes, cycles)}, ...}."""
    f = {"kernel": {}, "workflow": {}}
    for line in log.splitlines():
        p = line.split()
        if len(p) < 2 or p[0] != "BENCH":
            continue
        try:
            if p[1] == "kernel" and p[2] == "tsc_hz":
                f["tsc_hz"] = int(p[3])
            elif p[1] == "kernel":
                f["kernel"][p[2]] = (int(p[3]), int(p[4]))
            elif p[1] == "workflow":
                f["workflow"][int(p[2])] = (int(p[3]), int(p[4]))
            elif p[1] == "latency":
                f["latency"] = tuple(int(x) for x in p[2:5])
            elif p[1] == "checks":
                f["checks"] = tuple(int(x) for x in p[2:6])
            elif p[1] in ("notify", "switch"):
                f[p[1]] = int(p[2])
            elif p[1] == "done":
                f["done"] = True
        except (IndexError, ValueError):
            raise ValueError(f"malformed bench line: {line!r}") from None
    return f


def kernel_figures(b, hosted, timeout):
    """hosted: label -> MB/s from hosted_operations, the references."""
    accel = "KVM" if b.kvm else "TCG, emulated cycles"
    boot = qemu.boot("run=bench init=bench checks_switch=1" + (" args=quick" if b.quick else ""),
                     timeout=timeout, kvm=b.kvm)
    try:
        f = parse_bench_lines(boot.log)
    except ValueError as e:
        b.problem(str(e))
        return
    if not boot.ok or not f.get("done") or "tsc_hz" not in f:
        b.problem(f"the bench boot did not finish (kernel status {boot.status}); serial tail:\n"
                  + boot.log[-2000:])
        return
    hz = f["tsc_hz"]
    for name, (nbytes, cycles) in f["kernel"].items():
        label = {"crc32_table": "CRC32 slicing-by-8", "crc32_clmul": "CRC32 PCLMULQDQ folding",
                 "rle_encode": "RLE encode", "xor": "XOR with an 8-byte key"}.get(name, name)
        if name.startswith("crc32"):
            ref, ref_name = hosted["zlib"], "zlib.crc32 on the host"
        else:
            ref, ref_name = hosted.get(label), "the same code, hosted"
        b.add("operations (in the kernel)", label, nbytes * hz / max(cycles, 1) / 1e6, ref, "MB/s",
              ref_name, True, f"{nbytes // 1024} KiB, {cycles} cycles ({accel})")
    for n, (wf, sep) in sorted(f["workflow"].items()):
        b.add("workflow claim", f"{n} ops as one workflow", wf, sep, "cycles/op",
              f"{n} x (kernel_notify + WAIT)", False, f"one kernel_notify for all {n} ({accel})")
    native = native_figures(b)
    if "latency" in f:
        med, p99, tick = f["latency"]
        for label, v in (("median", med), ("p99", p99)):
            b.add("latency", f"1-node workflow submit->completion, {label}", v, native.get("switch"),
                  "cycles", "host pipe round trip (Linux)", False, f"{v / max(tick, 1):.3f} timer ticks ({accel})")
    if "notify" in f:
        b.add("kernel", "kernel_notify round trip", f["notify"], native.get("syscall"), "cycles",
              "getppid() syscall (Linux host)", False, accel)
    if "checks" in f:
        n, on, off, rounds = f["checks"]
        b.add("safety", f"{n}-node workflow: cost of the safety checks", on, off, "cycles/op",
              "the same boot, checks off", False,
              f"+{(on - off) * 100 / max(off, 1):.1f}% (goal <= 5%); median of {rounds} alternating rounds; "
              f"off: heap guard/poison verification and fill, quota and capability checks ({accel})")
    if "switch" in f:
        b.add("kernel", "context switch round trip (yield, 2 processes)", f["switch"], native.get("switch"),
              "cycles", "pipe ping-pong, 2 processes (Linux host)", False, accel)


def boot_time(b, timeout):
    """Wall time from starting QEMU to the first workflow result on the
    serial line, against QEMU + firmware alone: an MBR that exits at once."""
    def until(marker, **machine):
        t = time.perf_counter()
        with qemu.Session(**machine) as s:
            s.wait_for(marker, timeout=timeout)
            return time.perf_counter() - t
    try:
        ours = min(until("wfdemo fanout node", cmdline="run=init init=wfdemo", kvm=b.kvm)
                   for _ in range(1 if b.quick else 3))
    except TimeoutError as e:
        b.problem(f"boot time: {e}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        mbr = bytearray(512)
        mbr[:7] = bytes([0xB0, 0x00, 0xE6, 0xF4, 0xF4, 0xEB, 0xFD])   # mov al,0; out 0xf4,al; hlt; jmp $-1
        mbr[510:] = b"\x55\xAA"
        img = Path(tmp) / "exit.img"
        img.write_bytes(bytes(mbr) + bytes(512 * 63))
        floor = float("inf")
        for _ in range(1 if b.quick else 3):
            t = time.perf_counter()
            subprocess.run(qemu.Machine(image=img, kvm=b.kvm).command(), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout)
            floor = min(floor, time.perf_counter() - t)
    b.add("boot", "QEMU start -> first workflow result", ours * 1e3, floor * 1e3, "ms",
          "QEMU start -> exit from an empty MBR", False, "the reference is the firmware floor: ratio < 1 always")


# ---- TagFS queries against SQLite with a TMSU-like schema ---------------------------
def tagfs_queries(b):
    from .hosted import new_volume
    nfiles, ntags = (10_000, 200) if b.quick else (100_000, 1000)
    rng = random.Random(2026)
    files = [sorted({f"t{rng.randrange(ntags)}" for _ in range(rng.randint(1, 4))}) for _ in range(nfiles)]

    disk, v = new_volume(blocks=1 << 16, ram=512 * MiB)
    t = time.perf_counter()
    for tags in files:
        v.create(" ".join(tags))
    v.sync()
    ours_load = time.perf_counter() - t

    db = sqlite3.connect(":memory:")
    db.executescript("""
        CREATE TABLE file (id INTEGER PRIMARY KEY);
        CREATE TABLE tag (id INTEGER PRIMARY KEY, name TEXT UNIQUE);
        CREATE TABLE file_tag (file_id INTEGER, tag_id INTEGER, PRIMARY KEY (tag_id, file_id)) WITHOUT ROWID;
        CREATE INDEX file_tag_file ON file_tag (file_id);""")
    t = time.perf_counter()
    with db:
        tag_ids = {}
        for fid, tags in enumerate(files, 1):
            db.execute("INSERT INTO file VALUES (?)", (fid,))
            for name in tags:
                if name not in tag_ids:
                    tag_ids[name] = db.execute("INSERT INTO tag (name) VALUES (?)", (name,)).lastrowid
                db.execute("INSERT INTO file_tag VALUES (?, ?)", (fid, tag_ids[name]))
    sql_load = time.perf_counter() - t
    b.add("tagfs (hosted)", f"create {nfiles} tagged files", nfiles / ours_load, nfiles / sql_load, "files/s",
          "SQLite (in memory, one transaction)", True, "TagFS journals every commit to its disk")

    def sql_has(name):
        return f"SELECT file_id FROM file_tag JOIN tag ON tag.id = tag_id WHERE tag.name = '{name}'"
    shapes = {
        "A AND B": (lambda a, b_, c: f"{a} AND {b_}",
                    lambda a, b_, c: f"{sql_has(a)} INTERSECT {sql_has(b_)} ORDER BY 1"),
        "A OR B OR C": (lambda a, b_, c: f"{a} OR {b_} OR {c}",
                        lambda a, b_, c: f"{sql_has(a)} UNION {sql_has(b_)} UNION {sql_has(c)} ORDER BY 1"),
        "A AND NOT B": (lambda a, b_, c: f"{a} AND NOT {b_}",
                        lambda a, b_, c: f"{sql_has(a)} EXCEPT {sql_has(b_)} ORDER BY 1"),
    }
    picks = [tuple(f"t{rng.randrange(ntags)}" for _ in range(3)) for _ in range(50 if b.quick else 200)]
    for shape, (ours_q, sql_q) in shapes.items():
        for p in picks[:3]:
            if v.query(ours_q(*p)) != [r[0] for r in db.execute(sql_q(*p))]:
                b.problem(f"TagFS and SQLite disagree on {ours_q(*p)!r}")
        ours = best_time(lambda: [v.query(ours_q(*p)) for p in picks], 3) / len(picks)
        ref = best_time(lambda: [db.execute(sql_q(*p)).fetchall() for p in picks], 3) / len(picks)
        b.add("tagfs (hosted)", f"query {shape}", ours * 1e6, ref * 1e6, "us/query", "SQLite, TMSU-like schema",
              False, f"{nfiles} files, {ntags} tags, {len(picks)} random tag picks")
    v.unmount()


# ---- the table ---------------------------------------------------------------------
def fmt(x):
    if x is None:
        return "-"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def table(b, accel):
    head = ("benchmark", "ours", "reference", "ratio", "unit", "reference is", "note")
    rows, group = [], None
    for r in b.rows:
        if r.group != group:
            group = r.group
            rows.append((f"[{group}]",) + ("",) * 6)
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}x"
        rows.append((" " + r.name, fmt(r.ours), fmt(r.ref), ratio, r.unit, r.ref_name, r.note))
    widths = [max(len(str(x[i])) for x in rows + [head]) for i in range(6)]
    lines = [f"KWE bench ({'quick' if b.quick else 'full'}, {accel}; ratio > 1 means KWE is ahead)"]
    for x in [head] + rows:
        lines.append("  ".join(str(c).ljust(w) if i != 1 and i != 2 else str(c).rjust(w)
                               for i, (c, w) in enumerate(zip(x[:6], widths))) + "  " + x[6])
    return "\n".join(lines)


def cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main(quick=False, kvm=False, output=None, timeout=300):
    b = Bench(quick, kvm)
    accel = "KVM" if kvm else "TCG (cycle figures are emulated)"
    say = lambda what: print(f"kwe bench: {what} ...", file=sys.stderr, flush=True)
    say("hosted Operations deck")
    hosted = hosted_operations(b)
    say("booted kernel")
    kernel_figures(b, hosted, timeout)
    say("boot time")
    boot_time(b, timeout)
    say("TagFS queries")
    tagfs_queries(b)
    print(table(b, accel), flush=True)
    out = Path(output) if output else BUILD / "bench.json"
    out.write_text(json.dumps({
        "mode": "quick" if quick else "full", "accelerator": "KVM" if kvm else "TCG",
        "cycles_emulated": not kvm, "host_cpu": cpu_name(), "python": platform.python_version(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "problems": b.problems,
        "rows": [dict(asdict(r), ratio=r.ratio) for r in b.rows]}, indent=2) + "\n")
    print(f"kwe bench: wrote {out}" + (f"; {len(b.problems)} problem(s), see above" if b.problems else ""))
    return 1 if b.problems else 0
