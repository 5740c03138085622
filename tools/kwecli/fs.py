"""tools/kwe fs: TagFS images from the host, with the kernel's own code.

IMAGE is either a bare TagFS image or a whole kwe.img (the filesystem is
then the region its boot header names).  Commands that change the image
write it back only when they succeed.

A user's mistake is one line on stderr, `kwe fs: what is wrong; what to
do`, and a non-zero status.  Mistakes are caught where they come in: the
command line (Parser.error and the argument types), the host's files
(OSError) and the filesystem (FSError), all in main()."""
import argparse
import errno
import os
import re
import struct
import sys
import time
import zlib
from pathlib import Path

from . import abi, hosted

SECTOR, BLOCK = 512, 4096
# The tool holds the whole filesystem in memory, several copies at once
# (the file read, the simulated disk, the bytes written back).
MAX_BYTES = 1 << 30
DEFAULT_SIZE = 32 << 20
CLASSES = {"user": 0, "system": 1}                 # abi.FILE_USER, abi.FILE_SYSTEM
NAMES = {v: k for k, v in CLASSES.items()}
HEADER = struct.Struct("<8sIIQIIII24s256s")       # tools/build/mkimage.py
SUPER_START = struct.Struct("<8sI")               # the superblock's magic and version (tagfs.pxd)
UNITS = {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}


class UserError(Exception):
    """A mistake the user can put right: 'what is wrong; what to do'."""


def say(text):
    print(f"kwe fs: {text}", file=sys.stderr)


def tagfs():
    """The hosted TagFS, imported late: build/pyx joins sys.path only once the tool runs."""
    from kwe.fs import tagfs_host
    return tagfs_host


# ---- the command line ----------------------------------------------------------------------
class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line (the usage is in --help)."""

    def error(self, message):
        say(message if ";" in message else f"{message}; see {self.prog} --help")
        sys.exit(2)


def parse_size(text):
    """Bytes from bytes or a whole number with K, M or G (powers of 1024); None if neither."""
    m = re.fullmatch(r"(\d+)([KMGT]?)", text, re.IGNORECASE)
    return int(m[1]) << UNITS[m[2].upper()] if m else None


def size(text):
    """--size: a size, and one this tool can hold."""
    n = parse_size(text)
    if n is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size; give bytes or a whole number with K, M or G, e.g. 32M")
    if n > MAX_BYTES:
        raise argparse.ArgumentTypeError(
            f"{text} is more than this tool can hold; at most {human(MAX_BYTES)} (it keeps the image in memory)")
    return n


def human(n):
    """Bytes in the largest unit that divides them: 1G, 8460K, 1000."""
    unit = next((u for u in "TGMK" if n and n % (1 << UNITS[u]) == 0), "")
    return f"{n >> UNITS[unit]}{unit}"


def journal_blocks(text):
    if not text.isdigit() or int(text) > MAX_BYTES // BLOCK // 2:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a journal size; give a whole number of 4 KiB blocks up to {MAX_BYTES // BLOCK // 2}")
    return int(text)


def file_id(text):
    if not text.isdigit():
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a file id; ids are whole numbers from 1 (tools/kwe fs ls shows them)")
    return int(text)


def file_or_query(text):
    """An id (all digits) or a query; a negative number is a mistaken id, not a query."""
    if re.fullmatch(r"-\d+", text):
        raise argparse.ArgumentTypeError(f"{text} is not a file id; ids are whole numbers from 1")
    return int(text) if text.isdigit() else text


# ---- images --------------------------------------------------------------------------------
def boot_region(head):
    """(offset, length) of the TagFS region if `head`, a file's first 1 KiB
    or more, starts a KWE boot image (MBR signature, then the boot header); else None."""
    if len(head) < 1024 or head[510:512] != b"\x55\xaa" or head[512:520] != b"KWEHDR1\0":
        return None
    fs_lba, fs_sectors = HEADER.unpack_from(head, 512)[6:8]
    return fs_lba * SECTOR, fs_sectors * SECTOR


def head(path):
    with open(path, "rb") as f:
        return f.read(1024)


def is_boot_image(path):
    return boot_region(head(path)) is not None


def locate(data):
    """(offset, length) of the filesystem inside `data`."""
    region = boot_region(data)
    if region is None:
        return 0, len(data)
    if not region[1]:
        raise UserError("this boot image has no TagFS region; rebuild it (tools/kwe build) or give a bare image")
    return region


def read_image(path):
    """The whole file, once its filesystem is known to fit in memory."""
    region = boot_region(head(path)) or (0, Path(path).stat().st_size)
    if region[1] > MAX_BYTES:
        raise UserError(f"{path}'s filesystem is {human(region[1])}, more than this tool can hold; "
                        f"it works on images of at most {human(MAX_BYTES)}")
    return Path(path).read_bytes()


class Image:
    """The TagFS of an image file on a fresh simulated machine: all of `data`
    for a bare image, the region its boot header names for a boot image
    (data is b"" for a file still to be made).  Nothing reaches the file
    before save()."""

    def __init__(self, path, data, offset, length, journal=None):
        """journal: a number of journal blocks (0: the default) to make a new
        filesystem there, instead of mounting the one there."""
        from kwe.dev import blockdev
        self.path, self.data, self.offset, self.length = Path(path), data, offset, length
        tagfs().set_time(int(time.time()))
        hosted.fresh(ram=max(64 << 20, 2 * length + (32 << 20)))
        if journal is None:
            self.disk = blockdev.MemDisk(image=data[offset:offset + length])
        else:
            self.disk = blockdev.MemDisk(length // BLOCK)
            make(self.disk, length, journal)
        self.volume = mount(self.disk, path)

    @property
    def boot(self):
        return boot_region(self.data) is not None

    def kind(self):
        if self.boot:
            return f"KWE boot image, TagFS at byte {self.offset} ({human(self.length)})"
        return f"bare TagFS image ({human(self.length)})"

    def version(self):
        """The format version in the superblock as read from the file."""
        return SUPER_START.unpack_from(self.data, self.offset)[1]

    def save(self):
        """Write the filesystem back: in place into a file that was read
        (the rest of a boot image untouched), as the whole of a new one."""
        self.volume.unmount()
        with open(self.path, "r+b" if self.data else "wb") as f:
            f.seek(self.offset)
            f.write(self.disk.image())


def open_image(path):
    data = read_image(path)
    return Image(path, data, *locate(data))


def make(disk, nbytes, journal):
    """mkfs on `disk`; too small a disk is told the smallest that works."""
    try:
        tagfs().mkfs(disk, journal)
    except tagfs().FSError as e:
        if e.code != abi.E_NOSPC:
            raise
        raise UserError(f"{human(nbytes)} is too small for the filesystem; the smallest with this journal "
                        f"is {human(smallest(journal))} (a smaller --journal-blocks needs less)") from None


def smallest(journal):
    """The fewest bytes mkfs takes with this journal, found by asking mkfs
    itself so that it follows the on-disk format."""
    hi = 64
    while not fits(hi, journal):
        hi *= 2
    lo = hi // 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if fits(mid, journal) else (mid, hi)
    return hi * BLOCK


def fits(blocks, journal):
    from kwe.dev import blockdev
    try:
        tagfs().mkfs(blockdev.MemDisk(blocks), journal)
        return True
    except tagfs().FSError as e:
        if e.code != abi.E_NOSPC:
            raise
        return False


def mount(disk, path):
    try:
        return tagfs().Volume(disk)
    except tagfs().FSError as e:
        if e.code == abi.E_NOTSUP:
            raise UserError(f"{path}: {e.why}") from None
        if e.code != abi.E_CORRUPT:
            raise
        if e.why.startswith("no TagFS here"):
            raise UserError(f"{path} holds no TagFS ({e.why.removeprefix('no TagFS here (').rstrip(')')}); "
                            "check the path, or make a filesystem with tools/kwe fs mkfs") from None
        raise UserError(f"{path}: the filesystem is damaged and was not mounted: {e.why}; "
                        f"tools/kwe fs fsck {path} --repair rebuilds it from the files that verify") from None


# ---- tags ----------------------------------------------------------------------------------
def check_tag(text):
    """None if `text` may be given as one tag, else what is wrong with it: the
    kernel's own rules (kwe.common.tags), so the tool refuses exactly what
    TagFS would, before the image is touched."""
    from kwe.common import tags
    why = tags.py_check(text)
    if why is None:
        return None
    hint = "give each tag as its own argument" if any(c.isspace() for c in text) \
        else "see Tags and queries in docs/tagfs.md"
    return f"the tag {text!r} is refused: {why}; {hint}"


def refused(tag):
    return UserError(f"TagFS refuses the tag {tag!r}; see the rules in docs/tagfs.md, Tags and queries")


def tag_args(tags):
    """The TAG arguments, each checked, each once."""
    for t in tags:
        problem = check_tag(t)
        if problem:
            raise UserError(problem)
    return list(dict.fromkeys(tags))


def change_tag(op, f, tag, unchanged):
    """op(f, tag); False if the file already was as asked (FSError code `unchanged`)."""
    try:
        op(f, tag)
        return True
    except tagfs().FSError as e:
        if e.code == abi.E_INVAL:
            raise refused(tag) from None
        if e.code != unchanged:
            raise
        return False


def name_of(tags):
    """The value of the file's (first) name= tag, or None."""
    return next((t[5:] for t in tags if t.startswith("name=")), None)


def existing(v, f, image):
    """f, once it is known to be a file of the image."""
    try:
        v.stat(f)
    except tagfs().FSError as e:
        if e.code != abi.E_NOENT:
            raise
        raise UserError(f"{image} has no file {f}; tools/kwe fs ls {image} lists the files") from None
    return f


def pick(v, target, image):
    """The file an id or a query names; a query must match exactly one."""
    if isinstance(target, int):
        return existing(v, target, image)
    ids = v.query(target)
    if len(ids) == 1:
        return ids[0]
    if not ids:
        raise UserError(f"no file matches {target!r}; tools/kwe fs ls {image} lists the files")
    shown = " ".join(map(str, ids[:10])) + (" ..." if len(ids) > 10 else "")
    raise UserError(f"{len(ids)} files match {target!r} (ids {shown}); give an id or a query that matches one")


# ---- the commands --------------------------------------------------------------------------
def cmd_mkfs(a):
    try:
        boot = is_boot_image(a.image)
        exists = True
    except FileNotFoundError:
        boot = exists = False
    img = remake_boot(a) if boot else make_bare(a, exists)
    info = img.volume.info()
    img.save()
    print(f"{a.image}: {info['blocks']} blocks of 4 KiB, {info['free_blocks']} free, "
          f"journal of {info['journal_blocks']}")
    if boot:
        print(f"{a.image}: remade only the boot image's filesystem; the boot code and kernel are kept, "
              "the programs are erased (the kernel finds no init until they are put back)")
    return 0


def remake_boot(a):
    """A new TagFS in a boot image's region, only when asked by --keep-boot."""
    if not a.keep_boot:
        raise UserError(f"{a.image} is a KWE boot image (boot code, kernel and programs); add --keep-boot "
                        "to remake only its filesystem, erasing the programs, or remove the file first")
    if a.size is not None:
        raise UserError("--size does not apply to a boot image (its header fixes the filesystem's size); drop it")
    data = read_image(a.image)
    return Image(a.image, data, *locate(data), journal=a.journal_blocks)


def make_bare(a, exists):
    if a.keep_boot:
        raise UserError(f"--keep-boot is for a KWE boot image and {a.image} is none; drop --keep-boot")
    if exists and not a.force:
        raise UserError(f"{a.image} exists; add --force to replace it with a new, empty filesystem")
    return Image(a.image, b"", 0, a.size or DEFAULT_SIZE, journal=a.journal_blocks)


def cmd_info(a):
    img = open_image(a.image)
    print(f"{a.image}: {img.kind()}")
    info = img.volume.info()
    info.setdefault("version", img.version())
    first = [k for k in ("version", "blocks", "free_blocks", "journal_blocks", "files", "tags") if k in info]
    for key in first + [k for k in info if k not in first]:      # keys info() grows: shown as they come
        print(f"  {key:<15} {info[key]}")
    return 0


def cmd_ls(a):
    v = open_image(a.image).volume
    rows = [row(v, f) for f in (v.query(a.query) if a.query else v.files())]
    width = max((len(r[3]) for r in rows), default=1)
    for f, n, label, name, tags in rows:
        print(f"{f:6d} {n:9d} {label:>6}  {name:<{width}}  {' '.join(tags)}".rstrip())
    return 0


def row(v, f):
    """(id, size, class, name or "-", the other tags) of one file."""
    st, tags = v.stat(f), v.tags(f)
    name = name_of(tags)
    rest = [t for t in tags if name is None or t != f"name={name}"]
    return f, st["size"], NAMES.get(st["label"], str(st["label"])), "-" if name is None else name, rest


def cmd_tags(a):
    tags = sorted(open_image(a.image).volume.all_tags())
    width = max((len(name) for name, _ in tags), default=0)
    for name, n in tags:
        print(f"{name:<{width}}  {n}")
    return 0


def cmd_query(a):
    print(" ".join(str(f) for f in open_image(a.image).volume.query(a.query)))
    return 0


def cmd_get(a):
    v = open_image(a.image).volume
    data = v.read(pick(v, a.file, a.image))
    if a.output:
        Path(a.output).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
    return 0


def cmd_fsck(a):
    if a.repair:
        return repair_image(a.image)
    v = open_image(a.image).volume
    problems, d = v.fsck()
    print(f"{a.image}: {d['files']} files, {d['tags']} tags, {d['tree_blocks']} index blocks, "
          f"{d['data_blocks']} data blocks, replayed {v.replayed} journal blocks: "
          f"{problems} problem{'s' if problems != 1 else ''}")
    for line in d["log"]:
        print("  " + line)
    return 1 if problems else 0


def replayed(region):
    """The region as mount leaves it: its journal replayed if it can be, even
    when the mount is then refused (a damaged tree root)."""
    from kwe.dev import blockdev
    tagfs().set_time(int(time.time()))
    hosted.fresh(ram=max(64 << 20, 3 * len(region) + (32 << 20)))
    disk = blockdev.MemDisk(image=region)
    try:
        tagfs().Volume(disk)
    except tagfs().FSError:
        pass
    return disk.image()


def repair_image(path):
    from . import repair
    data = read_image(path)
    offset, length = locate(data)
    s = repair.salvage(replayed(data[offset:offset + length]))
    if s is None:
        raise UserError(f"{path}: neither the superblock nor its copy in block 1 survives, so nothing says "
                        "where anything is; nothing was changed")
    region = repair.rebuild(s)
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(region)
    print(f"{path}: rebuilt with {len(s.kept)} files"
          + (f"; {len(s.lost)} thing{'s' if len(s.lost) != 1 else ''} lost:" if s.lost else "; nothing lost"))
    for line in s.lost:
        print("  " + line)
    return 1 if s.lost else 0


def cmd_put(a):
    tags = tag_args(a.tags)
    data = checked_workflow(a.file) if "type=workflow" in tags else Path(a.file).read_bytes()
    print(put(a.image, data, tags, a.label or ("system" if "type=program" in tags else "user")))
    return 0


def put(image, data, tags, label):
    """A new file in the image's TagFS; its id."""
    img = open_image(image)
    f = img.volume.create("", CLASSES[label])
    for t in tags:
        change_tag(img.volume.tag, f, t, None)
    img.volume.write(f, data)
    img.save()
    return f


def cmd_tag(a):
    return change_tags(a, "tag", abi.E_EXIST, "already has")


def cmd_untag(a):
    return change_tags(a, "untag", abi.E_NOENT, "does not have")


def change_tags(a, verb, unchanged, state):
    """Make every change asked that is one; name the tags that already were
    as asked.  Non-zero status only when nothing changed."""
    tags = tag_args(a.tags)
    img = open_image(a.image)
    existing(img.volume, a.id, a.image)     # not a file without those tags
    op = getattr(img.volume, verb)
    kept = [t for t in tags if not change_tag(op, a.id, t, unchanged)]
    done = len(tags) - len(kept)
    if done:
        img.save()
    if kept:
        say(f"file {a.id} {state} {' '.join(kept)}; "
            + (f"{verb}ged the other {done}" if done else "nothing changed"))
    return 0 if done else 1


def cmd_rm(a):
    img = open_image(a.image)
    img.volume.delete(pick(img.volume, a.file, a.image))
    img.save()
    return 0


# ---- main ----------------------------------------------------------------------------------
FS_HINTS = {"E_NOENT": "tools/kwe fs ls {image} lists the files",
            "E_NOSPC": "the image is full; make a larger one (tools/kwe fs mkfs --size) and put the files there",
            "E_INVAL": "see Tags and queries in docs/tagfs.md",
            "E_CORRUPT": "tools/kwe fs fsck {image} says what is wrong, --repair keeps what verifies",
            "E_ROFS": "the volume turned read-only after a failed check: tools/kwe fs fsck {image} --repair"}
OS_HINTS = {errno.ENOENT: "check the path", errno.EISDIR: "give a file, not a directory",
            errno.EACCES: "check its permissions", errno.EPERM: "check its permissions",
            errno.ENOSPC: "free some space on the host"}


def fs_problem(e, image):
    name = abi.ERRORS.get(e.code, ("?",))[0]
    return f"{e}; " + FS_HINTS.get(name, "tools/kwe fs fsck {image} checks the image").format(image=image)


def os_problem(e):
    where = f"{e.filename}: " if e.filename else ""
    return f"{where}{e.strerror or e}; {OS_HINTS.get(e.errno, 'check the file')}"


def main(argv):
    a = parser().parse_args(argv)
    try:
        return a.fn(a)
    except UserError as e:
        say(str(e))
    except BrokenPipeError:
        # the reader went away (`| head`): as other tools do, stop without a word
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:
        say(os_problem(e))
    except tagfs().FSError as e:
        say(fs_problem(e, a.image))
    return 1


def parser():
    ap = Parser(prog="tools/kwe fs", description="TagFS images from the host, with the kernel's own TagFS code. "
                "IMAGE is a bare TagFS image or a whole KWE boot image (build/kwe.img, a --disk FILE).",
                epilog="A mistake is one line on stderr and a non-zero status.  See docs/tagfs.md.")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (add_mkfs, add_info, add_ls, add_tags, add_put, add_get, add_tag, add_query, add_fsck, add_rm):
        add(sub)
    return ap


def add_mkfs(sub):
    p = sub.add_parser("mkfs", help="make a new, empty filesystem image",
                       description="Make a new, empty TagFS image.  An existing file is replaced only with "
                       "--force; a KWE boot image never is: --keep-boot remakes only the filesystem inside "
                       "it, keeping the boot code and kernel and erasing the programs.")
    p.add_argument("image", metavar="IMAGE", help="the file to make (or the boot image to remake)")
    p.add_argument("--size", type=size, default=None,
                   help=f"bytes, or with K, M or G: 512K, 32M, 1G (default 32M, at most {human(MAX_BYTES)})")
    p.add_argument("--journal-blocks", type=journal_blocks, default=0, metavar="N",
                   help="journal size in 4 KiB blocks (default a sixteenth of the volume, 2048 to 65536; "
                        "at least 64; bigger makes bulk loads faster)")
    p.add_argument("--force", action="store_true", help="replace an existing file (not a boot image)")
    p.add_argument("--keep-boot", action="store_true",
                   help="on a KWE boot image: remake only its filesystem (its programs are erased)")
    p.set_defaults(fn=cmd_mkfs)


def add_info(sub):
    p = sub.add_parser("info", help="what the image is: kind, format version, blocks, journal, files, tags")
    add_image(p)
    p.set_defaults(fn=cmd_info)


def add_ls(sub):
    p = sub.add_parser("ls", help="list files: id, size, class, name, other tags (optionally those a query matches)")
    add_image(p)
    p.add_argument("query", nargs="?", metavar="QUERY", help="e.g. 'type=program AND NOT name=init'")
    p.set_defaults(fn=cmd_ls)


def add_tags(sub):
    p = sub.add_parser("tags", help="every tag and how many files have it, by name")
    add_image(p)
    p.set_defaults(fn=cmd_tags)


def add_put(sub):
    p = sub.add_parser("put", help="copy a host file in, with tags; prints its id",
                       description="Copy a host file in.  Each TAG argument is one tag (key or key=value).")
    add_image(p)
    p.add_argument("file", metavar="FILE", help="the host file to copy in")
    p.add_argument("tags", nargs="*", metavar="TAG", help="one tag each: key or key=value")
    p.add_argument("--class", dest="label", choices=sorted(CLASSES),
                   help="the file's class (default: system for type=program, else user)")
    p.set_defaults(fn=cmd_put)


def add_get(sub):
    p = sub.add_parser("get", help="write a file's contents to stdout (or -o)")
    add_image(p)
    add_file_or_query(p)
    p.add_argument("-o", "--output", help="write to this host file instead")
    p.set_defaults(fn=cmd_get)


def add_image(p):
    p.add_argument("image", metavar="IMAGE", help="a bare TagFS image or a KWE boot image")


def add_file_or_query(p):
    p.add_argument("file", type=file_or_query, metavar="ID|QUERY",
                   help="a file id, or a query that matches exactly one file (e.g. name=init)")


def add_tag(sub):
    for name, what, fn in (("tag", "add tags to a file", cmd_tag), ("untag", "remove tags from a file", cmd_untag)):
        p = sub.add_parser(name, help=what, description=f"{what[0].upper()}{what[1:]}.  Tags that were "
                           "already as asked are named on stderr; the status is non-zero only if nothing changed.")
        add_image(p)
        p.add_argument("id", type=file_id, metavar="ID", help="the file's id (tools/kwe fs ls shows it)")
        p.add_argument("tags", nargs="+", metavar="TAG", help="one tag each: key or key=value")
        p.set_defaults(fn=fn)


def add_query(sub):
    p = sub.add_parser("query", help="ids of the files a query matches")
    add_image(p)
    p.add_argument("query", metavar="QUERY", help="e.g. 'type=text OR lang=en'")
    p.set_defaults(fn=cmd_query)


def add_fsck(sub):
    p = sub.add_parser("fsck", help="check the filesystem (--repair: rebuild it from the files that verify)")
    add_image(p)
    p.add_argument("--repair", action="store_true",
                   help="rebuild the indexes from every file whose record and blocks still verify; files keep "
                        "their ids; what is lost is listed (exit status 1 if anything was)")
    p.set_defaults(fn=cmd_fsck)


def add_rm(sub):
    p = sub.add_parser("rm", help="delete a file")
    add_image(p)
    add_file_or_query(p)
    p.set_defaults(fn=cmd_rm)


# ---- the build's filesystem ----------------------------------------------------------------
def stripped(path):
    """A program without symbols or debug info (build/ keeps the full ELF for gdb)."""
    import subprocess
    import tempfile
    with tempfile.NamedTemporaryFile(suffix=".elf") as out:
        subprocess.run(["objcopy", "--strip-all", str(path), out.name], check=True)
        return Path(out.name).read_bytes()


def build_image(output, size_text, programs, workflows=()):
    """The build's filesystem: every user program, tagged type=program
    name=NAME, and the workflow files (type=workflow name=NAME), each read
    by the language's own parser first: a broken one stops the build."""
    nbytes = parse_size(size_text)
    if nbytes is None:
        sys.exit(f"mkfsimage: fs_size {size_text!r} is not a size (e.g. 32M)")
    img = Image(output, b"", 0, nbytes, journal=0)
    for path in programs:
        name = Path(path).name.removesuffix(".elf")
        data = stripped(path)
        f = img.volume.create(f"type=program name={name} crc32={zlib.crc32(data):08x}", CLASSES["system"])
        img.volume.write(f, data)
    for path in workflows:
        text = checked_workflow(path)
        f = img.volume.create(f"type=workflow name={Path(path).stem}", CLASSES["system"])
        img.volume.write(f, text)
    img.save()


def checked_workflow(path):
    from kwe.common import wflang
    text = Path(path).read_bytes()
    try:
        wflang.py_parse(text)
    except ValueError as e:
        sys.exit(f"{path}:{e}")
    return text
