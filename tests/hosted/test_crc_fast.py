"""The folding CRC32s (kwe.common.crc_clmul, the kernel's 128-bit lanes, and
crc_vpclmul, 512-bit, for user programs and the hosted build, picked at run
time by kwe.common.crc): constants derived from first principles, answers
equal to zlib's for every length, seed, alignment and chained calls."""
import re
import zlib

import pytest
from hypothesis import given, settings, strategies as st

from kwe.common import crc, crc_clmul, operations
from kwecli.paths import ROOT

P = 0x104C11DB7
PATHS = ["table", "clmul", "vpclmul"]
have = lambda name: PATHS.index(name) <= PATHS.index(crc.py_path())


def entry(path):
    """The path's index for py_crc32_by and the shortest input it takes."""
    if not have(path):
        pytest.skip(f"this CPU has no {path} path")
    return PATHS.index(path), (256 if path == "vpclmul" else 0)


needs_clmul = pytest.mark.skipif(not crc_clmul.py_clmul_available(), reason="this CPU has no PCLMULQDQ")


def poly_mod(a):
    while a.bit_length() >= P.bit_length():
        a ^= P << (a.bit_length() - P.bit_length())
    return a


def poly_div(a):
    q = 0
    while a.bit_length() >= P.bit_length():
        s = a.bit_length() - P.bit_length()
        q |= 1 << s
        a ^= P << s
    return q


def reflect(x, bits):
    return int(f"{x:0{bits}b}"[::-1], 2)


def k(e):
    return reflect(poly_mod(1 << e), 32) << 1


def constants(name):
    src = (ROOT / "pyx/kwe/common" / name).read_text()
    return {int(h, 16) for h in re.findall(r"<int64_t>(0x[0-9A-F]+)", src)}


def test_the_folding_constants_are_what_the_math_says():
    barrett = {reflect(P, 33), reflect(poly_div(1 << 64), 33)}
    assert constants("crc_fold.pxd") == {k(128 + 32), k(128 - 32), k(64)} | barrett
    lanes = lambda *ds: {k(d + s) for d in ds for s in (32, -32)}
    assert constants("crc_clmul.pyx") == lanes(512, 384, 256)
    assert constants("crc_vpclmul.pyx") == lanes(2048, 1536, 1024, 512, 384, 256, 128)


def test_the_path_is_what_the_cpu_offers():
    flags = set(open("/proc/cpuinfo").read().split("flags")[1].split("\n")[0].split())
    wide = {"vpclmulqdq", "avx512f", "avx512bw", "avx512vl"} <= flags
    clmul = {"pclmulqdq", "sse4_1"} <= flags
    assert crc.py_path() == ("vpclmul" if wide and clmul else "clmul" if clmul else "table")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000), st.integers(0, 2**32 - 1), st.integers(0, 15))
def test_matches_zlib(data, seed, skip):
    want = zlib.crc32(data[skip:], seed)
    assert crc.py_crc32(data[skip:], seed) == crc_clmul.py_crc32(data[skip:], seed) == want


@pytest.mark.parametrize("path", PATHS)
def test_every_length_and_alignment(path):
    """Lengths 0..10,000 at every alignment 0..63, each path on its own."""
    how, lo = entry(path)
    buf = bytes((i * 131 + (i >> 7)) & 0xFF for i in range(10_000 + 64))
    lengths = range(lo, 10_001) if path != "table" else range(0, 10_001, 7)
    for n in lengths:
        for a in range(64):
            if crc.py_crc32_by(how, buf, a, n) != zlib.crc32(buf[a:a + n]):
                raise AssertionError(f"{path}: length {n} at offset {a}")


@pytest.mark.parametrize("path", PATHS)
def test_chained_calls(path):
    """crc(a + b) == crc(b, seed=crc(a)) at every split, as zlib.crc32 promises."""
    how, lo = entry(path)
    buf = bytes((i * 7 + 3) & 0xFF for i in range(6000))
    whole = zlib.crc32(buf)
    for split in list(range(lo, 600)) + list(range(600, len(buf) - lo, 97)):
        if len(buf) - split < lo:
            continue
        first = crc.py_crc32_by(how, buf, 0, split) if split >= lo else zlib.crc32(buf[:split])
        assert crc.py_crc32_by(how, buf, split, len(buf) - split, first) == whole, split


def test_the_hosted_entries_agree():
    data = bytes(range(256)) * 300
    assert crc.py_crc32(data) == operations.py_crc32(data) == zlib.crc32(data)
    with pytest.raises(ValueError):
        crc.py_crc32_by(0, data, len(data), 1)


@needs_clmul
def test_lengths_around_the_block_sizes():
    data = bytes((i * 37 + 11) & 0xFF for i in range(5000))
    for n in list(range(0, 600)) + [1023, 1024, 1025, 4095, 4096, 4097]:
        assert crc_clmul.py_crc32(data[:n]) == crc.py_crc32(data[:n]) == zlib.crc32(data[:n]), n
