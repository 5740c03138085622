# The hosted face of TagFS, for tests and `tools/kwe fs`: the very same
# filesystem code (tagfs, tagquery, fsck) over a blockdev.MemDisk.
# Hosted only -- the kernel links none of this.
cimport cython
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy
from kwe.common cimport abi
from kwe.common.format cimport format_buf
from kwe.fs cimport tagfs, tagquery, fsck, btree, tagbits
from kwe.fs.tagfs cimport FS, FileRec
from kwe.fs.btree cimport Cursor
from kwe.dev.blockdev cimport BlockDev
from cpython cimport array as carray

from kwe.base import hal as _hal
import array

cdef carray.array ID_ARRAY = array.array("Q")      # what query_ids() clones

cdef uint64_t clock_value = 0

cdef uint64_t clock_now() noexcept nogil:
    return clock_value

def set_time(uint64_t seconds):
    """What the filesystem's clock says (hosted there is no RTC)."""
    global clock_value
    clock_value = seconds

class FSError(Exception):
    """code: the E_* status; why: what the filesystem found (a refused mount, a failed check)."""
    def __init__(self, code, what, why=""):
        super().__init__(f"{what}: {error_text(code)}" + (f": {why}" if why else ""))
        self.code = code
        self.why = why

def error_text(int64_t code):
    """The kernel's words for a status code (kwe.common.errors, format's %e)."""
    cdef char buf[160]
    cdef uint64_t arg = <uint64_t>code
    format_buf(buf, sizeof(buf), b"%e", &arg, 1)
    return buf.decode()

cdef check(int64_t err, what):
    if err < 0:
        raise FSError(err, what)
    return err

def mkfs(disk, uint64_t journal_blocks=0, bytes uuid=None):
    """A new TagFS on the whole disk; uuid: 16 bytes (random if None)."""
    import os
    uuid = os.urandom(16) if uuid is None else uuid
    if len(uuid) != 16:
        raise ValueError("a volume UUID is 16 bytes")
    check(tagfs.mkfs(<BlockDev*><uint64_t>disk.device(), journal_blocks, clock_value,
                     <const uint8_t*><const char*>uuid), "mkfs")

# __dealloc__ unmounts through self.disk's BlockDev: when a Volume dies in a
# reference cycle, the collector must not drop the disk (and free it) first.
@cython.no_gc_clear
cdef class Volume:
    """A mounted TagFS on a MemDisk (keep the disk alive while mounted)."""
    cdef FS fs
    cdef object disk
    cdef uint64_t machine          # hal.generation() when made
    cdef public uint32_t replayed

    def __cinit__(self, disk, uint64_t cache_blocks=0, bint readonly=False):
        self.machine = _hal.generation()
        self.disk = disk
        err = tagfs.mount(&self.fs, <BlockDev*><uint64_t>disk.device(), cache_blocks, clock_now,
                          tagfs.MOUNT_RDONLY if readonly else 0, &self.replayed)
        if err < 0:
            raise FSError(err, "mount", self.fs.why.decode(errors="replace"))

    cdef call(self, int64_t err, what):
        """check(), with what the filesystem found when a check failed."""
        if err < 0:
            raise FSError(err, what, self.fs.why.decode(errors="replace") if err in (abi.E_CORRUPT, abi.E_ROFS, abi.E_NOTSUP) else "")
        return err

    def __dealloc__(self):
        if self.fs.mounted and <uint64_t>_hal.generation() == self.machine:
            tagfs.unmount(&self.fs)

    def unmount(self):
        self.call(tagfs.unmount(&self.fs), "unmount")

    def sync(self):
        self.call(tagfs.sync(&self.fs), "sync")

    def pending(self):
        return tagfs.pending_blocks(&self.fs)

    def create(self, str tags="", uint32_t label=0):
        """A new file with these tags, of class `label` (abi.FILE_*); its id."""
        cdef uint64_t id = 0
        b = tags.encode()
        self.call(tagfs.create(&self.fs, b, label, &id), "create")
        return id

    def adopt(self, uint64_t id, uint32_t label, uint64_t ctime, uint64_t mtime):
        """Repair: an empty file with this id (fsck --repair keeps files' ids)."""
        self.call(tagfs.adopt(&self.fs, id, label, ctime, mtime), "adopt")

    def create_many(self, lists, uint32_t label=0):
        """Bulk loading: a file for each tag string in lists, many to an
        operation; their ids.  FSError says how many were made (e.made)."""
        from array import array
        cdef uint64_t made = 0, count = len(lists)
        if any("\n" in t for t in lists):
            raise ValueError("a tag list holds no newline (it separates the files)")
        text = "\n".join(lists).encode()
        ids = array("Q", bytes(8 * count))
        cdef uint64_t[::1] view = ids
        err = tagfs.create_many(&self.fs, text, label, &view[0] if count else NULL, count, &made)
        if err < 0:
            e = FSError(err, "create_many", self.fs.why.decode(errors="replace") if err == abi.E_CORRUPT else "")
            e.made = made
            raise e
        return list(ids)

    def delete(self, uint64_t id):
        self.call(tagfs.delete(&self.fs, id), "delete")

    def write(self, uint64_t id, bytes data, uint64_t offset=0):
        self.call(tagfs.write(&self.fs, id, offset, <const uint8_t*><const char*>data, len(data)), "write")

    def read(self, uint64_t id, uint64_t offset=0, n=None):
        cdef FileRec rec
        self.call(tagfs.stat(&self.fs, id, &rec), "read")
        cdef uint64_t want = rec.size if n is None else n
        cdef uint8_t* buf = <uint8_t*>malloc(want + 1)
        cdef int64_t got = tagfs.read(&self.fs, id, offset, buf, want)
        try:
            self.call(got, "read")
            return (<char*>buf)[:got]
        finally:
            free(buf)

    def truncate(self, uint64_t id, uint64_t size):
        self.call(tagfs.truncate(&self.fs, id, size), "truncate")

    def stat(self, uint64_t id):
        cdef FileRec rec
        self.call(tagfs.stat(&self.fs, id, &rec), "stat")
        return {"id": id, "size": rec.size, "ctime": rec.ctime, "mtime": rec.mtime, "ntags": rec.ntags,
                "label": rec.label}

    def tag(self, uint64_t id, str name):
        b = name.encode()
        self.call(tagfs.tag(&self.fs, id, b, len(b)), f"tag {name}")

    def untag(self, uint64_t id, str name):
        b = name.encode()
        self.call(tagfs.untag(&self.fs, id, b, len(b)), f"untag {name}")

    def tags(self, uint64_t id):
        cdef char buf[65536]
        cdef int64_t n = self.call(tagfs.tags(&self.fs, id, buf, sizeof(buf)), "tags")
        return [t.decode() for t in buf[:min(n, sizeof(buf) - 1)].split(b"\n") if t]

    def query(self, str q):
        """The ids of the files the query matches, in order."""
        return self.query_ids(q).tolist()

    def query_ids(self, str q):
        """query(), the answer as an array('Q') of ids (one copy, no Python int per id)."""
        cdef tagquery.IdSet s
        cdef carray.array out
        b = q.encode()
        self.call(tagquery.run(&self.fs, b, &s, NULL), f"query {q!r}")
        try:
            out = carray.clone(ID_ARRAY, s.n, zero=False)
            if s.n:
                memcpy(out.data.as_voidptr, s.ids, s.n * 8)
            return out
        finally:
            tagquery.release(&s)

    def fsck(self):
        """(problems, details) -- details: files, tags, tree and data blocks, the problem lines."""
        cdef fsck.Report r
        cdef char* log = <char*>malloc(1 << 16)
        r.log, r.log_cap = log, 1 << 16
        try:
            self.call(fsck.check(&self.fs, &r), "fsck")
            lines = log[:r.log_len].decode(errors="replace").splitlines()
            return r.problems, {"files": r.files, "tags": r.tags, "tree_blocks": r.tree_blocks,
                                "data_blocks": r.data_blocks, "log": lines}
        finally:
            free(log)

    def files(self):
        """Every file id, in order."""
        cdef Cursor cur
        cdef uint64_t key
        out = []
        m = tagfs.mark(&self.fs)
        btree.seek(&self.fs.trees[tagfs.TREE_FILES], &cur, 0)
        while btree.next(&self.fs.trees[tagfs.TREE_FILES], &cur, &key, NULL):
            out.append(key)
        self.call(tagfs.settle(&self.fs, m, abi.E_IO if cur.err else abi.E_OK), "files")
        return out

    def info(self):
        s = self.fs.sb
        return {"version": s.version, "uuid": bytes(s.uuid[:16]).hex(), "blocks": s.nblocks,
                "free_blocks": s.free_blocks, "files": s.nfiles, "tags": s.ntags, "txid": s.txid,
                "journal_blocks": s.journal_blocks, "data_start": s.data_start,
                "clean_at_mount": bool(self.fs.was_clean), "readonly": bool(self.fs.flags & 1),
                "failed": self.fs.failed, "cache_blocks": self.fs.cache.cap,
                "cache_reads": self.fs.cache.reads, "cache_hits": self.fs.cache.hits,
                "cache_drops": self.fs.cache.drops, "bitmaps": self.bitmaps(),
                "bitmap_bytes": self.fs.bits.bytes, "bitmap_budget": self.fs.bits.budget}

    def bitmaps(self):
        """How many dense tags' bitmaps are kept (kwe.fs.tagbits)."""
        return sum(1 for i in range(tagbits.BITS_SLOTS) if self.fs.bits.slot[i].words != NULL)

    def all_tags(self):
        """[(name, number of files)] for every tag, in TAGNAMES key order
        (hosted only: `tools/kwe fs tags`)."""
        cdef Cursor cur
        cdef uint64_t key
        cdef tagfs.TagRec rec
        out = []
        m = tagfs.mark(&self.fs)
        btree.seek(&self.fs.trees[tagfs.TREE_TAGNAMES], &cur, 0)
        while btree.next(&self.fs.trees[tagfs.TREE_TAGNAMES], &cur, &key, &rec):
            out.append((rec.name[:min(rec.length, tagfs.TAG_MAX)].decode(errors="replace"), rec.nfiles))
        self.call(tagfs.settle(&self.fs, m, abi.E_IO if cur.err else abi.E_OK), "tags")
        return out
