#!/usr/bin/env python3
"""Assemble build/kwe.img: MBR, boot header, stage2, kernel, TagFS.

Layout (docs/boot.md):  LBA 0 stage1 | LBA 1 boot header | LBA 2..32 stage2 |
LBA 33.. kernel.bin | then the TagFS region, 4 KiB-aligned.
"""
import argparse
import struct
import sys

SECTOR = 512
STAGE2_SECTORS = 32            # boot/bootdefs.h: header + 31 code sectors
KERNEL_LBA = 1 + STAGE2_SECTORS
HEADER_MAGIC = b"KWEHDR1\0"
CMDLINE_LEN = 256
# struct BootHeader (pyx/kwe/base/boot.pxd)
HEADER = struct.Struct("<8sIIQIIII24s256s")


def sectors(n):
    return (n + SECTOR - 1) // SECTOR


def pad(data):
    return data + b"\0" * (sectors(len(data)) * SECTOR - len(data))


def elf_entry(path):
    with open(path, "rb") as f:
        ident = f.read(64)
    if ident[:4] != b"\x7fELF" or ident[4] != 2:
        sys.exit(f"{path}: not an ELF64 file")
    return struct.unpack_from("<Q", ident, 24)[0]


def build(stage1, stage2, kernel, entry, cmdline, fs=b""):
    if len(stage1) != SECTOR or stage1[510:] != b"\x55\xaa":
        sys.exit("stage1 must be exactly 512 bytes ending in 0x55AA")
    if len(stage2) > (STAGE2_SECTORS - 1) * SECTOR:
        sys.exit(f"stage2 is {len(stage2)} bytes; at most {(STAGE2_SECTORS - 1) * SECTOR} fit")
    cl = cmdline.encode()
    if len(cl) >= CMDLINE_LEN:
        sys.exit(f"default command line longer than {CMDLINE_LEN - 1} bytes")
    fs_lba = KERNEL_LBA + sectors(len(kernel))
    fs_lba = (fs_lba + 7) // 8 * 8                                # 4 KiB blocks on 4 KiB
    if len(fs) % 4096:
        sys.exit("the TagFS image must be whole 4 KiB blocks")
    header = HEADER.pack(HEADER_MAGIC, KERNEL_LBA, sectors(len(kernel)), entry,
                         0, 0, fs_lba if fs else 0, sectors(len(fs)), b"", cl)
    image = stage1 + pad(header) + pad(stage2).ljust((STAGE2_SECTORS - 1) * SECTOR, b"\0")
    image = (image + pad(kernel)).ljust(fs_lba * SECTOR, b"\0") + fs
    return image.ljust(((len(image) + (1 << 20) - 1) >> 20) << 20, b"\0")   # whole MiB


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stage1", required=True)
    ap.add_argument("--stage2", required=True)
    ap.add_argument("--kernel", required=True, help="flat kernel.bin")
    ap.add_argument("--elf", required=True, help="kernel.elf (for the entry point)")
    ap.add_argument("--cmdline", default="run=demo")
    ap.add_argument("--fs", help="the TagFS image to put after the kernel")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    read = lambda p: open(p, "rb").read()
    image = build(read(a.stage1), read(a.stage2), read(a.kernel), elf_entry(a.elf), a.cmdline,
                  read(a.fs) if a.fs else b"")
    with open(a.output, "wb") as f:
        f.write(image)


if __name__ == "__main__":
    main()
