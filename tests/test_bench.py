"""tools/kwe bench --quick, as a user runs it: one table, a JSON file with
every benchmark group, figures that are real measurements.  Speed is never
asserted here (benchmarks report, tests assert); correctness is: the
command exits non-zero when a measurement is broken (a boot that did not
finish, outputs that disagree with their reference)."""
import json
import subprocess
import sys

import pytest

from kwecli import bench
from kwecli.paths import ROOT


def test_bench_quick_prints_the_table_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    r = subprocess.run([sys.executable, "-m", "kwecli", "bench", "--quick", "-o", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "TCG (cycle figures are emulated)" in r.stdout
    for group in ("operations (hosted)", "operations (in the kernel)", "workflow claim", "latency",
                  "kernel", "safety", "boot", "tagfs (hosted)", "kernel vs Linux (same QEMU/TCG)",
                  "kernel vs Linux (same QEMU, -icount shift=0)"):
        assert f"[{group}]" in r.stdout, group
    j = json.loads(out.read_text())
    assert j["accelerator"] == "TCG" and j["cycles_emulated"] and j["problems"] == []
    rows = {(x["group"], x["name"]): x for x in j["rows"]}
    # the claim: every kind at every size, NOP and CRC32, against one kernel_notify + WAIT per op
    claim = [rows[("workflow claim", f"{n} x {op}: {how.format(n=n)}")]
             for n in bench.SIZES for op in bench.OPS.values() for how in bench.KINDS.values()]
    for x in claim:
        assert x["ours"] > 0 and x["ref"] > 0 and x["ratio"] == pytest.approx(x["ref"] / x["ours"])
        assert "every result read" in x["note"]
    # the stage counters add up: the stages of a row are its cycles, give or take the reads
    stages = {name: x for (g, name), x in rows.items() if g == "where the cycles go (stage counters on)"}
    assert {"64 x NOP: wf", "64 x NOP: events", "1 x NOP: single"} <= set(stages)
    for x in stages.values():
        parts = [int(p.split()[-1].replace(",", "")) for p in x["note"].split(" (")[0].split(", ")]
        assert 0.8 * x["ours"] <= sum(parts) <= 1.25 * x["ours"], x     # the counters also see their reads
    names = {name for _, name in rows}
    assert {"system call round trip", "context switch round trip (yield, 2 processes)",
            "QEMU start -> first workflow result", "query A AND B (10k files)", "RLE encode"} <= names
    # the TagFS section: quick mode is 10k files only, every shape against SQLite
    tagfs = {name: x for (g, name), x in rows.items() if g == "tagfs (hosted)"}
    assert set(tagfs) == {"create 10k tagged files"} | {f"query {s} (10k files)" for s in bench.TAGFS_SHAPES}
    assert all(x["ours"] > 0 and x["ref"] > 0 for x in tagfs.values())
    # CRC32 hosted: every size against the strongest of zlib, zlib-ng and ISA-L, measured alike
    crcs = {name: x for (g, name), x in rows.items() if g == "operations (hosted)" and name.startswith("CRC32, ")}
    assert {name.split(", ")[1] for name in crcs} == {"4 KiB", "64 KiB", "1 MiB"}
    for x in crcs.values():
        assert x["ours"] > 0 and x["ref"] > 0 and "strongest" in x["ref_name"], x
        assert "interleaved" in x["note"] or "crc_clmul" in x["note"], x
    # emulated cycles are never divided by the host's
    emulated = [x for (g, name), x in rows.items() if g in ("operations (in the kernel)", "latency", "kernel")]
    assert emulated and all(x["ref"] is None and x["ratio"] is None for x in emulated)
    # ...only with Linux's, booted by the same QEMU/TCG, every result read on both sides
    linux = {name: x for (g, name), x in rows.items() if g == "kernel vs Linux (same QEMU/TCG)"}
    for n in (1, 8, 64, 512, 4096):
        x = linux[f"{n} independent NOPs, one submit, every result read"]
        assert x["ours"] > 0 and x["ref"] > 0 and f"io_uring NOP batch of {n}, Linux 6.1" in x["ref_name"], x
        for name in (f"{n} dependent NOPs (a chain), registered once", f"{n} independent NOPs: one workflow, "
                     f"registered in the run", f"{n} CRC32s of 64 B: one workflow, registered once"):
            assert linux[name]["ours"] > 0 and linux[name]["ref"] > 0, name
    goals = {name: x for (g, name), x in rows.items() if g == "goals (same QEMU, -icount shift=0)"}
    assert len(goals) == 6 and all(x["note"].startswith(("met", "NOT met")) for x in goals.values()), goals
    assert rows[("boot", "QEMU start -> first workflow result, against Linux boot -> init")]["ref"] > 0
    assert "getppid" in linux["system call round trip"]["ref_name"] and linux["system call round trip"]["ratio"]
    # the same rows again counting instructions (-icount shift=0), which the host's load cannot move
    counted = {name: x for (g, name), x in rows.items() if g == "kernel vs Linux (same QEMU, -icount shift=0)"}
    assert set(counted) == set(linux) and all(x["unit"].startswith("instructions") for x in counted.values())
    nop = counted["512 independent NOPs, one submit, every result read"]
    assert 100 < nop["ref"] < 5000 and nop["ours"] > 100, nop       # a NOP is hundreds of instructions
    # HTTP: KWE's httpd and Linux's linux_httpd, both answering the same checked client
    http = {name: x for (g, name), x in rows.items() if g == "HTTP vs Linux (same QEMU/TCG, e1000, user network)"}
    assert set(http) == {"GET of 1 KiB, 8 keep-alive connections", "GET of 10 MiB, one connection"}, http
    for x in http.values():
        assert x["ours"] > 0 and x["ref"] > 0 and x["higher_is_better"] and "linux_httpd.c" in x["ref_name"], x
        assert x["ratio"] == pytest.approx(x["ours"] / x["ref"])
    http_goals = {name: x for (g, name), x in rows.items() if g == "goals (HTTP)"}
    assert len(http_goals) == 2 and all(x["note"] in ("met", "NOT met") for x in http_goals.values())
    assert all("every boot: KWE " in x["note"] for x in http.values())
    # throughputs orient the ratio the other way
    crc = rows[("operations (hosted)", "CRC32 slicing-by-8")]
    assert crc["higher_is_better"] and crc["ratio"] == pytest.approx(crc["ours"] / crc["ref"])


def test_bench_lines_parse_and_malformed_ones_are_refused():
    f = bench.parse_bench_lines("noise\nBENCH kernel crc32_table 1048576 4000000\n"
                                "BENCH kernel tsc_hz 2000000000\n"
                                "BENCH ops wf nop 8 7000 6900 7100\nBENCH latency 100 200 30000\n"
                                "BENCH stages wf nop 8 7000 1 2 3 4 5 6 7 8\n"
                                "BENCH notify 400\nBENCH switch 9000\nBENCH checks 64 5200 5000 9\n"
                                "BENCH notify 410 400 430\nBENCH done\n")
    assert f == {"kernel": {"crc32_table": (1048576, 4000000)}, "tsc_hz": 2000000000,
                 "ops": {("wf", "nop", 8): (7000, 6900, 7100)}, "latency": (100, 200, 30000),
                 "stages": {("wf", "nop", 8): (7000, (1, 2, 3, 4, 5, 6, 7, 8))},
                 "notify": 410, "notify_rounds": (410, 400, 430), "switch": 9000, "checks": (64, 5200, 5000, 9), "done": True}
    with pytest.raises(ValueError):
        bench.parse_bench_lines("BENCH ops wf nop 8 seven 6900 7100\n")


def test_tagfs_bench_files_are_skewed_and_the_same_every_run():
    ntags, files = bench.zipf_tagged_files(10_000)
    assert ntags == 100 and files == bench.zipf_tagged_files(10_000)[1]
    assert all(1 <= len(t) <= 6 and len(set(t)) == len(t) for t in files)
    counts = sorted(sum(t in tags for tags in files) for t in range(ntags))
    assert counts[-1] > 0.3 * len(files)                 # common: on a large share of the files
    assert sum(20 <= c <= 100 for c in counts) >= 10     # rare: a few dozen files each
