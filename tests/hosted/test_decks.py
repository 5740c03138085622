"""Each deck through the Guide, hosted: events in, results out."""
import struct
import zlib

import pytest
from hypothesis import given, settings, strategies as st

from engine import settle, start
from kwe.events import guide
from kwe.base import hal
from kwecli import abi
from kwecli.abi import *          # noqa: F403  (OP_*, E_*, DECK_*, ...)


def djb2(data):
    h = 5381
    for b in data:
        h = (h * 33 + b) & 0xFFFFFFFF
    return h


# ---- Operations ------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=512), st.integers(0, 2**32 - 1))
def test_crc32_and_djb2(data, seed):
    p = start()
    r = p.call(OP_CRC32, payload=data, args=(seed,))
    assert (r.status, r.value) == (0, zlib.crc32(data, seed))
    assert r.output == struct.pack("<I", zlib.crc32(data, seed))
    r = p.call(OP_DJB2, payload=data)
    assert r.value == djb2(data)


def test_crc32_same_answer_by_table_and_by_folding():
    from kwe.decks import deck_ops
    from kwe.common import crc_clmul
    data = bytes(range(256)) * 40 + b"tail"                 # long enough to fold
    p = start(with_space=True)
    va = p.buffer(data)
    crc = lambda: p.call(OP_CRC32, input_ptr=(va, len(data)), args=(7,))
    assert deck_ops.py_choose_crc(1) is False               # crc=table
    by_table = crc()
    assert deck_ops.py_choose_crc(2) is crc_clmul.py_clmul_available()   # crc=clmul
    by_folding = crc()
    assert by_table.status == by_folding.status == 0
    assert by_table.value == by_folding.value == zlib.crc32(data, 7)
    deck_ops.py_choose_crc(0)                               # auto: whichever measured faster
    assert crc().value == zlib.crc32(data, 7)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 140)), max_size=12).map(
    lambda runs: b"".join(bytes([b]) * n for b, n in runs)) | st.binary(max_size=512))
def test_rle_matches_the_python_model_and_round_trips(data):
    p = start(with_space=True)
    va = p.buffer(data) if data else 0
    enc = p.call(OP_RLE_ENCODE, input_ptr=(va, len(data)))
    assert enc.status == 0 and enc.output == abi.rle_encode(data) and enc.length == len(enc.output)
    vb = p.buffer(enc.output) if enc.output else 0
    dec = p.call(OP_RLE_DECODE, input_ptr=(vb, len(enc.output)))
    assert dec.status == 0 and dec.length == len(data) and dec.output == data


def test_rle_decode_refuses_bad_input_and_respects_its_bound():
    p = start()
    assert p.call(OP_RLE_DECODE, payload=b"\x05abc").status == E_BADDATA        # literal cut short
    assert p.call(OP_RLE_DECODE, payload=b"\x80").status == E_BADDATA           # run without its byte
    big = abi.rle_encode(b"x" * 1000)
    assert p.call(OP_RLE_DECODE, payload=big, args=(999,)).status == E_RANGE    # over arg[0]'s bound
    assert p.call(OP_RLE_DECODE, payload=big, args=(1000,)).length == 1000


@given(st.binary(max_size=300), st.integers(1, 8), st.integers(0, 2**64 - 1))
@settings(max_examples=40, deadline=None)
def test_xor(data, keylen, key):
    p = start()
    r = p.call(OP_XOR, payload=data, args=(key, keylen))
    k = key.to_bytes(8, "little")
    assert r.output == bytes(b ^ k[i % keylen] for i, b in enumerate(data))
    assert p.call(OP_XOR, payload=data, args=(key, 9)).status == E_INVAL


def vectors(fmt, a, b):
    return struct.pack(f"<{len(a)}{fmt}", *a) + struct.pack(f"<{len(b)}{fmt}", *b)


@given(st.lists(st.tuples(st.integers(-2**31, 2**31 - 1), st.integers(-2**31, 2**31 - 1)), max_size=60))
@settings(max_examples=40, deadline=None)
def test_int32_vectors(pairs):
    a, b = [x for x, _ in pairs], [y for _, y in pairs]
    wrap = lambda v: (v + 2**31) % 2**32 - 2**31
    p = start()
    inp = vectors("i", a, b)
    add = p.call(OP_VEC_ADD_I32, payload=inp)
    assert list(struct.unpack(f"<{len(a)}i", add.output)) == [wrap(x + y) for x, y in pairs]
    mul = p.call(OP_VEC_MUL_I32, payload=inp)
    assert list(struct.unpack(f"<{len(a)}i", mul.output)) == [wrap(x * y) for x, y in pairs]
    dot = p.call(OP_VEC_DOT_I32, payload=inp)
    assert struct.unpack("<q", struct.pack("<Q", dot.value))[0] == \
        (sum(x * y for x, y in pairs) + 2**63) % 2**64 - 2**63


@given(st.lists(st.tuples(st.floats(-1e6, 1e6, width=32), st.floats(-1e6, 1e6, width=32)), max_size=60))
@settings(max_examples=40, deadline=None)
def test_float32_vectors(pairs):
    a, b = [x for x, _ in pairs], [y for _, y in pairs]
    f32 = lambda v: struct.unpack("<f", struct.pack("<f", v))[0]
    p = start()
    inp = vectors("f", a, b)
    add = struct.unpack(f"<{len(a)}f", p.call(OP_VEC_ADD_F32, payload=inp).output)
    assert list(add) == [f32(x + y) for x, y in pairs]          # float32 add is exactly rounded
    mul = struct.unpack(f"<{len(a)}f", p.call(OP_VEC_MUL_F32, payload=inp).output)
    assert list(mul) == [f32(x * y) for x, y in pairs]
    s = 0.0
    for x, y in pairs:
        s += x * y                                                  # double accumulation, in order
    assert struct.unpack("<d", struct.pack("<Q", p.call(OP_VEC_DOT_F32, payload=inp).value))[0] == s


def test_vector_lengths_must_pair_up():
    p = start()
    assert p.call(OP_VEC_ADD_I32, payload=b"\0" * 12).status == E_RANGE


# ---- Hardware --------------------------------------------------------------------
def test_sleep_completes_after_its_time_and_not_before():
    p = start()
    p.push(OP_SLEEP, args=(50,))                     # 5 ticks at 100 Hz
    p.push(OP_CRC32, payload=b"meanwhile")
    p.submit()
    first = p.results()
    assert [r.opcode for r in first] == [OP_CRC32]   # the CRC did not wait for the sleep
    ticks = settle()
    (r,) = p.results()
    assert r.opcode == OP_SLEEP and r.status == 0 and ticks == 5


def test_ticks_tsc_console_and_flaky():
    p = start()
    from kwe.dev import pit
    for _ in range(7):
        pit.py_tick()
    assert p.call(OP_TICKS).value == 7
    assert p.call(OP_TSC).value > 0
    hal.serial_clear()
    assert p.call(OP_CONSOLE_WRITE, payload=b"hi\n").value == 3
    assert hal.serial_output() == b"hi\r\n"
    assert p.call(OP_FLAKY, args=(1,)).status == E_AGAIN        # standalone: no retries
    assert p.call(OP_FLAKY, args=(0,)).status == 0
    assert p.call(OP_SLEEP, args=(10**9,)).status == E_RANGE


# ---- Storage, Network, Execution ----------------------------------------------------
def test_memory_alloc_free_and_quota():
    from kwe.mm import vmm
    p = start(with_space=True)
    r = p.call(OP_MEM_ALLOC, args=(10000,))
    assert r.status == 0 and r.value >= 0x600000000000
    p_read = p.read(r.value, 3 * 4096)                  # three pages, zeroed, user-accessible
    assert p_read == bytes(3 * 4096)
    assert p.call(OP_MEM_ALLOC, args=(65 << 20,)).status == E_QUOTA      # default quota 64 MiB
    assert p.call(OP_MEM_FREE, args=(r.value,)).value == 3 * 4096
    assert p.call(OP_MEM_FREE, args=(r.value,)).status == E_INVAL        # not allocated any more
    assert p.call(OP_MEM_ALLOC, args=(0,)).status == E_INVAL
    no_memory = start(with_space=False)                                 # a process without user memory
    assert no_memory.call(OP_MEM_ALLOC, args=(4096,)).status == E_NOENT


def test_nop_echoes_and_spawn_of_a_missing_program():
    p = start()
    assert p.call(OP_NOP, payload=b"echo").output == b"echo"
    assert p.call(OP_SPAWN, payload=b"no-such-program").status == E_NOENT


# ---- the Operations deck's HTTP response head -------------------------------------------------
def parsed_response(raw, body=True):
    """What Python's http.client, a parser nobody here wrote, makes of it."""
    import http.client
    import io

    class Sock:
        def makefile(self, mode):
            return io.BytesIO(raw)
    r = http.client.HTTPResponse(Sock())
    r.begin()
    return r.status, dict(r.getheaders()), r.read() if body else None


def test_http_head_from_a_stat_and_a_crc():
    import struct
    p = start()
    stat = struct.pack("<QQQQIIII", 42, 123456, 0, 0, 1, 1, 0, 0)
    crc = struct.pack("<I", 0xDEADBEEF)
    r = p.call(OP_HTTP_HEAD, payload=stat + crc, args=(200, HEAD_STAT | HEAD_ETAG))
    assert r.status == E_OK
    status, headers, _ = parsed_response(r.output, body=False)           # (the body is another node's)
    assert r.output.endswith(b"\r\n\r\n") and (status, headers["Content-Length"], headers["ETag"]) == (200, "123456", '"deadbeef"')
    assert headers["Connection"] == "keep-alive"
    r = p.call(OP_HTTP_HEAD, payload=stat, args=(201, HEAD_STAT | HEAD_ID | HEAD_CLOSE))
    status, headers, body = parsed_response(r.output)
    assert (status, body, headers["Location"], headers["Connection"]) == (201, b"42\n", "/files/42", "close")
    r = p.call(OP_HTTP_HEAD, payload=b"1 - kind=note\n", args=(200, HEAD_BODY))
    assert parsed_response(r.output)[2] == b"1 - kind=note\n"


def test_http_head_refuses_input_that_is_not_what_its_flags_say():
    p = start()
    assert p.call(OP_HTTP_HEAD, payload=b"short", args=(200, HEAD_STAT)).status == E_INVAL
    assert p.call(OP_HTTP_HEAD, payload=b"", args=(200, HEAD_ETAG)).status == E_INVAL
    assert p.call(OP_HTTP_HEAD, payload=b"left over", args=(200, 0)).status == E_INVAL
    assert p.call(OP_HTTP_HEAD, payload=b"", args=(200, HEAD_ID)).status == E_INVAL      # no stat to take it from
    assert p.call(OP_HTTP_HEAD, payload=b"", args=(200, 0x80)).status == E_INVAL        # an unknown flag
    assert p.call(OP_HTTP_HEAD, payload=b"", args=(99, 0)).status == E_RANGE
    assert p.call(OP_HTTP_HEAD, payload=b"", args=(1 << 40, 0)).status == E_RANGE
