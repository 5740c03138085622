"""The folding CRC32 (kwe.decks.simd): constants derived from first principles,
answers equal to zlib's for every length, seed and alignment."""
import re
import zlib

import pytest
from hypothesis import given, settings, strategies as st

from kwe.decks import simd
from kwecli.paths import ROOT

pytestmark = pytest.mark.skipif(not simd.py_clmul_available(), reason="this CPU has no PCLMULQDQ")

P = 0x104C11DB7


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


def test_the_folding_constants_are_what_the_math_says():
    src = (ROOT / "pyx/kwe/decks/simd.pyx").read_text()
    used = {int(h, 16) for h in re.findall(r"<int64_t>(0x[0-9A-F]+)", src)}
    k = lambda e: reflect(poly_mod(1 << e), 32) << 1
    derived = {k(4 * 128 + 32), k(4 * 128 - 32), k(128 + 32), k(128 - 32), k(64),
               reflect(P, 33), reflect(poly_div(1 << 64), 33)}
    assert used == derived


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000), st.integers(0, 2**32 - 1), st.integers(0, 15))
def test_matches_zlib(data, seed, skip):
    assert simd.py_crc32(data[skip:], seed) == zlib.crc32(data[skip:], seed)


def test_lengths_around_the_block_sizes():
    data = bytes((i * 37 + 11) & 0xFF for i in range(5000))
    for n in list(range(0, 200)) + [1023, 1024, 1025, 4095, 4096, 4097]:
        assert simd.py_crc32(data[:n]) == zlib.crc32(data[:n]), n
