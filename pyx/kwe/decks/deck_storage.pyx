# See deck_storage.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy, memset
from kwe.common cimport abi
from kwe.events cimport guide
from kwe.tasks cimport proc, fd, caps
from kwe.mm cimport vmm, pmm, heap, account
from kwe.lib cimport hashmap
from kwe.base cimport cmdline
from kwe.common.tags cimport value_of
from kwe.common.format cimport format_buf
from kwe.fs cimport rootfs, tagfs, tagquery
from kwe.common.abi cimport FileStat
from kwe.events.guide cimport Event
from kwe.tasks.proc cimport Process
from kwe.fs.tagfs cimport FS, FileRec

cdef enum:
    DEFAULT_QUOTA_MB = 64
    DEFAULT_MAX_READ = 16 << 20         # bytes one read or get may return

cdef uint64_t quota_pages = 0, max_read = 0

cdef void init() noexcept nogil:
    global quota_pages, max_read
    quota_pages = cmdline.get_u64(b"mem_quota_mb", DEFAULT_QUOTA_MB) * 256
    max_read = cmdline.get_u64(b"fs_max_read", DEFAULT_MAX_READ)
    fd.init()

# ---- memory ---------------------------------------------------------------------------------
cdef void mem_alloc(Event* e, Process* p) noexcept nogil:
    cdef uint64_t n = (e.h.arg[0] + pmm.PAGE_SIZE - 1) / pmm.PAGE_SIZE
    cdef uint64_t va = p.mem_next, i
    if p.space == NULL:
        e.status = abi.E_NOENT
    elif n == 0:
        e.status = abi.E_INVAL
    elif n > quota_pages - p.mem_pages or not account.room(p.account, account.RES_PAGES, n + 1):
        e.status = abi.E_QUOTA                          # + 1: a page table it may need
    elif vmm.map_new(p.space, va, n, vmm.MAP_USER | vmm.MAP_WRITE) != vmm.VMM_OK:
        e.status = abi.E_NOMEM
    elif not hashmap.put(&p.allocs, va, <void*>n):
        for i in range(n):
            vmm.unmap(p.space, va + i * pmm.PAGE_SIZE, NULL)
        e.status = abi.E_NOMEM
    else:
        p.mem_next += (n + 1) * pmm.PAGE_SIZE           # and an unmapped page between blocks
        p.mem_pages += n
        guide.set_value(e, va, 8)

cdef void mem_free(Event* e, Process* p) noexcept nogil:
    cdef uint64_t va = e.h.arg[0], n, i
    if not hashmap.contains(&p.allocs, va):
        e.status = abi.E_INVAL
        return
    n = <uint64_t>hashmap.remove(&p.allocs, va)
    for i in range(n):
        vmm.unmap(p.space, va + i * pmm.PAGE_SIZE, NULL)
    p.mem_pages -= n
    e.value = n * pmm.PAGE_SIZE

# ---- files ------------------------------------------------------------------------------------
cdef char* input_string(Event* e) noexcept nogil:
    """The input as a C string (heap; the caller frees), or NULL with e.status set."""
    cdef char* s = <char*>guide.alloc_for(e, e.input_len + 1)
    if s == NULL:
        e.status = abi.E_NOMEM
        return NULL
    memcpy(s, e.input, e.input_len)
    s[e.input_len] = 0
    return s

cdef void output_bytes(Event* e, FS* fs, uint64_t id, uint64_t offset, uint64_t want) noexcept nogil:
    """Read up to `want` bytes of file id from offset into the event's output."""
    cdef FileRec rec
    cdef uint8_t* buf
    cdef int64_t got
    e.status = tagfs.stat(fs, id, &rec)
    if e.status != abi.E_OK:
        return
    if offset > rec.size:
        offset = rec.size
    if want > rec.size - offset:
        want = rec.size - offset
    if want > max_read:
        e.status = abi.E_RANGE
        return
    buf = <uint8_t*>guide.alloc_for(e, want if want else 1)
    if buf == NULL:
        e.status = abi.E_NOMEM
        return
    got = tagfs.read(fs, id, offset, buf, want)
    if got < 0:
        heap.kfree(buf)
        e.status = <int>got
        return
    guide.set_output(e, buf, <uint32_t>got)
    e.value = <uint64_t>got

cdef void readable_only(Process* p, FS* fs, tagquery.IdSet* ids) noexcept nogil:
    """Leave out the files p may not read (by their labels)."""
    cdef FileRec rec
    cdef uint64_t i, kept = 0
    if caps.reads_all(&p.caps):
        return
    for i in range(ids.n):
        if (tagfs.stat(fs, ids.ids[i], &rec) == abi.E_OK
                and caps.file_allowed(&p.caps, rec.label, abi.RIGHT_READ)):
            ids.ids[kept] = ids.ids[i]
            kept += 1
    ids.n = kept

cdef bint matches(Event* e, Process* p, FS* fs, tagquery.IdSet* ids) noexcept nogil:
    """The files the input's query matches that p may read; False with e.status set."""
    cdef char* q = input_string(e)
    if q == NULL:
        return False
    e.status = tagquery.run(fs, q, ids, e.account)
    heap.kfree(q)
    if e.status != abi.E_OK:
        return False
    readable_only(p, fs, ids)
    return True

cdef void query(Event* e, Process* p, FS* fs) noexcept nogil:
    cdef tagquery.IdSet ids
    if not matches(e, p, fs, &ids):
        return
    e.value = ids.n
    guide.set_output(e, <uint8_t*>ids.ids, <uint32_t>(ids.n * 8))      # taken over, freed with e

cdef uint32_t name_of(const char* lines, uint64_t n, char* out) noexcept nogil:
    """The value of the file's name= tag (its tags one per line) into out; its length."""
    cdef long at = value_of(lines, n, b"name")
    cdef uint64_t end
    if at < 0:
        return 0
    end = <uint64_t>at
    while end < n and lines[end] != 10:
        end += 1
    memcpy(out, lines + at, end - <uint64_t>at)
    return <uint32_t>(end - <uint64_t>at)

cdef uint64_t list_bytes(FS* fs, tagquery.IdSet* ids) noexcept nogil:
    """Room for every line: 20 digits, its name and its tags (each at most
    all of its tags' bytes), two spaces and a newline."""
    cdef char probe[1]
    cdef uint64_t i, total = 0
    cdef int64_t n
    for i in range(ids.n):
        n = tagfs.tags(fs, ids.ids[i], probe, 1)
        total += 24 + 2 * <uint64_t>(n if n > 0 else 0)
    return total

cdef uint64_t list_line(FS* fs, uint64_t id, char* out, char* scratch, uint64_t cap) noexcept nogil:
    """"ID NAME TAGS": NAME from its name= tag ("-" if none), TAGS space-separated."""
    cdef int64_t got = tagfs.tags(fs, id, scratch, cap)
    cdef uint64_t n = <uint64_t>got if got > 0 else 0, at, k, name
    at = format_buf(out, 21, b"%u", &id, 1)                 # (its NUL is overwritten next)
    if n >= cap:
        n = cap - 1
    out[at] = 32
    name = name_of(scratch, n, out + at + 1)
    if name == 0:
        out[at + 1] = 45
        name = 1
    at += 1 + name
    for k in range(n):
        out[at + 1 + k] = 32 if scratch[k] == 10 else scratch[k]
    if n and scratch[n - 1] == 10:
        n -= 1                              # (the last tag's newline)
    out[at] = 32
    at += 1 + n
    out[at] = 10
    return at + 1

cdef void list_files(Event* e, Process* p, FS* fs) noexcept nogil:
    """OP_FS_LIST: the query's readable matches, a line "ID NAME TAGS" each."""
    cdef tagquery.IdSet ids
    cdef uint64_t need, i, at = 0
    cdef char* out
    cdef char* scratch
    if not matches(e, p, fs, &ids):
        return
    need = list_bytes(fs, &ids)
    out = <char*>guide.alloc_for(e, need + 1) if need <= guide.output_limit() else NULL
    scratch = <char*>guide.alloc_for(e, need + 1) if out != NULL else NULL
    if scratch == NULL:
        e.status = abi.E_TOOBIG if need > guide.output_limit() else abi.E_NOMEM
    else:
        for i in range(ids.n):
            at += list_line(fs, ids.ids[i], out + at, scratch, need + 1)
        e.value = ids.n
        guide.set_output(e, <uint8_t*>out, <uint32_t>at)
        out = NULL
    heap.kfree(out)
    heap.kfree(scratch)
    tagquery.release(&ids)

cdef void pwrite(Event* e, FS* fs) noexcept nogil:
    e.status = tagfs.write(fs, e.h.arg[0], e.h.arg[1], e.input, e.input_len)
    if e.status == abi.E_OK:
        e.value = e.input_len

cdef void tags(Event* e, FS* fs) noexcept nogil:
    cdef char probe[1]
    cdef int64_t n = tagfs.tags(fs, e.h.arg[0], probe, 1)
    cdef char* buf
    if n < 0:
        e.status = <int>n
        return
    buf = <char*>guide.alloc_for(e, n + 1)
    if buf == NULL:
        e.status = abi.E_NOMEM
        return
    tagfs.tags(fs, e.h.arg[0], buf, n + 1)
    guide.set_output(e, <uint8_t*>buf, <uint32_t>n)

cdef void create(Event* e, FS* fs) noexcept nogil:
    """A new file: one of the RES_FILES its owner may make in its life."""
    cdef uint64_t id = 0
    cdef char* s
    if not account.take(e.account, account.RES_FILES, 1):
        e.status = abi.E_QUOTA
        return
    s = input_string(e)
    if s == NULL:
        account.give(e.account, account.RES_FILES, 1)
        return
    e.status = tagfs.create(fs, s, <uint32_t>e.h.arg[0], &id)
    e.value = id
    heap.kfree(s)
    if e.status != abi.E_OK:
        account.give(e.account, account.RES_FILES, 1)

cdef void stat(Event* e, FS* fs) noexcept nogil:
    cdef FileRec rec
    cdef FileStat* st
    e.status = tagfs.stat(fs, e.h.arg[0], &rec)
    if e.status != abi.E_OK:
        return
    st = <FileStat*>guide.alloc_for(e, sizeof(FileStat))
    if st == NULL:
        e.status = abi.E_NOMEM
        return
    memset(st, 0, sizeof(FileStat))
    st.id, st.size, st.ctime, st.mtime, st.ntags = e.h.arg[0], rec.size, rec.ctime, rec.mtime, rec.ntags
    st.label = rec.label
    guide.set_output(e, <uint8_t*>st, sizeof(FileStat))
    e.value = rec.size

# ---- permissions: by the label the kernel keeps on each file (kwe.tasks.caps) ------------------
cdef int file_right(Event* e, Process* p, FS* fs, uint64_t id, uint32_t rights) noexcept nogil:
    cdef FileRec rec
    cdef int err = tagfs.stat(fs, id, &rec)
    if err != abi.E_OK:
        return err
    if caps.file_allowed(&p.caps, rec.label, rights):
        return abi.E_OK
    return caps.deny(p.pid, e.h.opcode, id)

cdef bint reserved_tags_refused(Event* e, Process* p) noexcept nogil:
    return (not caps.system(&p.caps)
            and caps.any_reserved(<const char*>e.input, e.input_len))

cdef int create_right(Event* e, Process* p) noexcept nogil:
    if e.h.arg[0] >= abi.FILE_CLASSES:
        return abi.E_RANGE
    if (not caps.file_allowed(&p.caps, <uint32_t>e.h.arg[0], abi.RIGHT_CREATE)
            or reserved_tags_refused(e, p)):
        return caps.deny(p.pid, e.h.opcode, e.h.arg[0])
    return abi.E_OK

cdef int permitted(Event* e, Process* p, FS* fs, fd.OpenFile* of) noexcept nogil:
    """E_OK, or why p may not do this file operation (E_PERM, E_NOENT ...).
    Reads through an fd were checked when it was opened; queries filter."""
    cdef uint16_t op = e.h.opcode
    if op == abi.OP_FS_CREATE:
        return create_right(e, p)
    if op == abi.OP_FS_OPEN or op == abi.OP_FS_TAGS or op == abi.OP_FS_STAT or op == abi.OP_FS_GET:
        return file_right(e, p, fs, e.h.arg[0], abi.RIGHT_READ)
    if op == abi.OP_FS_WRITE:
        return file_right(e, p, fs, of.file_id, abi.RIGHT_WRITE)
    if op == abi.OP_FS_TRUNCATE or op == abi.OP_FS_PWRITE:
        return file_right(e, p, fs, e.h.arg[0], abi.RIGHT_WRITE)
    if op == abi.OP_FS_DELETE:
        return file_right(e, p, fs, e.h.arg[0], abi.RIGHT_DELETE)
    if op == abi.OP_FS_TAG or op == abi.OP_FS_UNTAG:
        if reserved_tags_refused(e, p):
            return caps.deny(p.pid, op, e.h.arg[0])
        return file_right(e, p, fs, e.h.arg[0], abi.RIGHT_TAG)
    return abi.E_OK

cdef void file_op(Event* e, Process* p, FS* fs) noexcept nogil:
    cdef uint16_t op = e.h.opcode
    cdef fd.OpenFile* of = NULL
    cdef FileRec rec
    cdef uint64_t id = 0
    cdef int64_t r
    cdef char* s
    if op == abi.OP_FS_READ or op == abi.OP_FS_WRITE or op == abi.OP_FS_SEEK or op == abi.OP_FS_CLOSE:
        of = fd.get(p, e.h.arg[0])
        if of == NULL:
            e.status = abi.E_BADF
            return
    e.status = permitted(e, p, fs, of)
    if e.status != abi.E_OK:
        return
    if op == abi.OP_FS_CREATE:
        create(e, fs)
    elif op == abi.OP_FS_OPEN:
        e.status = tagfs.stat(fs, e.h.arg[0], &rec)
        if e.status == abi.E_OK:
            r = fd.open(p, e.h.arg[0])
            if r < 0:
                e.status = <int>r
            else:
                e.value = <uint64_t>r
    elif op == abi.OP_FS_CLOSE:
        e.status = fd.close(p, e.h.arg[0])
    elif op == abi.OP_FS_READ:
        output_bytes(e, fs, of.file_id, of.offset, e.h.arg[1])
        if e.status == abi.E_OK:
            of.offset += e.value
    elif op == abi.OP_FS_WRITE:
        e.status = tagfs.write(fs, of.file_id, of.offset, e.input, e.input_len)
        if e.status == abi.E_OK:
            of.offset += e.input_len
            e.value = e.input_len
    elif op == abi.OP_FS_SEEK:
        of.offset = e.h.arg[1]
        e.value = of.offset
    elif op == abi.OP_FS_TRUNCATE:
        e.status = tagfs.truncate(fs, e.h.arg[0], e.h.arg[1])
    elif op == abi.OP_FS_DELETE:
        e.status = tagfs.delete(fs, e.h.arg[0])
    elif op == abi.OP_FS_TAG:
        e.status = tagfs.tag(fs, e.h.arg[0], <const char*>e.input, e.input_len)
    elif op == abi.OP_FS_UNTAG:
        e.status = tagfs.untag(fs, e.h.arg[0], <const char*>e.input, e.input_len)
    elif op == abi.OP_FS_QUERY:
        query(e, p, fs)
    elif op == abi.OP_FS_TAGS:
        tags(e, fs)
    elif op == abi.OP_FS_STAT:
        stat(e, fs)
    elif op == abi.OP_FS_SYNC:
        e.status = tagfs.sync(fs)
    elif op == abi.OP_FS_GET:
        output_bytes(e, fs, e.h.arg[0], e.h.arg[1], max_read)
    elif op == abi.OP_FS_PWRITE:
        pwrite(e, fs)
    elif op == abi.OP_FS_LIST:
        list_files(e, p, fs)

cdef int handle(Event* e) noexcept nogil:
    cdef Process* p
    cdef FS* fs
    if guide.opcode_deck(e.h.opcode) != abi.DECK_STORAGE:
        return guide.DECK_DONE
    p = proc.find(e.pid)
    if p == NULL:
        e.status = abi.E_NOENT
    elif e.h.opcode == abi.OP_MEM_ALLOC:
        mem_alloc(e, p)
    elif e.h.opcode == abi.OP_MEM_FREE:
        mem_free(e, p)
    else:
        fs = rootfs.fs()
        if fs == NULL:
            e.status = abi.E_NOTSUP                 # no filesystem in this machine
        else:
            file_op(e, p, fs)
            if e.status == abi.E_OK and (e.h.flags & abi.EVF_SYNC):
                e.status = tagfs.sync(fs)
    return guide.DECK_DONE
