# See programs.pxd.
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from kwe.common cimport abi, kstr, operations
from kwe.common.tags cimport check as check_tag, TAG_OK, value_of
from kwe.mm cimport heap
from kwe.tasks cimport proc
from kwe.fs cimport rootfs, tagfs, tagquery
from kwe.tasks.proc cimport SpawnArgs
from kwe.fs.tagfs cimport FS, FileRec
from kwe.base.console cimport kprintf, kputs

cdef enum:
    NAME_MAX = 48

cdef int load(const char* name, uint8_t** image, uint64_t* size) noexcept nogil:
    """The program's file, read whole into the heap (the caller frees it)."""
    cdef char q[NAME_MAX + 32]
    cdef tagquery.IdSet ids
    cdef FS* fs = rootfs.fs()
    cdef FileRec rec
    cdef int64_t got
    cdef int err
    if fs == NULL:
        return abi.E_NOENT
    kstr.copy(q, b"type=program AND name=", sizeof(q))
    kstr.copy(q + 22, name, sizeof(q) - 22)
    if check_tag(q + 17, kstr.length(q + 17)) != TAG_OK:
        return abi.E_NOENT                      # `name=NAME` is no tag: no file can have it
    err = tagquery.run(fs, q, &ids, NULL)
    if err == abi.E_OK and ids.n == 0:
        err = abi.E_NOENT
    if err == abi.E_OK and ids.n > 1:
        err = abi.E_AMBIGUOUS                   # never guess which of two files is the program
    if err == abi.E_OK:
        err = tagfs.stat(fs, ids.ids[0], &rec)
    if err == abi.E_OK and rec.label != abi.FILE_SYSTEM:
        err = abi.E_PERM                        # only a system file is a program
    if err == abi.E_OK:
        image[0] = <uint8_t*>heap.kmalloc(rec.size if rec.size else 1)
        err = abi.E_NOMEM if image[0] == NULL else abi.E_OK
    if err == abi.E_OK:
        got = tagfs.read(fs, ids.ids[0], 0, image[0], rec.size)
        if got != <int64_t>rec.size:
            heap.kfree(image[0])
            err = abi.E_IO if got >= 0 else <int>got
        size[0] = rec.size
    if err == abi.E_OK and not content_matches_tag(fs, ids.ids[0], image[0], rec.size):
        heap.kfree(image[0])
        err = abi.E_CORRUPT
    tagquery.release(&ids)
    return err

cdef bint content_matches_tag(FS* fs, uint64_t id, const uint8_t* image, uint64_t size) noexcept nogil:
    """The file's crc32=XXXXXXXX tag names its content's CRC-32 (a program
    without one, or with another, is not started)."""
    cdef char tags[1024]
    cdef int64_t n = tagfs.tags(fs, id, tags, sizeof(tags))
    cdef long at
    cdef uint64_t want
    if n < 0:
        return False
    tags[n if n < <int64_t>sizeof(tags) else sizeof(tags) - 1] = 0
    at = value_of(tags, <size_t>n, b"crc32")
    return at >= 0 and hex32(tags + at, &want) and want == operations.crc32(0, image, size)

cdef bint hex32(const char* s, uint64_t* out) noexcept nogil:
    """Exactly 8 hex digits, then the end of the tag."""
    cdef int k
    cdef char c
    out[0] = 0
    for k in range(8):
        c = s[k]
        if c'0' <= c <= c'9':
            out[0] = out[0] * 16 + <uint64_t>(c - c'0')
        elif c'a' <= c <= c'f':
            out[0] = out[0] * 16 + <uint64_t>(c - c'a' + 10)
        else:
            return False
    return s[8] == 0 or s[8] == c'\n'

cdef int launch(const char* command, SpawnArgs* a, uint32_t* pid) noexcept nogil:
    cdef char name[NAME_MAX]
    cdef size_t i = 0
    cdef uint8_t* image
    cdef uint64_t size
    cdef int err
    while command[0] == c' ':
        command += 1
    while command[i] and command[i] != c' ' and i + 1 < NAME_MAX:
        name[i] = command[i]
        i += 1
    name[i] = 0
    command += i
    while command[0] == c' ':
        command += 1
    if i == 0:
        return abi.E_NOENT
    err = load(name, &image, &size)
    if err != abi.E_OK:
        return err
    err = proc.spawn(name, command, image, size, a, pid)
    heap.kfree(image)
    return err

cdef void print_name(FS* fs, uint64_t id) noexcept nogil:
    cdef char tags[1024]
    cdef int64_t n = tagfs.tags(fs, id, tags, sizeof(tags) - 1), j
    cdef long at
    if n < 0:
        return
    tags[n] = 0
    at = value_of(tags, <size_t>n, b"name")
    if at < 0:
        return
    j = at
    while j < n and tags[j] != c'\n':
        j += 1
    tags[j] = 0
    kprintf(b" %s", <uint64_t>(tags + at))

cdef void list_names() noexcept nogil:
    cdef tagquery.IdSet ids
    cdef FS* fs = rootfs.fs()
    cdef uint64_t k
    if fs == NULL or tagquery.run(fs, b"type=program", &ids, NULL) != abi.E_OK:
        kputs(b"programs: none readable\n")
        return
    kputs(b"programs:")
    for k in range(ids.n):
        print_name(fs, ids.ids[k])
    kputs(b"\n")
    tagquery.release(&ids)

cdef int64_t count() noexcept nogil:
    cdef tagquery.IdSet ids
    cdef FS* fs = rootfs.fs()
    cdef int64_t n
    if fs == NULL:
        return abi.E_NOENT
    if tagquery.run(fs, b"type=program", &ids, NULL) != abi.E_OK:
        return abi.E_IO
    n = <int64_t>ids.n
    tagquery.release(&ids)
    return n
