"""tools/kwe bench: every benchmark, one table, build/bench.json.

Each row is our figure, a reference measured in the same run, and the
ratio oriented so that > 1 means KWE is ahead (ref/ours for costs,
ours/ref for throughputs).  Benchmarks report; they never fail because a
machine is slow -- only a broken measurement (a mismatch, a boot that did
not produce its figures) makes the command exit non-zero.
"""
import collections
import itertools
import json
import os
import platform
import random
import re
import sqlite3
import statistics
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


def interleaved(fns, rounds, work):
    """name -> (median, min, max) seconds per call: every function runs `work`
    calls per round and the rounds alternate between them, so a disturbance
    of the machine falls on all of them alike."""
    times = {name: [] for name in fns}
    for r in range(rounds):
        order = list(fns.items())
        order = order[r % len(order):] + order[:r % len(order)]
        for name, fn in order:
            t = time.perf_counter()
            for _ in range(work):
                fn()
            times[name].append((time.perf_counter() - t) / work)
    return {name: (statistics.median(v), min(v), max(v)) for name, v in times.items()}


def crc_references():
    """The CRC32s installable here, by name: stock zlib, zlib-ng, ISA-L."""
    refs = {"zlib": zlib.crc32}
    try:
        from zlib_ng import zlib_ng
        refs["zlib-ng"] = zlib_ng.crc32
    except ImportError:
        pass
    try:
        from isal import isal_zlib
        refs["ISA-L"] = isal_zlib.crc32
    except ImportError:
        pass
    return refs


CRC_SIZES = (4 << 10, 64 << 10, 1 << 20, 64 << 20)


def hosted_crc(b, data):
    """kwe.common.crc (the widest folding this CPU has: user programs' and the
    hosted build's CRC32) against the strongest reference at each size."""
    from kwe.common import crc, crc_clmul
    refs = crc_references()
    missing = {"zlib-ng", "ISA-L"} - set(refs)
    if missing:
        b.problem(f"CRC32 references missing: {sorted(missing)} (tools/requirements.txt)")
    rounds = 5 if b.quick else 9
    for size in CRC_SIZES[:3] if b.quick else CRC_SIZES:
        buf = data[:size]
        fns = {"ours": lambda: crc.py_crc32(buf), "clmul": lambda: crc_clmul.py_crc32(buf)}
        fns.update({name: (lambda f=f: f(buf)) for name, f in refs.items()})
        answers = {name: fn() for name, fn in fns.items()}
        if len(set(answers.values())) != 1:
            b.problem(f"CRC32 of {size} bytes differs: {answers}")
        work = max(1, (16 if b.quick else 64) * MiB // size)
        t = interleaved(fns, rounds, work)
        gbs = {name: size / med / 1e9 for name, (med, _, _) in t.items()}
        spread = lambda name: f"{size / t[name][2] / 1e9:.1f}..{size / t[name][1] / 1e9:.1f}"
        best = max(refs, key=lambda name: gbs[name])
        others = ", ".join(f"{name} {gbs[name]:.1f}" for name in refs if name != best)
        label = f"{size >> 20} MiB" if size >= MiB else f"{size >> 10} KiB"
        b.add("operations (hosted)", f"CRC32, {label}, by {crc.py_path()}", gbs["ours"], gbs[best], "GB/s",
              f"{best} crc32 (strongest here)", True,
              f"median of {rounds} interleaved rounds (spread {spread('ours')} vs {spread(best)}); {others}")
        b.add("operations (hosted)", f"CRC32, {label}, 128-bit folding (the kernel's)", gbs["clmul"],
              gbs[best], "GB/s", f"{best} crc32 (strongest here)", True,
              "kwe.common.crc_clmul, as the kernel runs it: no AVX-512 in the kernel")
    return refs


# ---- hosted Operations deck: the very .pyx code, against zlib / Python / NumPy -------
def hosted_operations(b):
    from kwe.common import operations
    from . import abi
    import numpy as np
    size = (8 if b.quick else 64) * MiB
    data = mixed_buffer(size)
    rep = 3 if b.quick else 5
    mbs = lambda secs, n=size: n / secs / 1e6
    hosted_crc(b, data)
    zl = mbs(best_time(lambda: zlib.crc32(data), rep))
    if operations.py_crc32(data) != zlib.crc32(data):
        b.problem("CRC32: slicing-by-8 and zlib disagree")
    b.add("operations (hosted)", "CRC32 slicing-by-8", mbs(best_time(lambda: operations.py_crc32(data), rep)),
          zl, "MB/s", "zlib.crc32 (stock zlib: also by tables)", True,
          "used without PCLMULQDQ (or where it is slower: TCG)")
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


# ---- the booted kernel ------------------------------------------------------------
# Emulated TCG cycles compare only with emulated cycles: until Linux runs under
# the same QEMU/TCG settings (issue 13), these rows carry no reference.
NO_REF_YET = "none yet: Linux under the same QEMU/TCG is the reference that counts"
# Both emulators on one core: the other runs the host's noise (and the bench itself).
PIN = "1" if (os.cpu_count() or 1) > 1 else None


# abi.STAGE_*, in order: the columns of a BENCH stages line.
STAGES = ("user", "kernel", "ring", "route", "deck", "engine", "complete", "wake")
OPS = {"nop": "NOP", "crc32": "CRC32 of 64 B"}
SIZES = (1, 8, 64, 512, 4096)


def parse_bench_lines(log):
    """BENCH lines from the serial log -> {"kernel": {name: (bytes, cycles)}, ...}."""
    f = {"kernel": {}, "ops": {}, "stages": {}}
    for line in log.splitlines():
        p = line.split()
        if len(p) < 2 or p[0] != "BENCH":
            continue
        try:
            if p[1] == "kernel" and p[2] == "tsc_hz":
                f["tsc_hz"] = int(p[3])
            elif p[1] == "kernel":
                f["kernel"][p[2]] = (int(p[3]), int(p[4]))
            elif p[1] == "ops" and len(p) == 8:
                f["ops"][(p[2], p[3], int(p[4]))] = tuple(int(x) for x in p[5:8])
            elif p[1] == "stages" and len(p) == 6 + len(STAGES):
                f["stages"][(p[2], p[3], int(p[4]))] = (int(p[5]), tuple(int(x) for x in p[6:]))
            elif p[1] == "latency":
                f["latency"] = tuple(int(x) for x in p[2:5])
            elif p[1] == "checks":
                f["checks"] = tuple(int(x) for x in p[2:6])
            elif p[1] == "notify" and len(p) == 5:
                f["notify"], f["notify_rounds"] = int(p[2]), tuple(int(x) for x in p[2:5])
            elif p[1] in ("notify", "switch"):
                f[p[1]] = int(p[2])
            elif p[1] == "done":
                f["done"] = True
        except (IndexError, ValueError):
            raise ValueError(f"malformed bench line: {line!r}") from None
    return f


def bench_boot(b, timeout, extra=()):
    """One boot of the bench program: its parsed BENCH lines, or None (a problem said why)."""
    boot = qemu.boot("run=bench init=bench checks_switch=1" + (" args=quick" if b.quick else ""),
                     timeout=timeout, kvm=b.kvm, pin=PIN, extra=list(extra))
    try:
        f = parse_bench_lines(boot.log)
    except ValueError as e:
        return b.problem(str(e))
    if not boot.ok or not f.get("done") or "tsc_hz" not in f:
        return b.problem(f"the bench boot did not finish (kernel status {boot.status}); serial tail:\n"
                         + boot.log[-2000:])
    return f


def kernel_figures(b, timeout):
    """The bench boot's figures (BENCH lines on the serial log)."""
    accel = "KVM" if b.kvm else "TCG, emulated cycles"
    f = bench_boot(b, timeout)
    if f is None:
        return None
    hz = f["tsc_hz"]
    for name, (nbytes, cycles) in f["kernel"].items():
        label = {"crc32_table": "CRC32 slicing-by-8", "crc32_clmul": "CRC32 PCLMULQDQ folding (128-bit lanes)",
                 "rle_encode": "RLE encode", "xor": "XOR with an 8-byte key"}.get(name, name)
        note = "; the kernel keeps 128-bit lanes: TCG has no AVX-512" if name == "crc32_clmul" else ""
        b.add("operations (in the kernel)", label, nbytes * hz / max(cycles, 1) / 1e6, None, "MB/s",
              NO_REF_YET, True, f"{nbytes // 1024} KiB, {cycles} cycles ({accel}){note}")
    claim_rows(b, f, accel)
    stage_rows(b, f, accel)
    if "latency" in f:
        med, p99, tick = f["latency"]
        for label, v in (("median", med), ("p99", p99)):
            b.add("latency", f"1-node workflow submit->completion, {label}", v, None,
                  "cycles", NO_REF_YET, False, f"{v / max(tick, 1):.3f} timer ticks ({accel})")
    if "checks" in f:
        n, on, off, rounds = f["checks"]
        b.add("safety", f"{n}-node workflow: cost of the safety checks", on, off, "cycles/op",
              "the same boot, checks off", False,
              f"{(on - off) * 100 / max(off, 1):+.1f}% (goal <= 5%); median of {rounds} alternating rounds; "
              f"off: heap guard/poison verification and fill, quota and capability checks ({accel})")
    if "switch" in f:
        b.add("kernel", "context switch round trip (yield, 2 processes)", f["switch"], None,
              "cycles", NO_REF_YET, False, accel)
    return f


KINDS = {"wf": "one workflow of {n} nodes, registered once, run many",
         "wfreg": "one workflow of {n} nodes, registered in the run",
         "events": "{n} events in one SUBMIT"}


def claim_rows(b, f, accel):
    """The claim itself: N ops handed over at once against one kernel_notify
    + WAIT each, in the same boot, every result read on both sides."""
    for op, label in OPS.items():
        for n in SIZES:
            single = f["ops"].get(("single", op, n))
            for kind, how in KINDS.items():
                t = f["ops"].get((kind, op, n))
                if t and single:
                    b.add("workflow claim", f"{n} x {label}: {how.format(n=n)}", t[0], single[0], "cycles/op",
                          f"{n} x (kernel_notify + WAIT)", False,
                          f"every result read on both sides; {rounds_note(t)} vs {rounds_note(single)}, "
                          f"interleaved in one boot ({accel})")


def stage_rows(b, f, accel):
    for (kind, op, n), (total, per) in sorted(f["stages"].items(), key=lambda x: (x[0][2], x[0][0])):
        parts = ", ".join(f"{name} {v:,}" for name, v in zip(STAGES, per) if v)
        b.add("where the cycles go (stage counters on)", f"{n} x {OPS[op]}: {kind}", total, None, "cycles/op",
              "-", False, f"{parts} (exclusive per-stage cycles/op from the kernel's counters, which add "
              f"their own cost; 'user' is the program, entry and exit; {accel})")


def rounds_note(t):
    return f"median, spread {t[1]:,}..{t[2]:,}"


# Under -icount shift=0 the guest's clock advances one nanosecond per
# instruction, and the TSC with it: a count the host's load cannot move.
ICOUNT = ["-icount", "shift=0"]


def against_linux(b, f, timeout):
    """KWE's figures beside Linux's, both booted by the same QEMU/TCG on the
    same pinned core, both timed by the emulated TSC in the program: once in
    real time, once counting instructions."""
    from . import linuxref
    if b.kvm:
        print("kwe bench: no Linux rows under KVM: emulated cycles compare only with emulated cycles",
              file=sys.stderr)
        return
    for group, unit, extra in (("kernel vs Linux (same QEMU/TCG)", "cycles", []),
                               ("kernel vs Linux (same QEMU, -icount shift=0)", "instructions", ICOUNT)):
        ours = f if not extra else bench_boot(b, timeout, extra)
        try:
            ref, version = linuxref.figures(b.quick, timeout, pin=PIN, extra=extra)
        except linuxref.Unavailable as e:
            return b.problem(f"no Linux reference: {e}")
        if ours:
            linux_rows(b, group, unit, ours, ref, f"Linux {version}, mitigations=off")


def linux_rows(b, g, unit, f, ref, linux):
    if "notify" in f and ("getppid", 1) in ref:
        t = ref[("getppid", 1)]
        b.add(g, "system call round trip", f["notify"], t[0], unit, f"getppid(), {linux}", False,
              f"KWE kernel_notify(0, 0), " + (rounds_note(f["notify_rounds"]) if "notify_rounds" in f
                                              else "mean of a loop") + f"; Linux {rounds_note(t)}")
    ops = f["ops"]
    pairs = (("wf", "uring_nop", "{n} independent NOPs: one workflow, registered once",
              "io_uring NOP batch of {n}"),
             ("wfreg", "uring_nop", "{n} independent NOPs: one workflow, registered in the run",
              "io_uring NOP batch of {n}"),
             ("events", "uring_nop", "{n} independent NOPs, one submit, every result read",
              "io_uring NOP batch of {n}"),
             ("single", "getppid", "{n} NOPs one by one (kernel_notify + WAIT each)", "{n} x getppid()"),
             ("chain", "uring_link", "{n} dependent NOPs (a chain), registered once",
              "io_uring IOSQE_IO_LINK chain of {n}"),
             ("chainreg", "uring_link", "{n} dependent NOPs (a chain), registered in the run",
              "io_uring IOSQE_IO_LINK chain of {n}"))
    for n in SIZES:
        for kind, row, name, ref_name in pairs:
            ours, t = ops.get((kind, "nop", n)), ref.get((row, 1 if row == "getppid" else n))
            if ours and t:
                b.add(g, name.format(n=n), ours[0], t[0], unit + "/op", f"{ref_name.format(n=n)}, {linux}", False,
                      f"KWE: NOP events through the Guide and the Execution deck like any op, {rounds_note(ours)}; "
                      f"Linux {rounds_note(t)}")
    t = ref.get(("crc_user", 1))
    for n in SIZES:
        for kind in ("wf", "events"):
            ours = ops.get((kind, "crc32", n))
            if ours and t:
                b.add(g, f"{n} CRC32s of 64 B: " + ("one workflow, registered once" if kind == "wf"
                                                    else "events in one submit"),
                      ours[0], t[0], unit + "/op", f"zlib crc32() in a Linux program, {linux}", False,
                      f"Linux has no kernel CRC op a program would use (the strongest reference is its own "
                      f"user-space zlib, no system call); KWE: the Operations deck, {rounds_note(ours)}; "
                      f"Linux {rounds_note(t)}")
    t = ref.get(("pipe_pingpong", 1))
    if t:
        b.add(g, "switch round trip between 2 processes", f.get("switch"), t[0], unit,
              f"pipe ping-pong, 1 byte, {linux}", False,
              f"KWE: a yield round trip, which moves no data (KWE has no process-to-process wakeup "
              f"for a WAIT ping-pong yet); Linux {rounds_note(t)}")
    goal_rows(b, g, unit, f, ref)


def goal_rows(b, g, unit, f, ref):
    """Issue 13's goals, each as the factor measured and the factor asked for."""
    ops = f["ops"]
    med = lambda kind, n: ops.get((kind, "nop", n), (None,))[0]
    rows = []
    for n, want in ((64, 3.0), (512, 4.0)):
        if med("wf", n) and med("single", n):
            rows.append((f"{n} NOPs as one workflow: times cheaper than {n} x (kernel_notify + WAIT)",
                         med("single", n) / med("wf", n), want, True,
                         f"registered in the run: {med('single', n) / med('wfreg', n):.2f}x"))
    worst = [(med("wf", n) / ref[("uring_nop", n)][0], n) for n in SIZES if med("wf", n) and ("uring_nop", n) in ref]
    if worst:
        x, n = max(worst)
        rows.append(("a workflow's cost per op over io_uring's, worst batch size", x, 2.0, False, f"worst at {n}"))
    flat = [med("wf", n) for n in SIZES[1:] if med("wf", n)]
    if len(flat) == len(SIZES) - 1:
        rows.append(("a workflow's cost per op, most over least, 8 .. 4,096 nodes", max(flat) / min(flat), 1.3,
                     False, ""))
    chain = [(med("chain", n) / ref[("uring_link", n)][0], n) for n in SIZES
             if med("chain", n) and ("uring_link", n) in ref]
    if chain:
        x, n = max(chain)
        rows.append(("a chain's cost per op over io_uring linked SQEs, worst length", x, 2.0, False, f"worst at {n}"))
    if med("wf", 1) and med("single", 1):
        rows.append(("a 1-node workflow over 1 x (kernel_notify + WAIT)", med("wf", 1) / med("single", 1), 1.0,
                     False, f"registered in the run: {med('wfreg', 1) / med('single', 1):.2f}x"))
    for name, x, want, more, note in rows:
        met = x >= want if more else x <= want
        b.add(g.replace("kernel vs Linux", "goals"), name, x, want, "x", "the goal", more,
              ("met" if met else "NOT met") + (f"; {note}" if note else "") + f" ({unit})")


def http_rows(b, timeout):
    """KWE's httpd beside Linux's linux_httpd: the same client (kwecli.netbench),
    the same bytes, the same QEMU/TCG, e1000, user network and pinning.  Wall
    time of two emulated machines moves by +-20% between boots on a shared
    host, so a full run alternates boots (KWE, Linux, KWE, Linux) and each
    side's figure is its best boot; every boot's figure is in the note."""
    from . import netbench, linuxref
    runs = {"KWE": [], "Linux": []}
    try:
        for _ in range(1 if b.quick else 2):
            runs["KWE"].append(netbench.kwe_figures(b.quick))
            runs["Linux"].append(netbench.linux_figures(b.quick))
    except (linuxref.Unavailable, netbench.BadResponse) as e:
        return b.problem(f"no HTTP rows: {type(e).__name__}: {e}"[:2000])
    g, linux = "HTTP vs Linux (same QEMU/TCG, e1000, user network)", \
        f"linux_httpd.c on Linux {runs['Linux'][0]['kernel']}"
    for name, part, key, unit, how in (
            ("GET of 1 KiB, 8 keep-alive connections", "small", "requests_per_s", "requests/s",
             "the best of wrk and asyncio, every answer checked"),
            ("GET of 10 MiB, one connection", "large", "mb_per_s", "MB/s",
             "asyncio, each body's SHA-256 checked, all bytes over all their time")):
        ours, ref = (max(r[part][key] for r in runs[side]) for side in ("KWE", "Linux"))
        every = "; ".join(f"{side} " + " / ".join(f"{r[part][key]:,.1f}" for r in runs[side]) for side in runs)
        b.add(g, name, ours, ref, unit, linux, True, f"{how}; best of {len(runs['KWE'])} boot(s) each, "
              f"alternating (every boot: {every}); QEMU and the client on separate cores")
        b.add("goals (HTTP)", f"{name}: KWE over Linux", ours / ref, 1.0, "x", "the goal", True,
              "met" if ours >= ref else "NOT met")
    for side, rs in runs.items():
        for w in {w for r in rs for w in r["warnings"]}:
            print(f"kwe bench: HTTP ({side}): {w}", file=sys.stderr)


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
    from . import linuxref
    if b.kvm:
        return
    try:
        args, version = linuxref.boot_args(b.quick)
        linux = min(until("LINUXREF init", image=None, extra=args, pin=PIN) for _ in range(1 if b.quick else 3))
    except (linuxref.Unavailable, TimeoutError) as e:
        return b.problem(f"boot time of the Linux reference: {e}")
    kwe = min(until("wfdemo fanout node", cmdline="run=init init=wfdemo", pin=PIN) for _ in range(1 if b.quick else 3))
    b.add("boot", "QEMU start -> first workflow result, against Linux boot -> init", kwe * 1e3, linux * 1e3, "ms",
          f"Linux {version} (mitigations=off, quiet): QEMU start -> its /init's first line", False,
          f"both booted by the same QEMU/TCG pinned to one core, best of {1 if b.quick else 3}; Linux from "
          f"-kernel/-initrd (no disk, no bootloader), KWE from its disk image through its own MBR and stage2")


# ---- TagFS queries against SQLite given its best shot -------------------------------
TAGFS_SCALES = (10_000, 100_000, 1_000_000)     # the full run; --quick: the first only
TAGFS_PICKS = 16                                # tag picks per query shape and scale


def zipf_tagged_files(n, seed=2026, s=1.1):
    """(number of tags, n files' tags): 1..6 distinct tags per file, drawn
    from a Zipf(s) law over n // 100 tags (at least 100), as tag ranks (0 is
    the most common).  A few tags are on a large share of the files, a long
    tail on a few dozen each.  The same seed gives the same files."""
    ntags = max(100, n // 100)
    rng = random.Random(seed)
    cum = list(itertools.accumulate(1 / k ** s for k in range(1, ntags + 1)))
    ranks = range(ntags)
    sizes = rng.choices(range(1, 7), k=n)
    draws = iter(rng.choices(ranks, cum_weights=cum, k=2 * sum(sizes)))
    files = []
    for k in sizes:
        tags = set()
        while len(tags) < k:
            t = next(draws, None)
            if t is None:
                draws = iter(rng.choices(ranks, cum_weights=cum, k=4096))
                continue
            tags.add(t)
        files.append(sorted(tags))
    return ntags, files


def tag_name(rank):
    return f"t{rank}"


# The query shapes: TagFS's query, how many tags, which tags, and whether the
# statement may take them rarest first (AND commutes; TagFS does that itself).
TOP = 50        # A, B, C: from the TOP most frequent tags
TAGFS_SHAPES = {
    "A AND B": ("{0} AND {1}", 2, "top", True),
    "A AND B AND C": ("{0} AND {1} AND {2}", 3, "top", True),
    "A OR B": ("{0} OR {1}", 2, "top", False),
    "A AND NOT B": ("{0} AND NOT {1}", 2, "top", False),
    "rare AND common": ("{0} AND {1}", 2, "rare", True),
}


def tag_picks(kind, k, by_count, counts, n, rng, count):
    """`count` picks of k tags (ranks) and the rule in words.  by_count: the
    tags, most files first; counts: tag -> files."""
    pct = lambda t: f"{counts[t] * 100 / n:.2g}%"
    if kind == "top":
        top = by_count[:TOP]
        return ([rng.sample(top, k) for _ in range(count)],
                f"distinct tags drawn from the {TOP} most frequent, on {pct(top[-1])}..{pct(top[0])} of files")
    rare = [t for t in by_count if 20 <= counts[t] <= 100]
    return ([[rng.choice(rare), rng.choice(by_count[:5])] for _ in range(count)],
            f"rare: one of the {len(rare):,} tags on 20..100 files; "
            f"common: one of the 5 most frequent, on {pct(by_count[4])}..{pct(by_count[0])} of files")


def _sel(has, a, i):
    return f"SELECT {a}.file_id FROM file_tag {a} WHERE {has(a, i)}"


def _ex(has, a, b, i, neg=""):
    return f"{neg}EXISTS (SELECT 1 FROM file_tag {b} WHERE {has(b, i)} AND {b}.file_id = {a}.file_id)"


# SQL forms tried for each shape: has(alias, i) is the condition that the row
# of `alias` carries the i-th tag (?i: its id, or its name resolved in the
# statement).  The fastest form that gives TagFS's answer is kept.
SQL_FORMS = {
    "A AND B": {
        "INTERSECT": lambda h: f"{_sel(h, 'a', 1)} INTERSECT {_sel(h, 'b', 2)} ORDER BY 1",
        "JOIN": lambda h: f"SELECT a.file_id FROM file_tag a JOIN file_tag b ON b.file_id = a.file_id "
                          f"WHERE {h('a', 1)} AND {h('b', 2)} ORDER BY 1",
        "EXISTS": lambda h: f"{_sel(h, 'a', 1)} AND {_ex(h, 'a', 'b', 2)} ORDER BY 1",
    },
    "A AND B AND C": {
        "INTERSECT": lambda h: f"{_sel(h, 'a', 1)} INTERSECT {_sel(h, 'b', 2)} INTERSECT {_sel(h, 'c', 3)} ORDER BY 1",
        "JOIN": lambda h: f"SELECT a.file_id FROM file_tag a JOIN file_tag b ON b.file_id = a.file_id "
                          f"JOIN file_tag c ON c.file_id = a.file_id "
                          f"WHERE {h('a', 1)} AND {h('b', 2)} AND {h('c', 3)} ORDER BY 1",
        "EXISTS": lambda h: f"{_sel(h, 'a', 1)} AND {_ex(h, 'a', 'b', 2)} AND {_ex(h, 'a', 'c', 3)} ORDER BY 1",
        "IN": lambda h: f"{_sel(h, 'a', 1)} AND a.file_id IN ({_sel(h, 'b', 2)}) "
                        f"AND a.file_id IN ({_sel(h, 'c', 3)}) ORDER BY 1",
    },
    "A OR B": {
        "UNION": lambda h: f"{_sel(h, 'a', 1)} UNION {_sel(h, 'b', 2)} ORDER BY 1",
        "DISTINCT ... OR": lambda h: f"SELECT DISTINCT a.file_id FROM file_tag a WHERE {h('a', 1)} OR {h('a', 2)} ORDER BY 1",
    },
    "A AND NOT B": {
        "EXCEPT": lambda h: f"{_sel(h, 'a', 1)} EXCEPT {_sel(h, 'b', 2)} ORDER BY 1",
        "NOT EXISTS": lambda h: f"{_sel(h, 'a', 1)} AND {_ex(h, 'a', 'b', 2, 'NOT ')} ORDER BY 1",
        "NOT IN": lambda h: f"{_sel(h, 'a', 1)} AND a.file_id NOT IN ({_sel(h, 'b', 2)}) ORDER BY 1",
    },
}
SQL_FORMS["rare AND common"] = SQL_FORMS["A AND B"]

# How the statements name a tag: by id (resolved once, before the clock), by
# id with the tags of an AND taken rarest first (the file counts known from
# the load, as TagFS keeps them), or by name resolved inside the statement.
SQL_TAG_REFS = {
    "ids": lambda a, i: f"{a}.tag_id = ?{i}",
    "ids, rarest first": lambda a, i: f"{a}.tag_id = ?{i}",
    "names": lambda a, i: f"{a}.tag_id = (SELECT id FROM tag WHERE name = ?{i})",
}


def per_query(run, picks, repeat=3):
    """Seconds per query: each pick's best of `repeat`, averaged over the picks."""
    return sum(best_time(lambda: run(p), repeat) for p in picks) / len(picks)


def scale_label(n):
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"


def sqlite_load(ntags, rows, sort):
    """A fresh in-memory SQLite with the tags and the (tag, file) rows, in one
    transaction: (connection, seconds).  sort: insert in key order (the sort is
    timed too)."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.executescript("""
        PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
        PRAGMA temp_store = MEMORY; PRAGMA cache_size = -1048576;
        CREATE TABLE tag (id INTEGER PRIMARY KEY, name TEXT UNIQUE);
        CREATE TABLE file_tag (tag_id INTEGER, file_id INTEGER, PRIMARY KEY (tag_id, file_id)) WITHOUT ROWID;""")
    tags = [(t + 1, tag_name(t)) for t in range(ntags)]
    t = time.perf_counter()
    db.execute("BEGIN")
    db.executemany("INSERT INTO tag VALUES (?, ?)", tags)
    db.executemany("INSERT INTO file_tag VALUES (?, ?)", sorted(rows) if sort else rows)
    db.execute("COMMIT")
    return db, time.perf_counter() - t


def tagfs_ram(n):
    """Hosted RAM for a volume of n files: its cache and more."""
    return max(256 * MiB, n * 3 * 1024)


class TagfsScale:
    """One number of files: a TagFS volume and a SQLite with the same tagged
    files, the picks of every query shape, each shape's fastest SQL form."""

    def __init__(self, b, n, verbose=False):
        self.b, self.n, self.label, self.verbose = b, n, scale_label(n), verbose
        self.ntags, files = zipf_tagged_files(n)
        self.counts = collections.Counter(t for tags in files for t in tags)
        self.load_tagfs(files)
        self.load_sqlite(files)
        self.shapes = {}
        for i, shape in enumerate(TAGFS_SHAPES):
            self.pick(i, shape)

    def load_tagfs(self, files):
        # A fresh volume, roomy enough (1M files take ~65,000 blocks), its cache
        # as Volume sizes it by default.
        from kwe.dev import blockdev
        from kwe.fs import tagfs_host as tfs
        blocks = self.n // 10 + 8192
        self.journal = min(16384, blocks // 4)       # bulk loading commits less often with a big journal
        self.disk = blockdev.MemDisk(blocks)
        tfs.mkfs(self.disk, self.journal)
        self.v = tfs.Volume(self.disk)
        texts = [" ".join(map(tag_name, tags)) for tags in files]
        t = time.perf_counter()
        self.ids = self.v.create_many(texts)         # bulk loading, as SQLite's executemany
        self.v.sync()
        self.ours_load = time.perf_counter() - t

    def load_sqlite(self, files):
        rows = [(tag + 1, fid) for fid, tags in zip(self.ids, files) for tag in tags]
        loads = {sort: sqlite_load(self.ntags, rows, sort) for sort in (False, True)}
        self.sorted = min(loads, key=lambda s: loads[s][1])
        self.db, sql_load = loads.pop(self.sorted)
        loads.popitem()[1][0].close()
        t = time.perf_counter()
        self.db.execute("ANALYZE")
        analyze = time.perf_counter() - t
        del self.ids
        self.create_row = ("tagfs (hosted)", f"create {self.label} tagged files", self.n / self.ours_load,
                           self.n / sql_load, "files/s", "SQLite executemany, 1 transaction", True,
                           f"TagFS: Volume.create_many() (bulk loading), then sync(), journaled to its disk (a journal of "
                           f"{self.journal:,} blocks, {self.journal * 4 // 1024} MiB: a quarter of the volume, at most "
                           f"64 MiB); SQLite in memory, journal_mode=OFF, synchronous=OFF, rows in "
                           f"{'key' if self.sorted else 'file'} order (the faster; ANALYZE after: {analyze * 1e3:.0f} ms, "
                           f"not counted); inputs prebuilt on both sides")

    def pick(self, i, shape):
        """The shape's picks, TagFS's answers, and the fastest SQL form that
        gives the same answers."""
        template, k, kind, reorder = TAGFS_SHAPES[shape]
        by_count = sorted(self.counts, key=lambda t: (-self.counts[t], t))
        # The same seed at every scale: the same tag ranks, so the growth rows
        # compare the same queries over more files.
        picks, rule = tag_picks(kind, k, by_count, self.counts, self.n, random.Random(2026 + i), TAGFS_PICKS)
        picks = [[tag_name(t) for t in p] for p in picks]
        queries = [template.format(*p) for p in picks]
        # The first run of each pick warms the caches, as SQLite's check run
        # does -- and makes dense tags' bitmaps, so it is timed on its own.
        made, t = self.v.info()["bitmaps"], time.perf_counter()
        answers = [self.v.query(q) for q in queries]
        first = (time.perf_counter() - t) / len(queries)
        tried = [t for t in self.sql_forms(shape, picks, queries, answers, reorder)]
        if tried:
            _, form, ref, sql, params = min(tried, key=lambda x: x[0])
            self.shapes[shape] = dict(queries=queries, answers=answers, rule=rule, form=form, ref=ref,
                                      sql=sql, params=params, times={}, first=first,
                                      bitmaps=self.v.info()["bitmaps"] - made)

    def sql_forms(self, shape, picks, queries, answers, reorder):
        """(seconds, form, ref, sql, params) of every SQL form that answers as TagFS does."""
        sql_id = {name: i for i, name in self.db.execute("SELECT id, name FROM tag")}    # resolved once
        sql_count = dict(self.db.execute("SELECT tag_id, count(*) FROM file_tag GROUP BY tag_id"))
        ids = [tuple(sql_id[t] for t in p) for p in picks]
        for form, make in SQL_FORMS[shape].items():
            for ref, has in SQL_TAG_REFS.items():
                if ref == "ids, rarest first" and not reorder:
                    continue
                sql = make(has)
                if ref == "names":
                    params = [tuple(p) for p in picks]
                elif ref == "ids":
                    params = ids
                else:
                    params = [tuple(sorted(p, key=sql_count.get)) for p in ids]
                    if params == ids:           # already so (rare AND common): nothing new to try
                        continue
                bad = [q for q, a, p in zip(queries, answers, params)
                       if [r[0] for r in self.db.execute(sql, p).fetchall()] != a]
                if bad:
                    self.b.problem(f"TagFS and SQLite ({form}, {ref}) disagree on {bad[0]!r} at {self.label} "
                                   f"files ({len(bad)} of {len(queries)} picks)")
                    continue
                # One run each (the check was the warm-up) only ranks the forms;
                # the fastest is timed later as TagFS is.
                secs = per_query(lambda p: self.db.execute(sql, p).fetchall(), params, repeat=1)
                if self.verbose:
                    print(f"  {self.label} {shape:16} {form:16} {ref:18} {secs * 1e6:10.1f} us", file=sys.stderr)
                yield secs, form, ref, sql, params

    def time_round(self):
        """Each pick of each shape TAGFS_REPEAT times in a row, on each side; a
        pick's figure is its best run of every round.  TagFS as query() gives
        it (a Python list, as SQLite's fetchall()) and as query_ids() does (an
        array of ids)."""
        for shape, c in self.shapes.items():
            sql = c["sql"]
            sides = {"list": (self.v.query, c["queries"]), "ids": (self.v.query_ids, c["queries"]),
                     "sqlite": (lambda p: self.db.execute(sql, p).fetchall(), c["params"])}
            for side, (run, args) in sides.items():
                best = c["times"].setdefault(side, [float("inf")] * len(args))
                for j, x in enumerate(args):
                    best[j] = min(best[j], best_time(lambda: run(x), TAGFS_REPEAT))

    def per_query(self, shape, side):
        t = self.shapes[shape]["times"][side]
        return sum(t) / len(t)

    def rows(self):
        self.b.add(*self.create_row)
        for shape, c in self.shapes.items():
            ours, theirs = self.per_query(shape, "list"), self.per_query(shape, "sqlite")
            sizes = sorted(map(len, c["answers"]))
            self.b.add("tagfs (hosted)", f"query {shape} ({self.label} files)", ours * 1e6, theirs * 1e6,
                       "us/query", "SQLite, prepared, best SQL form", False,
                       f"{self.n:,} files, {self.ntags:,} tags (Zipf 1.1), {len(sizes)} picks ({c['rule']}), "
                       f"answers of {sizes[0]:,}..{sizes[-1]:,} ids (median {sizes[len(sizes) // 2]:,}); each "
                       f"pick's best of {TAGFS_ROUNDS} rounds of {TAGFS_REPEAT} runs in a row, the scales taking turns; answers checked equal; SQLite "
                       f"{sqlite3.sqlite_version} in memory, ANALYZEd, {c['form']} with tags as {c['ref']}"
                       + (" (resolved before the clock; TagFS resolves names in every query)"
                          if c["ref"] != "names" else "") + f", fetchall(); TagFS's first run of each pick: "
                       f"{c['first'] * 1e6:,.1f} us/query" + (f" (it made {c['bitmaps']} dense tags' bitmaps, kept "
                                                              f"for the runs timed)" if c["bitmaps"] else ""))

    def answers(self, shape):
        return sum(map(len, self.shapes[shape]["answers"]))


TAGFS_ROUNDS = 2                                 # rounds of timed runs, the scales taking turns
TAGFS_REPEAT = 3                                 # runs of a pick in a row, in a round


def tagfs_queries(b, scales=None, verbose=False):
    """TagFS against SQLite given its best shot, at each number of files in
    `scales` (default: 10k when quick, else TAGFS_SCALES).  Every scale is
    loaded into one machine first, then their timed rounds take turns, so
    a slower spell of this shared machine falls on every scale alike and
    the growth rows compare like with like."""
    from .hosted import fresh
    scales = scales or (TAGFS_SCALES[:1] if b.quick else TAGFS_SCALES)
    fresh(ram=sum(map(tagfs_ram, scales)))
    # The biggest first: its bulk load then has the machine's memory as fresh
    # as a machine of its own would.
    per = {n: TagfsScale(b, n, verbose) for n in sorted(scales, reverse=True)}
    per = {n: per[n] for n in sorted(per)}
    for _ in range(TAGFS_ROUNDS):
        for sc in per.values():
            sc.time_round()
    for sc in per.values():
        sc.rows()
    if 100_000 in per and 1_000_000 in per:
        growth_rows(b, per[100_000], per[1_000_000])
    for sc in per.values():
        sc.v.unmount()
        sc.db.close()


def growth_rows(b, small, big):
    for shape in TAGFS_SHAPES:
        if shape not in small.shapes or shape not in big.shapes:
            continue
        (i1, i2), (o1, o2), (s1, s2) = [(small.per_query(shape, side), big.per_query(shape, side))
                                        for side in ("ids", "list", "sqlite")]
        b.add("tagfs (hosted)", f"growth 100k -> 1M files: {shape}", i2 / i1, 10.0, "x time/query",
              "linear in files (10x)", False,
              f"TagFS time per query at 1M over at 100k, the answer as query_ids() gives it (an array of ids: "
              f"{i1 * 1e6:,.1f} -> {i2 * 1e6:,.1f} us), "
              + ("the same tag ranks picked" if TAGFS_SHAPES[shape][2] == "top" else "picked by the same rule")
              + f" (goal: <= 12x, 1.2x linear); as a Python list (query(), the rows above): {o2 / o1:.1f}x; "
              f"SQLite's: {s2 / s1:.1f}x; the answers grow {big.answers(shape) / max(small.answers(shape), 1):.1f}x")


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
    hosted_operations(b)
    say("booted kernel")
    f = kernel_figures(b, timeout)
    say("Linux under the same QEMU")
    if f:
        against_linux(b, f, timeout)
    if not kvm:
        say("HTTP: KWE's httpd, then Linux's, under the same QEMU")
        http_rows(b, timeout)
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
