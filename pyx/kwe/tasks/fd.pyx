# See fd.pxd.
from libc.stdint cimport uint32_t, uint64_t, int64_t
from kwe.common cimport abi
from kwe.lib cimport hashmap
from kwe.mm cimport heap, account
from kwe.base cimport cmdline
from kwe.tasks.proc cimport Process

cdef enum:
    DEFAULT_MAX_FDS = 1024

cdef uint64_t max_fds = 0                # set by init()

cdef void init() noexcept nogil:
    global max_fds
    max_fds = cmdline.get_u64(b"fs_max_fds", DEFAULT_MAX_FDS)

cdef int64_t open(Process* p, uint64_t file_id) noexcept nogil:
    cdef OpenFile* f
    cdef uint64_t fd = 3                        # 0-2 stay free, as programs expect elsewhere
    if p.fds.count >= max_fds or not account.take(p.account, account.RES_FDS, 1):
        return abi.E_QUOTA
    while hashmap.contains(&p.fds, fd):
        fd += 1
    f = <OpenFile*>heap.kzalloc_for(p.account, sizeof(OpenFile))
    if f == NULL or not hashmap.put(&p.fds, fd, f):
        heap.kfree(f)
        account.give(p.account, account.RES_FDS, 1)
        return abi.E_NOMEM
    f.file_id = file_id
    return <int64_t>fd

cdef OpenFile* get(Process* p, uint64_t fd) noexcept nogil:
    return <OpenFile*>hashmap.get(&p.fds, fd)

cdef int close(Process* p, uint64_t fd) noexcept nogil:
    cdef OpenFile* f = <OpenFile*>hashmap.remove(&p.fds, fd)
    if f == NULL:
        return abi.E_BADF
    heap.kfree(f)
    account.give(p.account, account.RES_FDS, 1)
    return abi.E_OK

cdef void close_all(Process* p) noexcept nogil:
    cdef uint64_t cursor = 0
    cdef hashmap.Entry* e = hashmap.next_entry(&p.fds, &cursor, NULL)
    while e != NULL:
        heap.kfree(e.value)
        account.give(p.account, account.RES_FDS, 1)
        e = hashmap.next_entry(&p.fds, &cursor, e)
    hashmap.destroy(&p.fds)
