# See fs.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy
from user cimport sdk
from kwe.common cimport abi, kstr
from kwe.common.abi cimport EventSlot, Completion, FileStat

cdef int64_t create(const char* tags) noexcept nogil:
    cdef EventSlot* e = sdk.event_args(abi.OP_FS_CREATE, 0, 0)
    sdk.set_input(e, tags, <uint32_t>kstr.length(tags))
    return sdk.call_value(e)

cdef int64_t open(uint64_t id) noexcept nogil:
    return sdk.call_value(sdk.event_args(abi.OP_FS_OPEN, id, 0))

cdef int close(uint64_t fd) noexcept nogil:
    return <int>sdk.call_value(sdk.event_args(abi.OP_FS_CLOSE, fd, 0))

cdef int64_t write(uint64_t fd, const void* data, uint32_t n, bint sync) noexcept nogil:
    cdef EventSlot* e = sdk.event_args(abi.OP_FS_WRITE, fd, 0)
    sdk.set_input(e, data, n)
    if sync:
        e.h.flags |= abi.EVF_SYNC
    return sdk.call_value(e)

cdef int64_t read(uint64_t fd, void* buf, uint32_t n) noexcept nogil:
    cdef EventSlot* e = sdk.event_args(abi.OP_FS_READ, fd, n)
    sdk.set_output(e, buf, n)
    return sdk.call_value(e)

cdef int64_t seek(uint64_t fd, uint64_t offset) noexcept nogil:
    return sdk.call_value(sdk.event_args(abi.OP_FS_SEEK, fd, offset))

cdef int truncate(uint64_t id, uint64_t size) noexcept nogil:
    return <int>sdk.call_value(sdk.event_args(abi.OP_FS_TRUNCATE, id, size))

cdef int delete(uint64_t id) noexcept nogil:
    return <int>sdk.call_value(sdk.event_args(abi.OP_FS_DELETE, id, 0))

cdef int tag_op(uint16_t op, uint64_t id, const char* name) noexcept nogil:
    cdef EventSlot* e = sdk.event_args(op, id, 0)
    sdk.set_input(e, name, <uint32_t>kstr.length(name))
    return <int>sdk.call_value(e)

cdef int tag(uint64_t id, const char* name) noexcept nogil:
    return tag_op(abi.OP_FS_TAG, id, name)

cdef int untag(uint64_t id, const char* name) noexcept nogil:
    return tag_op(abi.OP_FS_UNTAG, id, name)

cdef int64_t query(const char* q, uint64_t* ids, uint32_t cap) noexcept nogil:
    cdef EventSlot* e = sdk.event_args(abi.OP_FS_QUERY, 0, 0)
    sdk.set_input(e, q, <uint32_t>kstr.length(q))
    sdk.set_output(e, ids, <uint64_t>cap * 8)
    return sdk.call_value(e)

cdef int64_t tags(uint64_t id, char* buf, uint32_t cap) noexcept nogil:
    cdef EventSlot* e = sdk.event_args(abi.OP_FS_TAGS, id, 0)
    cdef Completion r
    sdk.set_output(e, buf, cap - 1 if cap else 0)
    if sdk.call(e, &r) < 0:
        return r.status
    if cap:
        buf[r.length if r.length < cap - 1 else cap - 1] = 0
    return r.length

cdef int64_t tags_line(uint64_t id, char* buf, uint32_t cap) noexcept nogil:
    cdef int64_t n = tags(id, buf, cap), i
    if n < 0 or cap == 0:
        return n
    n = n if n < <int64_t>cap - 1 else <int64_t>cap - 1
    while n > 0 and buf[n - 1] == c'\n':
        n -= 1
    for i in range(n):
        if buf[i] == c'\n':
            buf[i] = c' '
    buf[n] = 0
    return n

cdef int stat(uint64_t id, FileStat* out) noexcept nogil:
    cdef EventSlot* e = sdk.event_args(abi.OP_FS_STAT, id, 0)
    cdef Completion r
    sdk.set_output(e, out, sizeof(FileStat))
    if sdk.call(e, &r) < 0:
        return r.status
    return 0

cdef int sync() noexcept nogil:
    return <int>sdk.call_value(sdk.event_args(abi.OP_FS_SYNC, 0, 0))
