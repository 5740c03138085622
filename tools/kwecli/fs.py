"""tools/kwe fs: TagFS images from the host, with the kernel's own code.

IMAGE is either a bare TagFS image or a whole kwe.img (the filesystem is
then the region its boot header names).  Commands that change the image
write it back only when they succeed."""
import argparse
import struct
import sys
import time
import zlib
from pathlib import Path

from . import hosted

SECTOR, BLOCK = 512, 4096
CLASSES = {"user": 0, "system": 1}                 # abi.FILE_USER, abi.FILE_SYSTEM
NAMES = {v: k for k, v in CLASSES.items()}
HEADER = struct.Struct("<8sIIQIIII24s256s")       # tools/build/mkimage.py


def locate(data):
    """(offset, length) of the filesystem inside `data`."""
    if len(data) >= 1024 and data[510:512] == b"\x55\xaa" and data[512:520] == b"KWEHDR1\0":
        fields = HEADER.unpack_from(data, 512)
        fs_lba, fs_sectors = fields[6], fields[7]
        if not fs_sectors:
            sys.exit("kwe fs: this disk image has no TagFS region")
        return fs_lba * SECTOR, fs_sectors * SECTOR
    return 0, len(data)


class Image:
    """The filesystem in an image file, mounted on a simulated machine."""

    def __init__(self, path, create_blocks=None, journal_blocks=0):
        from kwe.dev import blockdev
        from kwe.fs import tagfs_host as tfs
        self.path = Path(path)
        tfs.set_time(int(time.time()))
        if create_blocks is not None:
            self.data, self.offset, self.length = None, 0, create_blocks * BLOCK
            self.disk, self.volume = hosted.new_volume(create_blocks, self._ram(self.length), journal_blocks)
        else:
            self.data = self.path.read_bytes()
            self.offset, self.length = locate(self.data)
            hosted.fresh(ram=self._ram(self.length))
            self.disk = blockdev.MemDisk(image=self.data[self.offset:self.offset + self.length])
            self.volume = tfs.Volume(self.disk)

    @staticmethod
    def _ram(length):
        return max(64 << 20, 2 * length + (32 << 20))

    def save(self):
        self.volume.unmount()
        region = self.disk.image()
        if self.data is None:
            self.path.write_bytes(region)
        else:
            self.path.write_bytes(self.data[:self.offset] + region + self.data[self.offset + len(region):])


def describe(v, f):
    st = v.stat(f)
    return f"{f:6d} {st['size']:9d} {NAMES.get(st['label'], st['label']):>6}  {' '.join(v.tags(f))}"


def main(argv):
    ap = argparse.ArgumentParser(prog="tools/kwe fs", description="TagFS images from the host.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("mkfs", help="make a new filesystem image")
    p.add_argument("image")
    p.add_argument("--size", default="32M", help="e.g. 32M, 1G")
    p.add_argument("--journal-blocks", type=int, default=0)
    p = sub.add_parser("ls", help="list files (optionally those matching a query)")
    p.add_argument("image")
    p.add_argument("query", nargs="?")
    p = sub.add_parser("put", help="copy a host file in, with tags; prints its id")
    p.add_argument("image")
    p.add_argument("file")
    p.add_argument("tags", nargs="*")
    p.add_argument("--class", dest="label", choices=sorted(CLASSES),
                   help="the file's class (default: system for type=program, else user)")
    p = sub.add_parser("get", help="write a file's contents to stdout (or -o)")
    p.add_argument("image")
    p.add_argument("id", type=int)
    p.add_argument("-o", "--output")
    for name, what in (("tag", "add tags to a file"), ("untag", "remove tags from a file")):
        p = sub.add_parser(name, help=what)
        p.add_argument("image")
        p.add_argument("id", type=int)
        p.add_argument("tags", nargs="+")
    p = sub.add_parser("query", help="ids of the files a query matches")
    p.add_argument("image")
    p.add_argument("query")
    p = sub.add_parser("fsck", help="check the filesystem")
    p.add_argument("image")
    p = sub.add_parser("rm", help="delete a file")
    p.add_argument("image")
    p.add_argument("id", type=int)
    a = ap.parse_args(argv)
    from kwe.fs import tagfs_host as tfs
    try:
        return run(a)
    except tfs.FSError as e:
        print(f"kwe fs: {e}", file=sys.stderr)
        return 1


def size_blocks(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    n = int(text[:-1]) * units[text[-1].upper()] if text[-1].upper() in units else int(text)
    return n // BLOCK


def run(a):
    if a.cmd == "mkfs":
        img = Image(a.image, create_blocks=size_blocks(a.size), journal_blocks=a.journal_blocks)
        info = img.volume.info()
        img.save()
        print(f"{a.image}: {info['blocks']} blocks of 4 KiB, {info['free_blocks']} free, "
              f"journal of {info['journal_blocks']}")
        return 0
    img = Image(a.image)
    v = img.volume
    if a.cmd == "ls":
        for f in (v.query(a.query) if a.query else v.files()):
            print(describe(v, f))
        return 0
    if a.cmd == "query":
        print(" ".join(str(f) for f in v.query(a.query)))
        return 0
    if a.cmd == "get":
        data = v.read(a.id)
        if a.output:
            Path(a.output).write_bytes(data)
        else:
            sys.stdout.buffer.write(data)
        return 0
    if a.cmd == "fsck":
        problems, d = v.fsck()
        print(f"{a.image}: {d['files']} files, {d['tags']} tags, {d['tree_blocks']} index blocks, "
              f"{d['data_blocks']} data blocks, replayed {v.replayed} journal blocks: "
              f"{problems} problem{'s' if problems != 1 else ''}")
        for line in d["log"]:
            print("  " + line)
        return 1 if problems else 0
    if a.cmd == "put":
        f = v.create(" ".join(a.tags), CLASSES[a.label or ("system" if "type=program" in a.tags else "user")])
        v.write(f, Path(a.file).read_bytes())
        print(f)
    elif a.cmd in ("tag", "untag"):
        for t in a.tags:
            (v.tag if a.cmd == "tag" else v.untag)(a.id, t)
    elif a.cmd == "rm":
        v.delete(a.id)
    img.save()
    return 0


def stripped(path):
    """A program without symbols or debug info (build/ keeps the full ELF for gdb)."""
    import subprocess
    import tempfile
    with tempfile.NamedTemporaryFile(suffix=".elf") as out:
        subprocess.run(["objcopy", "--strip-all", str(path), out.name], check=True)
        return Path(out.name).read_bytes()


def build_image(output, size, programs):
    """The build's filesystem: every user program, tagged type=program name=NAME."""
    img = Image(output, create_blocks=size_blocks(size))
    for path in programs:
        name = Path(path).name.removesuffix(".elf")
        data = stripped(path)
        f = img.volume.create(f"type=program name={name} crc32={zlib.crc32(data):08x}", CLASSES["system"])
        img.volume.write(f, data)
    img.save()
