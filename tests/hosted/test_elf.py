"""The ELF validator against real user programs, hand-made mutants and fuzz."""
import struct

import pytest
from hypothesis import given, settings, strategies as st

from kwe.tasks import elf
from kwecli.paths import BUILD

OK, TOO_SMALL, BAD_MAGIC, NOT_ELF64, NOT_EXEC, NOT_X86_64 = 0, -1, -2, -3, -4, -5
BAD_PHDRS, BAD_SEGMENT, BAD_ADDRESS, OVERLAP, WX, NO_SEGMENTS, BAD_ENTRY, TOO_BIG = range(-6, -14, -1)
PROGRAMS = sorted((BUILD / "pyx/user").glob("*.elf"))


def make_elf(segments, entry=0x400000, etype=2, machine=62):
    """segments: (vaddr, filesz, memsz, flags, data) with p_flags R=4 W=2 X=1."""
    phoff, n = 64, len(segments)
    body, phdrs = b"", b""
    off = phoff + 56 * n
    for vaddr, filesz, memsz, flags, data in segments:
        phdrs += struct.pack("<IIQQQQQQ", 1, flags, off + len(body), vaddr, vaddr, filesz, memsz, 4096)
        body += data
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    ehdr = ident + struct.pack("<HHIQQQIHHHHHH", etype, machine, 1, entry, phoff, 0, 0, 64, 56, n, 64, 0, 0)
    return ehdr + phdrs + body


TEXT = (0x400000, 16, 16, 5, b"\x90" * 16)
DATA = (0x401000, 8, 4096, 6, b"\x00" * 8)


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.name)
def test_every_built_program_is_valid(path):
    err, entry, lo, hi, nseg = elf.py_validate(path.read_bytes())
    assert err == OK, elf.py_error_name(err)
    assert lo >= 0x400000 and entry >= lo and nseg >= 2


def test_minimal_valid_and_info():
    assert elf.py_validate(make_elf([TEXT, DATA])) == (OK, 0x400000, 0x400000, 0x402000, 2)


@pytest.mark.parametrize("image,err", [
    (b"", TOO_SMALL),
    (b"\x7fELF" + bytes(60), NOT_ELF64),
    (b"MZ" + bytes(62), BAD_MAGIC),
    (make_elf([TEXT], etype=3), NOT_EXEC),                         # ET_DYN (PIE)
    (make_elf([TEXT], machine=3), NOT_X86_64),
    (make_elf([]), BAD_PHDRS),
    (make_elf([(0x400000, 100, 100, 5, b"\x90" * 16)]), BAD_SEGMENT),   # file range past the end
    (make_elf([(0x400000, 32, 16, 5, b"\x90" * 32)]), BAD_SEGMENT),     # filesz > memsz
    (make_elf([(0x1000, 16, 16, 5, b"\x90" * 16)], entry=0x1000), BAD_ADDRESS),   # below the image base
    (make_elf([(0xFFFFFFFF80000000, 16, 16, 5, b"\x90" * 16)], entry=0xFFFFFFFF80000000), BAD_ADDRESS),
    (make_elf([(0x6FFFFFFFF000, 16, 0x2000, 5, b"\x90" * 16)], entry=0x6FFFFFFFF000), BAD_ADDRESS),  # into the rings
    (make_elf([(0x400000, 16, 2**64 - 0x1000, 5, b"\x90" * 16)]), BAD_ADDRESS),  # wraps around
    (make_elf([TEXT, (0x400800, 8, 8, 6, bytes(8))]), OVERLAP),   # shares TEXT's page
    (make_elf([(0x400000, 16, 16, 7, b"\x90" * 16)]), WX),
    (make_elf([TEXT], entry=0x500000), BAD_ENTRY),
    (make_elf([TEXT, DATA], entry=0x401000), BAD_ENTRY),          # entry in a non-executable segment
    (make_elf([TEXT, (0x500000, 0, 100 << 20, 6, b"")]), TOO_BIG),
])
def test_refusals(image, err):
    assert elf.py_validate(image)[0] == err


def loaded_end(image):
    """One past the last byte the loader reads: headers and PT_LOAD file ranges."""
    phoff, = struct.unpack_from("<Q", image, 32)
    phnum, = struct.unpack_from("<H", image, 56)
    end = phoff + 56 * phnum
    for i in range(phnum):
        ptype, _, off, _, _, filesz = struct.unpack_from("<IIQQQQ", image, phoff + 56 * i)
        if ptype == 1 and filesz:
            end = max(end, off + filesz)
    return end


def test_truncated_images_are_refused_never_read_past():
    image = PROGRAMS[0].read_bytes()
    end = loaded_end(image)
    for n in list(range(0, 300)) + [end // 2, end - 1]:
        assert elf.py_validate(image[:n])[0] != OK, n
    assert elf.py_validate(image[:end])[0] == OK           # what follows is never read


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_fuzzed_headers_never_crash(data):
    image = bytearray(make_elf([TEXT, DATA]))
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, 64 + 2 * 56 - 1))
        image[i] = data.draw(st.integers(0, 255))
    err, *_ = elf.py_validate(bytes(image))
    assert OK >= err >= TOO_BIG


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_crash(blob):
    assert elf.py_validate(blob)[0] <= 0
