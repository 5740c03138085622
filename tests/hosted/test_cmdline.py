"""Command-line parsing (kwe.base.cmdline) and number parsing (kwe.common.kstr)."""
from hypothesis import given, strategies as st

from kwe.base import cmdline
from kwe.common import kstr


def test_find_values_and_flags():
    cl = b"run=selftest  quiet seed=0x10 run=crc32 empty="
    assert cmdline.py_find(cl, b"run") == b"crc32"        # last one wins
    assert cmdline.py_find(cl, b"quiet") == b""
    assert cmdline.py_find(cl, b"seed") == b"0x10"
    assert cmdline.py_find(cl, b"empty") == b""
    assert cmdline.py_find(cl, b"ru") is None             # no prefix matches
    assert cmdline.py_find(cl, b"selftest") is None
    assert cmdline.py_find(b"", b"run") is None


def test_kernel_line_numbers():
    cmdline.py_set_line(b"hz=250 bad=12x huge=99999999999999999999999")
    assert cmdline.py_get_u64(b"hz", 100) == 250
    assert cmdline.py_get_u64(b"bad", 100) == 100
    assert cmdline.py_get_u64(b"huge", 7) == 7
    assert cmdline.py_get_u64(b"absent", 3) == 3


def test_long_value_is_truncated_not_overrun():
    v = b"x" * 5000
    cmdline.py_set_line(b"k=" + v)
    assert cmdline.py_get_u64(b"k", 1) == 1


words = st.text(alphabet="abcdefghij_", min_size=1, max_size=8).map(str.encode)
values = st.text(alphabet="abcdefghij0123456789=./", max_size=12).map(str.encode)


@given(st.dictionaries(words, values, max_size=8))
def test_roundtrip(d):
    cl = b" ".join(k + b"=" + v for k, v in d.items())
    for k, v in d.items():
        assert cmdline.py_find(cl, k) == v


@given(st.integers(0, 2**64 - 1))
def test_parse_u64(v):
    assert kstr.py_parse_u64(str(v).encode()) == v
    assert kstr.py_parse_u64(hex(v).encode()) == v


def test_parse_u64_rejects():
    for s in [b"", b"0x", b"-1", b"12a", b"18446744073709551616", b"0x1" + b"0" * 16, b" 1"]:
        assert kstr.py_parse_u64(s) is None, s
