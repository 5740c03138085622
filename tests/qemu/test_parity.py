"""Parity: the booted kernel and the hosted module compute the same bytes."""
import random
import struct
import zlib

from conftest import boot
from kwe.common import operations
from kwe.common import crc_clmul


def records(bufs):
    return b"".join(struct.pack("<I", len(b)) + b for b in bufs)


def test_crc32_kernel_equals_hosted_equals_zlib():
    rng = random.Random(2026)
    bufs = [b"123456789", b"", b"a", bytes(4096), b"\xff" * 4097]
    bufs += [rng.randbytes(rng.randint(1, 20000)) for _ in range(24)]
    b = boot("run=crc32", inputs={"opt/kwe/input": records(bufs)}, timeout=120)
    assert b.ok, b.log
    assert "crc32 check cbf43926; PCLMULQDQ yes" in b.log      # TCG's -cpu max has it
    got = {}
    for line in b.lines("crc32 "):
        parts = line.split()
        if len(parts) == 4 and parts[1].isdigit():
            got[int(parts[1])] = (int(parts[2], 16), int(parts[3], 16))
    assert f"crc32 done {len(bufs)}" in b.log
    for i, buf in enumerate(bufs):
        # kernel table, kernel folding, hosted table, hosted folding, zlib: one answer
        want = zlib.crc32(buf)
        assert got[i] == (want, want), i
        assert operations.py_crc32(buf) == crc_clmul.py_crc32(buf) == want, i


def test_crc32_rejects_a_truncated_record():
    b = boot("run=crc32", inputs={"opt/kwe/input": struct.pack("<I", 100) + b"short"})
    assert b.status == 1 and "overruns the input" in b.log
