"""The kernel's printf formatter against Python's % formatting."""
from hypothesis import given, strategies as st

from kwe.common import format as kformat

U64 = st.integers(0, 2**64 - 1)
I64 = st.integers(-(2**63), 2**63 - 1)


def test_basic_conversions():
    assert kformat.py_format(b"%d %u %x %X %c %%", -5, 7, 255, 255, ord("z")) == b"-5 7 ff FF z %"
    assert kformat.py_format(b"%s and %s", b"abc", b"") == b"abc and "
    assert kformat.py_format(b"%p", 0xFFFFFFFF80100000) == b"0xffffffff80100000"
    assert kformat.py_format(b"%p", 1) == b"0x0000000000000001"


def test_width_and_flags():
    assert kformat.py_format(b"[%5d][%-5d][%05d][%08x]", 42, 42, -42, 0xBEEF) == \
        b"[   42][42   ][-0042][0000beef]"
    assert kformat.py_format(b"[%6s][%-6s]", b"ab", b"ab") == b"[    ab][ab    ]"


def test_length_modifiers_are_ignored():
    assert kformat.py_format(b"%lu %llx %zu %hd", 1, 2, 3, 4) == b"1 2 3 4"


def test_missing_args_and_unknown_conversion():
    assert kformat.py_format(b"%d %d") == b"0 0"
    assert kformat.py_format(b"%q %d", 5) == b"%q 5"
    assert kformat.py_format(b"trailing %") == b"trailing "


def test_null_string():
    assert kformat.py_format(b"%s", 0) == b"(null)"


@given(I64, st.integers(0, 30))
def test_signed_matches_python(v, width):
    fmt = b"%%%dd|%%-%dd|%%0%dd" % (width, width, width)
    assert kformat.py_format(fmt, v & (2**64 - 1), v & (2**64 - 1), v & (2**64 - 1)) == \
        (b"%*d|%-*d|%0*d" % (width, v, width, v, width, v))


@given(U64)
def test_unsigned_and_hex_match_python(v):
    assert kformat.py_format(b"%u %x %X %016x", v, v, v, v) == b"%d %x %X %016x" % (v, v, v, v)
