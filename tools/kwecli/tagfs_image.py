"""TagFS images read and damaged from Python, for the damaged-disk fuzzer and
the integrity tests: the on-disk layout of docs/tagfs.md (format version 2),
re-stated independently of the kernel's code so that a test can craft what
the kernel must refuse -- and reseal it, as a hostile disk would."""
import struct
import zlib

BLOCK = 4096
VERSION = 2
NODE_MAGIC, NODE_HEADER, NODE_SUM = 0x4E52544B, 16, 12
INTERNAL_CAP = (BLOCK - NODE_HEADER - 4) // 12
BITMAP_SUM = BLOCK - 4
VALUE_SIZES = [64, 64, 132, 8, 0, 0]          # files, chunks, tag names, tag ids, postings, file tags
TREES = ["files", "chunks", "tag names", "tag ids", "postings", "file tags"]
SUPER = struct.Struct("<8sIIQQQQQQ8QQQQQQQQ16sII")
ROOTS_AT = struct.calcsize("<8sIIQQQQQQ")           # Super.roots[0]
FIELDS = ("magic version block_size nblocks journal_start journal_blocks bitmap_start bitmap_blocks "
          "data_start roots next_file_id next_tag_id nfiles ntags free_blocks txid created uuid state "
          "checksum").split()


def block_sum(seed, bno, block, field=None):
    """kwe.fs.checksum.block_sum: CRC-32 seeded with the volume and bno, over
    the block with its 4-byte checksum field (if any) taken as zeros."""
    crc = zlib.crc32(struct.pack("<Q", bno), seed)
    if field is None:
        return zlib.crc32(block, crc)
    return zlib.crc32(block[field + 4:], zlib.crc32(b"\0\0\0\0", zlib.crc32(block[:field], crc)))


class Image:
    """A bare TagFS image in a bytearray; blocks by number."""

    def __init__(self, data):
        self.data = bytearray(data)
        sb = SUPER.unpack_from(self.data, 0)
        self.sb = dict(zip(FIELDS[:9], sb[:9]))
        self.sb["roots"] = list(sb[9:17])
        self.sb.update(zip(FIELDS[10:], sb[17:]))
        self.seed = zlib.crc32(self.sb["uuid"])

    def block(self, bno):
        return self.data[bno * BLOCK:(bno + 1) * BLOCK]

    def put(self, bno, content):
        self.data[bno * BLOCK:(bno + 1) * BLOCK] = content

    def reseal(self, bno):
        """Give block bno the checksum its kind needs, whatever it now holds."""
        b = self.block(bno)
        if bno in (0, 1):
            n = SUPER.size - 4
            struct.pack_into("<I", b, n, zlib.crc32(b[:n], zlib.crc32(struct.pack("<Q", bno), self.seed)))
        elif self.sb["bitmap_start"] <= bno < self.sb["data_start"]:
            struct.pack_into("<I", b, BITMAP_SUM, block_sum(self.seed, bno, b, BITMAP_SUM))
        elif struct.unpack_from("<I", b, 0)[0] == NODE_MAGIC:
            struct.pack_into("<I", b, NODE_SUM, block_sum(self.seed, bno, b, NODE_SUM))
        self.put(bno, b)

    # ---- what is where ---------------------------------------------------------------
    def node(self, bno):
        magic, level, count, tree = struct.unpack_from("<IHHH", self.data, bno * BLOCK)
        return level, count, tree if magic == NODE_MAGIC else None

    def tree_blocks(self, tree):
        """{block: level} of every node reachable in `tree` (a sound image)."""
        out, todo = {}, [self.sb["roots"][tree]] if self.sb["roots"][tree] else []
        while todo:
            bno = todo.pop()
            if bno in out or not self.sb["data_start"] <= bno < self.sb["nblocks"]:
                continue
            level, count, _ = self.node(bno)
            out[bno] = level
            if level:
                at = bno * BLOCK + NODE_HEADER + 8 * INTERNAL_CAP
                todo += struct.unpack_from(f"<{min(count, INTERNAL_CAP) + 1}I", self.data, at)
        return out

    def leaf_values(self, bno, tree):
        level, count, _ = self.node(bno)
        vsize = VALUE_SIZES[tree]
        cap = (BLOCK - NODE_HEADER) // (8 + vsize)
        keys = struct.unpack_from(f"<{count}Q", self.data, bno * BLOCK + NODE_HEADER)
        base = bno * BLOCK + NODE_HEADER + 8 * cap
        return [(k, bytes(self.data[base + i * vsize:base + (i + 1) * vsize])) for i, k in enumerate(keys)]

    def data_blocks(self):
        """Every block file data lives in."""
        out = []
        for bno, level in self.tree_blocks(1).items():
            if level == 0:
                for _, v in self.leaf_values(bno, 1):
                    out += [p for p in struct.unpack_from("<8I", v) if p]
        return out

    def regions(self):
        """The image's blocks by role: {role: [block, ...]}."""
        sb = self.sb
        nodes = {t: sorted(self.tree_blocks(i)) for i, t in enumerate(TREES)}
        return {"super": [0, 1], "journal": list(range(2, 2 + sb["journal_blocks"])),
                "bitmap": list(range(sb["bitmap_start"], sb["data_start"])), "data": self.data_blocks(),
                **{"tree " + t: b for t, b in nodes.items()}}
