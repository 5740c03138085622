"""Operations deck, hosted: CRC32 equals zlib.crc32 bit for bit; XOR equals the bytewise model."""
import zlib

import pytest

from hypothesis import given, strategies as st

from kwe.common import operations


def test_crc32_check_value():
    assert operations.py_crc32(b"123456789") == 0xCBF43926 == zlib.crc32(b"123456789")


def test_crc32_empty_and_seeded():
    assert operations.py_crc32(b"") == 0
    assert operations.py_crc32(b"", 0x12345678) == 0x12345678


@given(st.binary(max_size=4096), st.integers(0, 0xFFFFFFFF))
def test_crc32_matches_zlib(data, seed):
    assert operations.py_crc32(data, seed) == zlib.crc32(data, seed)


@given(st.binary(max_size=2048), st.binary(max_size=2048))
def test_crc32_incremental(a, b):
    assert operations.py_crc32(b, operations.py_crc32(a)) == zlib.crc32(a + b)


def test_crc32_every_alignment():
    data = bytes(range(256)) * 8
    for start in range(16):
        for end in (start, start + 1, start + 7, start + 8, start + 9, len(data)):
            assert operations.py_crc32(data[start:end]) == zlib.crc32(data[start:end])


@given(st.binary(max_size=5000), st.integers(1, 8), st.integers(0, 2**64 - 1), st.integers(0, 7))
def test_xor_word_at_a_time_matches_bytewise(data, keylen, key, skip):
    data = data[skip:]                               # odd starts and tails
    k = key.to_bytes(8, "little")
    assert operations.py_xor(data, key, keylen) == bytes(b ^ k[i % keylen] for i, b in enumerate(data))


def test_xor_rejects_bad_key_lengths():
    for keylen in (0, 9, 100):
        with pytest.raises(ValueError):
            operations.py_xor(b"abc", 1, keylen)
