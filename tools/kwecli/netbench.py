"""The network bench's yardstick and its client.

linux_figures() boots Debian's generic kernel (the one kwecli.linuxref boots)
under the QEMU/TCG settings KWE boots with, with an e1000 on QEMU's user
networking whose only way in is a forward from 127.0.0.1, and runs
tools/bench/linux_httpd.c, a static single-threaded epoll HTTP/1.1 server,
from a busybox initramfs.  measure() is the client, the same for any server
on a 127.0.0.1 port (Linux's, KWE's httpd): C keep-alive connections of
small GETs for a fixed time after a warm-up (by wrk, with
tools/bench/wrk_check.lua checking each answer, and by an asyncio client:
the higher rate counts), then 10 MiB GETs one after another (asyncio); every response is
checked (status, Content-Length, ETag, the body's bytes or SHA-256) and one
that is wrong makes it raise BadResponse.

Both servers serve the same bytes, FILES below (file_bytes makes them):
ID 1 is 1 KiB, ID 2 is 10 MiB, splitmix64 output stored little-endian, and
the ETag is the zlib CRC-32 of the body as 8 lowercase hex digits in quotes.

    python -m kwecli.netbench [--quick] [-c 8]        boot Linux, measure it
    python -m kwecli.netbench --port P                measure a server already on 127.0.0.1:P
    tools/kwe bench --net-linux [--quick]             the first, from the CLI
"""
import argparse
import asyncio
import contextlib
import dataclasses
import hashlib
import json
import lzma
import math
import os
import re
import resource
import shutil
import stat
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from . import linuxref, qemu
from .linuxref import HERE, Unavailable

HOST = "127.0.0.1"              # the only address the client connects to, and QEMU forwards from
GUEST_PORT = 80
SOURCE = linuxref.ROOT / "tools" / "bench" / "linux_httpd.c"
WRK_LUA = linuxref.ROOT / "tools" / "bench" / "wrk_check.lua"
MODULES = ("e1000",)            # and whatever they depend on, from the same linux-image package
# Linux's stronger setting here: its e1000 driver throttles interrupts by
# default (InterruptThrottleRate=3, adaptive, through the ITR register, which
# QEMU's e1000 honours); with it off the 10 MiB GETs were ~13% faster and the
# small GETs no slower under this QEMU/TCG (two boots of each).  A driver that
# never writes ITR gets no throttling from QEMU either.
MODULE_PARAMS = {"e1000": "InterruptThrottleRate=0"}
FILES = {1: ("small.bin", 1024, 1), 2: ("large.bin", 10 << 20, 2026)}     # id: (name, bytes, seed)
LISTING = b"".join(b"%d %s\n" % (i, name.encode()) for i, (name, _, _) in FILES.items())
# QEMU on one core, the client on the other (bench.PIN's choice: the same core KWE's boots get).
QEMU_CPU, CLIENT_CPU = ("1", 0) if (os.cpu_count() or 1) > 1 else (None, None)
MB = 1e6


class BadResponse(Exception):
    """A server answered wrongly: the measurement is broken, not slow."""


# ---- the bytes both servers serve ----------------------------------------------------
_cache = {}


def splitmix64(seed, n):
    """n bytes of splitmix64 (state += golden gamma, mixed), each word little-endian."""
    import numpy as np
    words = (n + 7) // 8
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + np.arange(1, words + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z.astype("<u8").tobytes()[:n]


def file_bytes(fid):
    if fid not in _cache:
        _, size, seed = FILES[fid]
        _cache[fid] = splitmix64(seed, size)
    return _cache[fid]


def etag_of(data):
    return '"%08x"' % zlib.crc32(data)


@dataclass(frozen=True)
class Expect:
    """What a GET of `path` must answer; etag None: no ETag is checked."""
    path: str
    length: int
    digest: bytes
    etag: str | None

    @classmethod
    def of(cls, path, data, etag=True):
        return cls(path, len(data), hashlib.sha256(data).digest(), etag_of(data) if etag else None)


# ---- the client ------------------------------------------------------------------------
class _Conn(asyncio.Protocol):
    """One keep-alive connection: one GET outstanding at a time, its answer
    parsed and checked as it arrives (the body hashed, never kept)."""

    def __init__(self, run, expect):
        self.run, self.e = run, expect
        self.request = f"GET {expect.path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()
        self.head = bytearray()
        self.left = None                # body bytes still to come; None: in the head
        self.busy = False
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def go(self):
        self.busy, self.left = True, None
        self.head.clear()
        self.started = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data):
        if not self.busy:
            return self.run.fail(f"{self.e.path}: {len(data)} bytes with no request outstanding")
        if self.left is None:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                if len(self.head) > 16384:
                    self.run.fail(f"{self.e.path}: no end of headers in {len(self.head)} bytes")
                return
            problem = self.check_head(bytes(self.head[:end]))
            if problem:
                return self.run.fail(f"{self.e.path}: {problem}")
            data = bytes(self.head[end + 4:])
            self.left, self.sha = self.e.length, hashlib.sha256()
        if len(data) > self.left:
            return self.run.fail(f"{self.e.path}: {len(data) - self.left} bytes past Content-Length")
        self.sha.update(data)
        self.left -= len(data)
        self.run.progress += len(data)
        if self.left == 0:
            if self.sha.digest() != self.e.digest:
                return self.run.fail(f"{self.e.path}: the body's SHA-256 is not the expected bytes'")
            self.busy = False
            self.run.done(self, time.perf_counter() - self.started)

    def check_head(self, head):
        lines = head.decode("latin-1").split("\r\n")
        if not lines[0].startswith("HTTP/1.1 200 "):
            return f"status line {lines[0]!r}"
        h = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                return f"malformed header line {line!r}"
            h[name.strip().lower()] = value.strip()
        if h.get("content-length") != str(self.e.length):
            return f"Content-Length {h.get('content-length')!r}, expected {self.e.length}"
        if self.e.etag is not None and h.get("etag") != self.e.etag:
            return f"ETag {h.get('etag')!r}, expected {self.e.etag}"
        if h.get("connection", "").lower() == "close":
            return "the server closes a keep-alive connection"
        return None

    def connection_lost(self, exc):
        self.transport = None
        self.run.lost(self, exc)


class _Run:
    """Connections kept busy until stop(); completions counted while measuring."""

    def __init__(self, stall):
        self.loop = asyncio.get_running_loop()
        self.finished = self.loop.create_future()
        self.measuring = self.stopping = False
        self.conns, self.latencies, self.error = [], [], None
        self.progress, self.stall = 0, stall
        self.limit = None               # completions to measure (None: until stop())

    def done(self, conn, latency):
        if self.measuring:
            self.latencies.append(latency)
            if self.limit is not None and len(self.latencies) >= self.limit:
                self.stop()
        if self.stopping:
            conn.transport.close()
        else:
            conn.go()

    def fail(self, why):
        if self.error is None:
            self.error = why
        self.abort_all()
        if not self.finished.done():
            self.finished.set_result(None)

    def abort_all(self):
        for c in self.conns:
            if c.transport:
                c.transport.abort()

    def check(self):
        """Raise what went wrong, if anything did."""
        if self.error:
            raise BadResponse(self.error)

    def lost(self, conn, exc):
        if conn.busy and self.error is None:
            self.fail(f"{conn.e.path}: the connection ended in the middle of an answer ({exc or 'closed'})")
        if all(c.transport is None for c in self.conns) and not self.finished.done():
            self.finished.set_result(None)

    def stop(self):
        self.measuring, self.stopping = False, True
        for c in self.conns:
            if not c.busy and c.transport:
                c.transport.close()

    async def watchdog(self):
        """A server that stops answering fails the run instead of hanging it."""
        last, since = -1, time.monotonic()
        while not self.finished.done():
            await asyncio.sleep(0.5)
            if self.progress != last:
                last, since = self.progress, time.monotonic()
            elif time.monotonic() - since > self.stall:
                self.fail(f"no byte from the server in {self.stall:.0f} s")


def _cpu_of(pid):
    """CPU seconds (user + system) of process pid so far, or None."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class _Clock:
    """Wall time and CPU use (this process's, the server's) over a window."""

    def __init__(self, server_pid):
        self.pid = server_pid
        self.t, self.cpu, self.srv = time.perf_counter(), time.process_time(), _cpu_of(server_pid) if server_pid else None

    def read(self):
        wall = time.perf_counter() - self.t
        srv = _cpu_of(self.pid) if self.pid else None
        return wall, (time.process_time() - self.cpu) / wall, \
            (srv - self.srv) / wall if srv is not None and self.srv is not None else None


async def _connect(run, port, expect, n, timeout):
    loop = asyncio.get_running_loop()
    for _ in range(n):
        try:
            _, c = await asyncio.wait_for(loop.create_connection(lambda: _Conn(run, expect), HOST, port), timeout)
        except (OSError, asyncio.TimeoutError) as e:
            raise BadResponse(f"cannot connect to {HOST}:{port}: {e or 'timed out'}") from None
        run.conns.append(c)


async def small_run(port, expect, connections, warmup, duration, server_pid=None, stall=30):
    """C connections GETting `expect.path` back to back; after `warmup` s the
    completions are counted for `duration` s."""
    run = _Run(stall)
    dog = asyncio.ensure_future(run.watchdog())
    try:
        await _connect(run, port, expect, connections, stall)
        for c in run.conns:
            c.go()
        await asyncio.wait([run.finished], timeout=warmup)
        clock = _Clock(server_pid)
        run.measuring = True
        await asyncio.wait([run.finished], timeout=duration)
        wall, cpu, srv = clock.read()
        run.stop()
        await asyncio.wait_for(asyncio.shield(run.finished), stall)
    finally:
        dog.cancel()
        run.abort_all()
    run.check()
    lat = sorted(run.latencies)
    if not lat:
        raise BadResponse(f"no answer to {expect.path} completed in {duration} s")
    return {"path": expect.path, "bytes": expect.length, "connections": connections, "warmup_s": warmup,
            "duration_s": round(wall, 3), "requests": len(lat), "requests_per_s": len(lat) / wall,
            "latency_ms": {"median": statistics.median(lat) * 1e3, "p99": lat[int(len(lat) * .99)] * 1e3,
                           "max": lat[-1] * 1e3},
            "client_cpu": cpu, "server_cpu": srv}


async def large_run(port, expect, warmup_gets, gets, server_pid=None, stall=30):
    """One keep-alive connection GETting `expect.path` warmup_gets + gets times in a row."""
    run = _Run(stall)
    dog = asyncio.ensure_future(run.watchdog())
    try:
        await _connect(run, port, expect, 1, stall)
        if warmup_gets:
            run.limit, run.measuring = warmup_gets, True
            run.conns[0].go()
            # the last warm-up answer closes the connection (stop()): measure on a fresh one
            await asyncio.wait_for(asyncio.shield(run.finished), stall * warmup_gets)
            run.check()
            run = _Run(stall)
            dog.cancel()
            dog = asyncio.ensure_future(run.watchdog())
            await _connect(run, port, expect, 1, stall)
        clock = _Clock(server_pid)
        run.limit, run.measuring = gets, True
        run.conns[0].go()
        await asyncio.wait_for(asyncio.shield(run.finished), stall * gets)
        wall, cpu, srv = clock.read()
    finally:
        dog.cancel()
        run.abort_all()
    run.check()
    secs = run.latencies
    return {"path": expect.path, "bytes": expect.length, "gets": len(secs), "warmup_gets": warmup_gets,
            "seconds": [round(s, 4) for s in secs], "mb_per_s": expect.length * len(secs) / sum(secs) / MB,
            "mb_per_s_best": expect.length / min(secs) / MB, "duration_s": round(wall, 3),
            "client_cpu": cpu, "server_cpu": srv}


async def one_get(port, expect, stall=30):
    run = _Run(stall)
    await _connect(run, port, expect, 1, stall)
    run.limit, run.measuring = 1, True
    run.conns[0].go()
    try:
        await asyncio.wait_for(asyncio.shield(run.finished), stall)
    finally:
        run.abort_all()
    run.check()


def durations(quick):
    """(warm-up s, measured s, 10 MiB warm-up GETs, measured GETs)."""
    return (0.5, 2.0, 1, 2) if quick else (2.0, 10.0, 1, 5)


def wrk_version():
    out = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    m = re.search(r"wrk (\S+)", out.stdout + out.stderr)
    return m.group(1) if m else "?"


def wrk_once(port, expect, body, connections, seconds, cpu, server_pid, stall):
    """One wrk run of whole `seconds` (wrk takes no less): its WRK line as a dict,
    with wall time and CPU use."""
    with tempfile.TemporaryDirectory(prefix="kwe-wrk-") as tmp:
        path = Path(tmp) / "body"
        path.write_bytes(body)
        cmd = (["taskset", "-c", str(cpu)] if cpu is not None else []) + [
            "wrk", "-t1", f"-c{connections}", f"-d{seconds}", f"--timeout={int(stall)}s", "-s", str(WRK_LUA),
            f"http://{HOST}:{port}{expect.path}", "--", str(path), expect.etag]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        clock = _Clock(server_pid)
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + stall + 30)
        except subprocess.TimeoutExpired:
            raise BadResponse(f"wrk did not end in {seconds + stall + 30} s") from None
        wall, _, srv = clock.read()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    m = re.search(r"^WRK requests .*$", p.stdout, re.M)
    if p.returncode != 0 or not m:
        raise BadResponse(f"wrk failed (status {p.returncode}): {(p.stderr or p.stdout).strip()[-400:]}")
    words = m.group(0).split()[1:]
    f = {k: int(v) for k, v in zip(words[::2], words[1::2])}
    bad = re.search(r"^WRK first-bad (.*)$", p.stdout, re.M)
    if f["bad"] or bad:
        raise BadResponse(f"{expect.path}: {f['bad']} of {f['requests']} answers wrong; the first: "
                          + (bad.group(1) if bad else "?"))
    errors = {k: f[k] for k in ("connect", "read", "write", "timeout", "status") if f[k]}
    if errors:
        raise BadResponse(f"{expect.path}: wrk counted socket errors {errors} (connections ended or stalled)")
    if f["good"] != f["requests"]:
        raise BadResponse(f"{expect.path}: wrk checked {f['good']} of {f['requests']} answers")
    f["client_cpu"] = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / wall
    f["server_cpu"] = srv
    return f


def wrk_small_run(port, expect, body, connections, warmup, duration, cpu=None, server_pid=None, stall=30):
    """The small GETs by wrk: a warm-up run, then the measured one; its
    Lua script (tools/bench/wrk_check.lua) checks every answer."""
    warmup, duration = math.ceil(warmup), max(1, math.ceil(duration))
    if warmup:
        wrk_once(port, expect, body, connections, warmup, cpu, server_pid, stall)
    f = wrk_once(port, expect, body, connections, duration, cpu, server_pid, stall)
    secs = f["duration_us"] / 1e6
    return {"path": expect.path, "bytes": expect.length, "connections": connections, "warmup_s": warmup,
            "duration_s": round(secs, 3), "requests": f["requests"], "requests_per_s": f["requests"] / secs,
            "latency_ms": {"median": f["p50_us"] / 1e3, "p99": f["p99_us"] / 1e3, "max": f["max_us"] / 1e3},
            "client_cpu": f["client_cpu"], "server_cpu": f["server_cpu"],
            "client": f"wrk {wrk_version()} -t1 -c{connections} (Debian's), every answer checked by "
                      "tools/bench/wrk_check.lua"}


def measure(port, quick=False, connections=8, duration=None, warmup=None, gets=None, small_id=1, large_id=2,
            listing=LISTING, cpu=None, server_pid=None, stall=30, client="best"):
    """The client against http://127.0.0.1:port: (a) small GETs per second on
    `connections` keep-alive connections, (b) 10 MiB GETs in MB/s (1e6 bytes).
    client: who makes the small GETs -- "wrk" (C, Lua-checked), "python"
    (asyncio), or "best": both, one after the other, the higher rate being
    the figure and both kept in small["by_client"].  Neither is the stronger
    everywhere: against a native server wrk makes twice the asyncio client's
    rate, but against Linux under TCG wrk was ~20% ahead at 8 connections and
    ~20% behind at 32 (repeated, alternating, on one boot); the servers are
    compared on the same choice.  The 10 MiB GETs are always the asyncio
    client's, which hashes each body with SHA-256.
    cpu: the core to run the client on (restored after); server_pid: a
    process whose CPU use is reported beside the client's (QEMU's).  listing:
    the exact answer expected from /files?q=... (None: any 200).  Raises
    BadResponse at the first wrong answer."""
    w, d, wg, g = durations(quick)
    warmup, duration, gets = w if warmup is None else warmup, d if duration is None else duration, gets or g
    clients = ["python", "wrk"] if client == "best" else [client]
    if client == "best" and shutil.which("wrk") is None:
        clients = ["python"]
    small = Expect.of(f"/files/{small_id}", file_bytes(1))
    large = Expect.of(f"/files/{large_id}", file_bytes(2))
    old = os.sched_getaffinity(0) if cpu is not None else None
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    py = f"kwecli.netbench (Python {sys.version.split()[0]} asyncio, one GET outstanding per keep-alive connection)"
    try:
        # A first answer before any clock: a server's first connection can be slow
        # for reasons of its own (QEMU's user network: see initramfs()).
        asyncio.run(one_get(port, small, stall))
        if listing is not None:
            asyncio.run(one_get(port, Expect.of("/files?q=all", listing, etag=False), stall))
        runs = []
        for who in clients:
            if who == "wrk":
                x = wrk_small_run(port, small, file_bytes(1), connections, warmup, duration, cpu, server_pid, stall)
            else:
                x = asyncio.run(small_run(port, small, connections, warmup, duration, server_pid, stall))
                x["client"] = py + ", every answer checked"
            runs.append((who, x))
        a = dict(max(runs, key=lambda r: r[1]["requests_per_s"])[1])
        a["by_client"] = {who: {k: x[k] for k in ("requests_per_s", "requests", "duration_s", "client_cpu",
                                                  "server_cpu")} for who, x in runs}
        b = asyncio.run(large_run(port, large, wg, gets, server_pid, stall))
        b["client"] = py + ", each body's SHA-256 checked"
    finally:
        if old is not None:
            os.sched_setaffinity(0, old)
    warnings = [f"the client used {x['client_cpu']:.0%} of a core during {what}: it may be the bottleneck"
                for what, x in (("the small GETs", a), ("the 10 MiB GETs", b)) if x["client_cpu"] > 0.6]
    if client == "best" and clients == ["python"]:
        warnings.append("no wrk here (apt-get install wrk): the small GETs were made by the asyncio client alone")
    return {"small": a, "large": b, "client_pinned": cpu, "warnings": warnings}


# ---- Linux under QEMU ------------------------------------------------------------------
def compile_httpd(out):
    """linux_httpd.c -> a static executable at out (tests build it for the host too)."""
    if not Path("/usr/include/zlib.h").exists():
        raise Unavailable("zlib1g-dev is not installed (tools/kwe installs it)")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    linuxref.run(["gcc", "-O2", "-Wall", "-static", "-o", str(out), str(SOURCE), "-lz"])
    return Path(out)


def program():
    """linux_httpd for the guest, rebuilt when its source changes."""
    out = HERE / "linux_httpd"
    if not out.exists() or out.stat().st_mtime < SOURCE.stat().st_mtime:
        compile_httpd(out)
    return out


def modinfo(ko, key):
    m = re.search(rb"(?:^|\0)" + key.encode() + rb"=([^\0]*)", ko)
    return m.group(1).decode() if m else None


def decompress(name, data):
    """A module as insmod takes it: Debian ships some compressed (.ko.xz, .ko.zst)."""
    if name.endswith(".ko"):
        return data
    if name.endswith(".xz"):
        return lzma.decompress(data)
    if name.endswith(".gz"):
        import gzip
        return gzip.decompress(data)
    if name.endswith(".zst"):
        try:
            import zstandard
            return zstandard.ZstdDecompressor().decompressobj().decompress(data)
        except ImportError:
            if shutil.which("zstd") is None:
                raise Unavailable(f"{name} is zstd-compressed and neither zstandard nor zstd is here")
            return subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=True).stdout
    raise Unavailable(f"{name}: a module compressed in a way this does not know")


def kernel_and_modules(names=MODULES):
    """(vmlinuz, version, [(name, .ko bytes)] in load order, dependencies
    first).  The kernel is linuxref's (build/linuxref/kernel/, fetched here
    along with the modules when linuxref has not yet); the modules come from
    the very package it came from and are cached in build/linuxref/net/."""
    found = sorted(HERE.glob("kernel/boot/vmlinuz-*"))
    version = found[-1].name.removeprefix("vmlinuz-") if found else None
    cache = HERE / "net" / (version or "-")
    order = cache / "order"
    if found and order.exists() and all((cache / f"{n}.ko").exists() for n in order.read_text().split()):
        return found[-1], version, [(n, (cache / f"{n}.ko").read_bytes()) for n in order.read_text().split()]
    package = f"linux-image-{version}" if version else linuxref.kernel_package()
    tmp = HERE / "net" / "deb"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    linuxref.run(["apt-get", "download", package], cwd=tmp)
    deb = next(tmp.glob("*.deb"))
    tar = tarfile.open(fileobj=BytesIO(subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)],
                                                      capture_output=True, check=True).stdout))
    shutil.rmtree(tmp)
    members = {m.name: m for m in tar.getmembers()}
    boots = [m for m in members if re.fullmatch(r"\./boot/vmlinuz-.*", m)]
    if len(boots) != 1:
        raise Unavailable(f"{package} holds {len(boots)} kernels, not one")
    image = tar.extractfile(members[boots[0]]).read()
    if version is None:         # where linuxref.kernel() finds it
        version = boots[0].removeprefix("./boot/vmlinuz-")
        found = [HERE / "kernel" / "boot" / f"vmlinuz-{version}"]
        found[0].parent.mkdir(parents=True, exist_ok=True)
        found[0].write_bytes(image)
        cache, order = HERE / "net" / version, HERE / "net" / version / "order"
    elif image != found[-1].read_bytes():
        raise Unavailable(f"{package} today is not the build of {found[-1]} (a new upload with the same ABI "
                          f"name?): remove {HERE / 'kernel'} and run again to fetch both anew")
    by_name = {}
    for name in members:
        m = re.fullmatch(rf"\./lib/modules/{re.escape(version)}/.*/([^/]+)\.ko(\.[a-z]+)?", name)
        if m:
            by_name[m.group(1).replace("-", "_")] = name
    loaded, out = set(), []

    def need(n):
        n = n.replace("-", "_")
        if n in loaded:
            return
        if n not in by_name:
            raise Unavailable(f"{package} has no module {n} (built in, or named otherwise?)")
        ko = decompress(by_name[n], tar.extractfile(members[by_name[n]]).read())
        magic = modinfo(ko, "vermagic") or ""
        if not magic.startswith(version + " "):
            raise Unavailable(f"{n}.ko is for {magic!r}, not {version}")
        loaded.add(n)
        for dep in filter(None, (modinfo(ko, "depends") or "").split(",")):
            need(dep)
        out.append((n, ko))

    for n in names:
        need(n)
    cache.mkdir(parents=True, exist_ok=True)
    for n, ko in out:
        (cache / f"{n}.ko").write_bytes(ko)
    order.write_text(" ".join(n for n, _ in out) + "\n")
    return found[-1], version, out


def initramfs(mods, params=None):
    """busybox, the modules, linux_httpd and an /init that loads the modules,
    sets eth0 up as QEMU's user network expects and starts the server."""
    bb = "/bin/busybox"
    lines = ["#!/bin/sh", "echo NETBENCH init", f"{bb} mount -t proc proc /proc", f"{bb} mount -t sysfs sys /sys"]
    params = MODULE_PARAMS if params is None else params
    lines += [f"{bb} insmod /lib/{n}.ko {params.get(n, '')} || echo 'NETBENCH error: insmod {n}'" for n, _ in mods]
    lines += ["i=0", "while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do "
              f"{bb} usleep 100000; i=$((i + 1)); done",
              f"{bb} ip addr add 10.0.2.15/24 dev eth0", f"{bb} ip link set eth0 up",
              f"{bb} ip route add default via 10.0.2.2",
              "i=0", "while [ \"$(cat /sys/class/net/eth0/carrier 2>/dev/null)\" != 1 ] && [ $i -lt 100 ]; do "
              f"{bb} usleep 50000; i=$((i + 1)); done",
              # QEMU's user network learns the guest's MAC only from the guest's own
              # frames: until then it drops its first SYN to a forwarded port and
              # resends it ~6 s later.  One ARP request for the gateway teaches it
              # (once the link is up: a frame sent before is lost).
              f"{bb} arping -c 1 -w 2 -I eth0 10.0.2.2 >/dev/null || echo 'NETBENCH note: no ARP answer from 10.0.2.2'",
              f"/linux_httpd {GUEST_PORT} || echo 'NETBENCH error: linux_httpd ended'", f"{bb} poweroff -f", ""]
    entry, d, exe = linuxref.cpio_entry, stat.S_IFDIR | 0o755, stat.S_IFREG | 0o755
    parts = [entry("dev", d), entry("proc", d), entry("sys", d), entry("bin", d), entry("lib", d),
             entry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1)),
             entry("bin/busybox", exe, linuxref.busybox().read_bytes()),
             entry("bin/sh", stat.S_IFLNK | 0o777, b"busybox")]
    parts += [entry(f"lib/{n}.ko", stat.S_IFREG | 0o644, ko) for n, ko in mods]
    parts += [entry("linux_httpd", exe, program().read_bytes()), entry("init", exe, "\n".join(lines).encode()),
              entry("TRAILER!!!", 0)]
    path = HERE / "net-initramfs.cpio"
    path.write_bytes(b"".join(parts))
    return path


def nic_args(port):
    """QEMU's network for both kernels: an e1000 on user networking that
    reaches nothing outside (restrict=on), its port 80 forwarded from
    127.0.0.1:port only."""
    return ["-netdev", f"user,id=n0,restrict=on,hostfwd=tcp:{HOST}:{port}-:{GUEST_PORT}",
            "-device", "e1000,netdev=n0"]


def machine_net(port):
    """Machine(**this): through Machine.net when qemu.py has it (its default
    is -nic none), else through extra, where QEMU then adds no NIC of its own
    (it does only when no -nic/-netdev/-net is given)."""
    if "net" in {f.name for f in dataclasses.fields(qemu.Machine)}:
        return {"net": nic_args(port)}
    return {"extra": nic_args(port)}


def qemu_version():
    try:
        out = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True).stdout
        return out.splitlines()[0].strip()
    except (OSError, IndexError):
        return "unknown"


@dataclass
class Server:                    # a kernel under QEMU serving HTTP on 127.0.0.1:port
    port: int                   # on 127.0.0.1
    session: qemu.Session
    version: str
    nic: str                    # the NIC and its module parameters, in words
    boot_s: float               # QEMU start -> "httpd: ready"


@contextlib.contextmanager
def linux_server(timeout=180, params=None):
    """Linux with linux_httpd under QEMU/TCG, pinned as KWE's boots are,
    while the block runs; QEMU is ended after it.  Raises Unavailable when
    the reference cannot be built or does not come up."""
    if shutil.which("apt-get") is None:
        raise Unavailable("no apt-get: the reference kernel comes from Debian's archive")
    vmlinuz, version, mods = kernel_and_modules()
    params = MODULE_PARAMS if params is None else params
    cpio = initramfs(mods, params)
    port = qemu.free_port()
    machine = machine_net(port)
    machine["extra"] = ["-kernel", str(vmlinuz), "-initrd", str(cpio), "-append", linuxref.APPEND] \
        + machine.get("extra", [])
    t = time.perf_counter()
    with qemu.Session(image=None, kvm=False, pin=QEMU_CPU, **machine) as s:
        try:
            s.wait_for("httpd: ready", timeout=timeout)
        except TimeoutError as e:
            raise Unavailable(f"linux_httpd did not come up under QEMU: {e}"[-2000:]) from None
        nic = (f"e1000 on -netdev user,restrict=on, hostfwd {HOST}:{port} -> guest :{GUEST_PORT}; modules: "
               + ", ".join(f"{n} {params.get(n, '')}".strip() for n, _ in mods))
        yield Server(port, s, version, nic, time.perf_counter() - t)
        if s.proc.poll() is not None or "NETBENCH error" in s.log:
            raise Unavailable(f"the Linux guest failed during the run; serial tail:\n{s.log[-1500:]}")


def linux_figures(quick=False, connections=8, timeout=180, params=None, **measure_args):
    """Boot Linux with linux_httpd under QEMU/TCG and measure it: measure()'s
    dict plus "conditions" and "kernel".  Raises linuxref.Unavailable when the
    reference cannot be built or boot, BadResponse when it answers wrongly."""
    load = os.getloadavg()[0]
    with linux_server(timeout, params) as srv:
        try:
            r = measure(srv.port, quick, connections, cpu=CLIENT_CPU, server_pid=srv.session.proc.pid,
                        **measure_args)
        except BadResponse as e:
            raise BadResponse(f"{e}; serial tail:\n{srv.session.log[-1500:]}") from None
    w, d, wg, g = durations(quick)
    r["conditions"] = {
        "server": f"tools/bench/linux_httpd.c (static, epoll, one thread) on Linux {srv.version}, "
                  f"{linuxref.APPEND.split(' rdinit')[0]}",
        "qemu": qemu_version(), "accelerator": "TCG", "cpu": "max", "memory": qemu.Machine.memory,
        "nic": srv.nic, "host_cores": os.cpu_count(), "qemu_pinned_to": QEMU_CPU,
        "client_pinned_to": CLIENT_CPU, "boot_to_ready_s": round(srv.boot_s, 2),
        "host_load": f"1-minute load average {load:.2f} before, {os.getloadavg()[0]:.2f} after "
                     "(anything else running shares QEMU's core: see server_cpu)",
        "small": f"GET /files/1 ({FILES[1][1]} B), {r['small']['connections']} keep-alive connections, "
                 f"{r['small']['warmup_s']} s warm-up, then {r['small']['duration_s']} s measured: "
                 f"{r['small']['requests']} requests",
        "large": f"GET /files/2 ({FILES[2][1] >> 20} MiB) on one keep-alive connection, {wg} warm-up GET(s), "
                 f"then {r['large']['gets']} measured, each body's SHA-256 checked"}
    r["kernel"] = srv.version
    return r


# ---- KWE's httpd under the same QEMU --------------------------------------------------
def upload(port, fid, stall=120):
    """PUT FILES[fid]'s bytes to httpd (tagged `all` and bench=NAME); its id there."""
    import http.client
    name, _, _ = FILES[fid]
    c = http.client.HTTPConnection(HOST, port, timeout=stall)
    c.request("PUT", f"/files?tags=all%20bench%3D{name}", body=file_bytes(fid))
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 201:
        raise BadResponse(f"PUT {name}: {r.status} {body[:200]!r}")
    return int(body)


@contextlib.contextmanager
def kwe_server(timeout=180):
    """KWE's httpd under QEMU/TCG with Linux's machine (the same e1000, user
    network, memory, pinning), FILES stored through PUT: (server, {fid: KWE id})."""
    port = qemu.free_port()
    t = time.perf_counter()
    with qemu.Session("run=init init=httpd", kvm=False, pin=QEMU_CPU, **machine_net(port)) as s:
        try:
            s.wait_for("httpd: listening", timeout=timeout)
        except TimeoutError as e:
            raise Unavailable(f"KWE's httpd did not come up: {e}"[-2000:]) from None
        boot = time.perf_counter() - t
        ids = {fid: upload(port, fid) for fid in FILES}
        yield Server(port, s, "KWE", "e1000 on -netdev user,restrict=on (KWE's driver)", boot), ids
        if s.proc.poll() is not None:
            raise Unavailable(f"KWE ended during the run; serial tail:\n{s.log[-1500:]}")


def kwe_figures(quick=False, connections=8, timeout=180, **measure_args):
    """KWE's httpd measured as linux_figures measures Linux: the same client,
    the same bytes (uploaded first, so the ids are KWE's), the same QEMU."""
    with kwe_server(timeout) as (srv, ids):
        listing = b"".join(b"%d - all bench=%s\n" % (ids[f], FILES[f][0].encode()) for f in sorted(FILES))
        try:
            r = measure(srv.port, quick, connections, cpu=CLIENT_CPU, server_pid=srv.session.proc.pid,
                        small_id=ids[1], large_id=ids[2], listing=listing, **measure_args)
        except BadResponse as e:
            raise BadResponse(f"{e}; serial tail:\n{srv.session.log[-1500:]}") from None
    r["conditions"] = {"server": "pyx/user/programs/httpd.pyx on KWE (each request one workflow)",
                       "qemu": qemu_version(), "accelerator": "TCG", "memory": qemu.Machine.memory,
                       "nic": srv.nic, "qemu_pinned_to": QEMU_CPU, "client_pinned_to": CLIENT_CPU,
                       "boot_to_ready_s": round(srv.boot_s, 2)}
    return r


def summary(r):
    a, b = r["small"], r["large"]
    srv = lambda x: f", server (QEMU) {x['server_cpu']:.0%}" if x.get("server_cpu") is not None else ""
    lines = [f"small GETs: {a['requests_per_s']:,.0f} requests/s ({a['requests']} in {a['duration_s']} s, "
             f"{a['connections']} connections; latency median {a['latency_ms']['median']:.2f} ms, "
             f"p99 {a['latency_ms']['p99']:.2f} ms); CPU: client {a['client_cpu']:.0%}{srv(a)}",
             f"10 MiB GETs: {b['mb_per_s']:,.1f} MB/s (best {b['mb_per_s_best']:,.1f}; {b['gets']} GETs, "
             f"{', '.join(f'{s:.3f}' for s in b['seconds'])} s); CPU: client {b['client_cpu']:.0%}{srv(b)}"]
    lines += [f"  small GETs by {a['client']}" + (" (the higher of: " + ", ".join(
                  f"{who} {x['requests_per_s']:,.0f}/s, client CPU {x['client_cpu']:.0%}"
                  for who, x in a.get("by_client", {}).items()) + ")" if len(a.get("by_client", {})) > 1 else ""),
              f"  10 MiB GETs by {b['client']}"]
    for k, v in r.get("conditions", {}).items():
        lines.append(f"  {k}: {v}")
    lines += [f"warning: {w}" for w in r["warnings"]]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m kwecli.netbench",
                                 description="HTTP bench: Linux + linux_httpd under QEMU/TCG, or any server "
                                             "on a 127.0.0.1 port")
    ap.add_argument("--quick", action="store_true", help="short runs (seconds)")
    ap.add_argument("-c", "--connections", type=int, default=8)
    ap.add_argument("--port", type=int, default=None, help="measure the server already on 127.0.0.1:PORT")
    ap.add_argument("--no-listing", action="store_true", help="with --port: any 200 for /files?q=")
    ap.add_argument("--client", choices=("best", "wrk", "python"), default="best",
                    help="who makes the small GETs (best: both, the higher rate counts)")
    ap.add_argument("-o", "--output", default=None, help="write the figures as JSON")
    a = ap.parse_args(argv)
    return run_cli(a.quick, a.connections, a.port, a.output, None if a.no_listing else LISTING, a.client)


def run_cli(quick=False, connections=8, port=None, output=None, listing=LISTING, client="best"):
    try:
        if port is None:
            r = linux_figures(quick, connections, client=client)
        else:
            r = measure(port, quick, connections, listing=listing, cpu=CLIENT_CPU, client=client)
    except (Unavailable, BadResponse) as e:
        print(f"netbench: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(summary(r))
    if output:
        Path(output).write_text(json.dumps(r, indent=2) + "\n")
        print(f"netbench: wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
