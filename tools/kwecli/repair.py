"""fsck --repair: rebuild a TagFS from the files that can still be verified.

TagFS never frees a B+tree node and writes a node only at its own block
(through the journal), so every block of the data area that passes its
checksum as a node of tree T -- a checksum seeded with this volume's UUID
and that block's number -- is a current node of T.  Repair therefore scans
the whole data area for sound leaves instead of trusting the trees' upper
levels, then keeps a file only when its record survived and every block up
to its size is there and matches its checksum (a missing block-map entry is
a hole only if the block-map tree was read whole).  The indexes are rebuilt
from scratch with the same UUID and geometry, and files keep their ids; what
could not be kept is said, file by file."""
import struct
from dataclasses import dataclass, field

from .tagfs_image import BLOCK, INTERNAL_CAP, NODE_HEADER, NODE_MAGIC, NODE_SUM, SUPER, VALUE_SIZES, block_sum

FILES, CHUNKS, TAGNAMES, TAGIDS, POSTINGS, FILETAGS = range(6)
FILE_REC = struct.Struct("<QQQIIII24x")            # size ctime mtime ntags - label -
TAG_REC = struct.Struct("<IIH118sH2x")            # tag_id nfiles length name - (132 bytes)


@dataclass
class Salvage:
    layout: dict
    leaves: dict = field(default_factory=lambda: {t: [] for t in range(6)})
    complete: dict = field(default_factory=lambda: {t: True for t in range(6)})
    kept: dict = field(default_factory=dict)        # id -> (label, ctime, mtime, [tags], bytes)
    lost: list = field(default_factory=list)        # lines


def superblock(data):
    """The layout and UUID: block 0 if it checks out, else mkfs's copy in block 1."""
    import zlib
    for bno in (0, 1):
        raw = bytes(data[bno * BLOCK:bno * BLOCK + SUPER.size])
        if len(raw) < SUPER.size or raw[:8] != b"KWETAGFS":
            continue
        f = SUPER.unpack(raw)
        uuid, stored = f[-3], f[-1]
        seed = zlib.crc32(uuid)
        if zlib.crc32(raw[:-4], zlib.crc32(struct.pack("<Q", bno), seed)) == stored and f[1] == 2:
            return {"nblocks": f[3], "journal_blocks": f[5], "data_start": f[8], "roots": list(f[9:17]),
                    "next_file_id": f[17], "uuid": uuid, "seed": seed, "from": bno}
    return None


def node_at(data, lay, bno):
    """(tree, level, count) if block bno is a sound node, else None."""
    b = bytes(data[bno * BLOCK:(bno + 1) * BLOCK])
    if len(b) < BLOCK:
        return None
    magic, level, count, tree = struct.unpack_from("<IHHH", b)
    if magic != NODE_MAGIC or tree > 5 or struct.unpack_from("<I", b, NODE_SUM)[0] != \
            block_sum(lay["seed"], bno, b, NODE_SUM):
        return None
    cap = (BLOCK - NODE_HEADER) // (8 + VALUE_SIZES[tree]) if level == 0 else INTERNAL_CAP
    return (tree, level, count) if count <= cap else None


def scan(data, lay, s):
    """Every sound node in the data area; which trees are whole from their roots."""
    end = min(lay["nblocks"], len(data) // BLOCK)
    found = {}
    for bno in range(lay["data_start"], end):
        n = node_at(data, lay, bno)
        if n:
            found[bno] = n
            if n[1] == 0:
                s.leaves[n[0]].append(bno)
    for t in range(6):
        s.complete[t] = whole(data, lay, found, t)


def whole(data, lay, found, tree):
    """Is every node under tree's root sound and of that tree?"""
    root = lay["roots"][tree] if lay["from"] == 0 else None
    if root is None:
        return False
    todo, seen = ([root] if root else []), set()
    while todo:
        bno = todo.pop()
        if bno in seen or found.get(bno, (None,))[0] != tree:
            return False
        seen.add(bno)
        _, level, count = found[bno]
        if level:
            todo += struct.unpack_from(f"<{count + 1}I", data, bno * BLOCK + NODE_HEADER + 8 * INTERNAL_CAP)
    return True


def entries(data, bno, tree):
    _, count, _ = struct.unpack_from("<HHH", data, bno * BLOCK + 4)
    vsize = VALUE_SIZES[tree]
    cap = (BLOCK - NODE_HEADER) // (8 + vsize)
    keys = struct.unpack_from(f"<{count}Q", data, bno * BLOCK + NODE_HEADER)
    base = bno * BLOCK + NODE_HEADER + 8 * cap
    return [(k, bytes(data[base + i * vsize:base + (i + 1) * vsize])) for i, k in enumerate(keys)]


def collect(data, s, tree):
    return dict(kv for leaf in s.leaves[tree] for kv in entries(data, leaf, tree))


def file_bytes(data, lay, s, fid, size, chunks):
    """The file's bytes, every block verified; or the reason it cannot be."""
    out = bytearray()
    for b in range((size + BLOCK - 1) // BLOCK):
        c = chunks.get((fid << 20) | (b // 8))
        phys, crc = (struct.unpack_from("<8I", c, 0)[b % 8], struct.unpack_from("<8I", c, 32)[b % 8]) if c \
            else (0, 0)
        if phys == 0:
            if not s.complete[CHUNKS]:
                return None, f"block {b} is not mapped and the block map is damaged"
            out += bytes(BLOCK)
            continue
        blk = bytes(data[phys * BLOCK:(phys + 1) * BLOCK])
        if not lay["data_start"] <= phys < lay["nblocks"] or len(blk) < BLOCK or \
                block_sum(lay["seed"], phys, blk) != crc:
            return None, f"block {b} (disk block {phys}) fails its checksum"
        out += blk
    return bytes(out[:size]), None


def tags_of(s, fid, names, pairs):
    tags, missing = [], []
    for tid in sorted(pairs.get(fid, ())):
        (tags if tid in names else missing).append(names.get(tid, tid))
    return tags, missing


def salvage(data):
    """What can be kept of the TagFS in `data` (its journal already replayed)."""
    lay = superblock(data)
    if lay is None:
        return None
    s = Salvage(lay)
    scan(data, lay, s)
    chunks = collect(data, s, CHUNKS)
    names = {}
    for _, v in collect(data, s, TAGNAMES).items():
        tid, nfiles, length, name, _ = TAG_REC.unpack(v)
        names[tid] = name[:min(length, 118)].decode("utf-8", "replace")
    pairs = {}
    for k in collect(data, s, FILETAGS):
        pairs.setdefault(k >> 24, set()).add(k & 0xFFFFFF)
    for k in collect(data, s, POSTINGS):
        pairs.setdefault(k & ((1 << 40) - 1), set()).add(k >> 40)
    for fid, v in sorted(collect(data, s, FILES).items()):
        keep_file(data, lay, s, fid, v, chunks, names, pairs)
    if not s.complete[FILES]:
        s.lost.append("the file index was damaged: files whose records were in its lost blocks are gone "
                      "without a trace")
    return s


def keep_file(data, lay, s, fid, v, chunks, names, pairs):
    size, ctime, mtime, ntags, _, label, _ = FILE_REC.unpack(v)
    tags, missing = tags_of(s, fid, names, pairs)
    who = f"file {fid}" + "".join(f" ({t})" for t in tags if t.startswith("name="))
    if label >= 8 or fid == 0 or size > (8 << 20) * BLOCK:
        s.lost.append(f"{who}: its record is out of range")
        return
    content, why = file_bytes(data, lay, s, fid, size, chunks)
    if why:
        s.lost.append(f"{who}: {why}")
        return
    if missing:
        s.lost.append(f"{who}: kept, without {len(missing)} tag(s) whose names are gone (ids "
                      f"{' '.join(map(str, missing))})")
    elif len(tags) != ntags and not (s.complete[FILETAGS] and s.complete[POSTINGS]):
        s.lost.append(f"{who}: kept with {len(tags)} of its {ntags} tags (the tag indexes were damaged)")
    s.kept[fid] = (label, ctime, mtime, tags, content)


def rebuild(s):
    """A new filesystem image of the same geometry and UUID holding s.kept
    (a tag the filesystem refuses now is left off and said in s.lost)."""
    from kwe.dev import blockdev
    from kwe.fs import tagfs_host as tfs
    lay = s.layout
    disk = blockdev.MemDisk(lay["nblocks"])
    tfs.mkfs(disk, lay["journal_blocks"], lay["uuid"])
    v = tfs.Volume(disk)
    for fid, (label, ctime, mtime, tags, content) in sorted(s.kept.items()):
        v.adopt(fid, label, ctime, mtime)
        for t in tags:
            try:
                v.tag(fid, t)
            except tfs.FSError as e:
                s.lost.append(f"file {fid}: kept without the tag {t!r} ({e})")
        if content:
            v.write(fid, content)
    v.unmount()
    return disk.image()
