# The hosted face of TagFS, for tests and `tools/kwe fs`: the very same
# filesystem code (tagfs, tagquery, fsck) over a blockdev.MemDisk.
# Hosted only -- the kernel links none of this.
cimport cython
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy
from kwe.common.format cimport format_buf
from kwe.fs cimport tagfs, tagquery, fsck, btree
from kwe.fs.tagfs cimport FS, FileRec
from kwe.fs.btree cimport Cursor
from kwe.dev.blockdev cimport BlockDev

from kwe.base import hal as _hal

cdef uint64_t clock_value = 0

cdef uint64_t clock_now() noexcept nogil:
    return clock_value

def set_time(uint64_t seconds):
    """What the filesystem's clock says (hosted there is no RTC)."""
    global clock_value
    clock_value = seconds

class FSError(Exception):
    def __init__(self, code, what):
        super().__init__(f"{what}: {error_text(code)}")
        self.code = code

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

def mkfs(disk, uint64_t journal_blocks=0):
    check(tagfs.mkfs(<BlockDev*><uint64_t>disk.device(), journal_blocks, clock_value), "mkfs")

# __dealloc__ unmounts through self.disk's BlockDev: when a Volume dies in a
# reference cycle, the collector must not drop the disk (and free it) first.
@cython.no_gc_clear
cdef class Volume:
    """A mounted TagFS on a MemDisk (keep the disk alive while mounted)."""
    cdef FS fs
    cdef object disk
    cdef uint64_t machine          # hal.generation() when made
    cdef public uint32_t replayed

    def __cinit__(self, disk, uint64_t cache_blocks=0):
        self.machine = _hal.generation()
        self.disk = disk
        check(tagfs.mount(&self.fs, <BlockDev*><uint64_t>disk.device(), cache_blocks, clock_now,
                          &self.replayed), "mount")

    def __dealloc__(self):
        if self.fs.mounted and <uint64_t>_hal.generation() == self.machine:
            tagfs.unmount(&self.fs)

    def unmount(self):
        check(tagfs.unmount(&self.fs), "unmount")

    def sync(self):
        check(tagfs.sync(&self.fs), "sync")

    def pending(self):
        return tagfs.pending_blocks(&self.fs)

    def create(self, str tags="", uint32_t label=0):
        """A new file with these tags, of class `label` (abi.FILE_*); its id."""
        cdef uint64_t id = 0
        b = tags.encode()
        check(tagfs.create(&self.fs, b, label, &id), "create")
        return id

    def delete(self, uint64_t id):
        check(tagfs.delete(&self.fs, id), "delete")

    def write(self, uint64_t id, bytes data, uint64_t offset=0):
        check(tagfs.write(&self.fs, id, offset, <const uint8_t*><const char*>data, len(data)), "write")

    def read(self, uint64_t id, uint64_t offset=0, n=None):
        cdef FileRec rec
        check(tagfs.stat(&self.fs, id, &rec), "read")
        cdef uint64_t want = rec.size if n is None else n
        cdef uint8_t* buf = <uint8_t*>malloc(want + 1)
        cdef int64_t got = tagfs.read(&self.fs, id, offset, buf, want)
        try:
            check(got, "read")
            return (<char*>buf)[:got]
        finally:
            free(buf)

    def truncate(self, uint64_t id, uint64_t size):
        check(tagfs.truncate(&self.fs, id, size), "truncate")

    def stat(self, uint64_t id):
        cdef FileRec rec
        check(tagfs.stat(&self.fs, id, &rec), "stat")
        return {"id": id, "size": rec.size, "ctime": rec.ctime, "mtime": rec.mtime, "ntags": rec.ntags,
                "label": rec.label}

    def tag(self, uint64_t id, str name):
        b = name.encode()
        check(tagfs.tag(&self.fs, id, b, len(b)), f"tag {name}")

    def untag(self, uint64_t id, str name):
        b = name.encode()
        check(tagfs.untag(&self.fs, id, b, len(b)), f"untag {name}")

    def tags(self, uint64_t id):
        cdef char buf[65536]
        cdef int64_t n = check(tagfs.tags(&self.fs, id, buf, sizeof(buf)), "tags")
        return [t.decode() for t in buf[:min(n, sizeof(buf) - 1)].split(b"\n") if t]

    def query(self, str q):
        cdef tagquery.IdSet s
        b = q.encode()
        check(tagquery.run(&self.fs, b, &s, NULL), f"query {q!r}")
        try:
            return [s.ids[i] for i in range(s.n)]
        finally:
            tagquery.release(&s)

    def fsck(self):
        """(problems, details) -- details: files, tags, tree and data blocks, the problem lines."""
        cdef fsck.Report r
        cdef char* log = <char*>malloc(1 << 16)
        r.log, r.log_cap = log, 1 << 16
        try:
            check(fsck.check(&self.fs, &r), "fsck")
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
        btree.seek(&self.fs.trees[tagfs.TREE_FILES], &cur, 0)
        while btree.next(&self.fs.trees[tagfs.TREE_FILES], &cur, &key, NULL):
            out.append(key)
        return out

    def info(self):
        s = self.fs.sb
        return {"blocks": s.nblocks, "free_blocks": s.free_blocks, "files": s.nfiles, "tags": s.ntags,
                "txid": s.txid, "journal_blocks": s.journal_blocks, "data_start": s.data_start}

    def all_tags(self):
        """[(name, number of files)] for every tag, in TAGNAMES key order
        (hosted only: `tools/kwe fs tags`)."""
        cdef Cursor cur
        cdef uint64_t key
        cdef tagfs.TagRec rec
        out = []
        btree.seek(&self.fs.trees[tagfs.TREE_TAGNAMES], &cur, 0)
        while btree.next(&self.fs.trees[tagfs.TREE_TAGNAMES], &cur, &key, &rec):
            out.append((rec.name[:rec.length].decode(errors="replace"), rec.nfiles))
        return out
