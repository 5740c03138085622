"""What the build produces: a freestanding kernel.elf and a bootable image."""
import re
import subprocess

from kwecli.paths import BUILD, KERNEL_ELF, IMAGE, ROOT


def nm(*args):
    return subprocess.run(["nm", *args, str(KERNEL_ELF)], capture_output=True, text=True,
                          check=True).stdout


def test_kernel_has_no_undefined_symbols():
    assert nm("-u").strip() == ""


def test_kernel_does_not_contain_python_or_libc():
    syms = nm()
    assert not re.search(r"\bPy[A-Z_]\w+", syms), "CPython API reached the kernel"
    for libc in ("printf", "malloc", "free", "strlen", "puts"):
        assert not re.search(rf"\s{libc}$", syms, re.M), libc


def test_kernel_is_elf64_with_symbols_at_the_higher_half():
    head = KERNEL_ELF.read_bytes()[:64]
    assert head[:5] == b"\x7fELF\x02"
    syms = nm()
    assert re.search(r"^ffffffff801\w+ T kmain$", syms, re.M)
    assert "__pyx_f_3kwe_6common_10operations_crc32" in syms


def test_mbr_and_boot_header():
    img = IMAGE.read_bytes()
    assert img[510:512] == b"\x55\xaa"
    assert img[512:520] == b"KWEHDR1\0"
    assert len(img) % (1 << 20) == 0


def test_mkimage_agrees_with_bootdefs():
    import importlib.util
    spec = importlib.util.spec_from_file_location("mkimage", ROOT / "tools/build/mkimage.py")
    mk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mk)
    defs = dict(re.findall(r"#define (\w+)\s+(0x[0-9A-Fa-f]+|\d+)", (ROOT / "boot/bootdefs.h").read_text()))
    assert mk.STAGE2_SECTORS == int(defs["STAGE2_SECTORS"], 0)
    assert mk.HEADER.size <= 512
    layout = (ROOT / "pyx/kwe/base/boot.pxd").read_text()
    assert "HEADER_CMDLINE_LEN = 256" in layout and mk.CMDLINE_LEN == 256
