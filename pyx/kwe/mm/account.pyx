# See account.pxd.
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memset
from kwe.common cimport kstr
from kwe.base cimport cmdline, checks
from kwe.mm cimport heap, pmm
from kwe.base.console cimport kprintf

cdef const char* names[RES_COUNT]
cdef uint64_t per_process[RES_COUNT]     # limits a new account starts with
cdef Account all_processes
cdef Account orphanage
cdef uint64_t nleaked = 0

cdef void defaults(uint64_t ram) noexcept nogil:
    """The limits when the command line says nothing (docs/security.md)."""
    set_default(RES_HEAP, b"heap", 64U << 20, ram / 2)
    set_default(RES_PAGES, b"pages", 16384, ram / 4096 * 3 / 4)
    set_default(RES_EVENTS, b"events", 8192, 65536)
    set_default(RES_TIMERS, b"timers", 4096, 32768)
    set_default(RES_WORKFLOWS, b"workflows", 1024, 16384)
    set_default(RES_NODES, b"nodes", 65536, 1U << 20)
    set_default(RES_FDS, b"fds", 1024, 65536)
    set_default(RES_FILES, b"files", 65536, <uint64_t>0xFFFFFFFFFFFFFFFFU)
    set_default(RES_PROCS, b"procs", 1024, 4096)
    set_default(RES_SOCKETS, b"sockets", 256, 4096)

cdef void set_default(int r, const char* n, uint64_t mine, uint64_t everyone) noexcept nogil:
    names[r] = n
    per_process[r] = configured(b"quota_", n, mine)
    all_processes.limit[r] = configured(b"limit_", n, everyone)

cdef uint64_t configured(const char* prefix, const char* n, uint64_t default) noexcept nogil:
    """quota_NAME= (per process) or limit_NAME= (all processes together)."""
    cdef char key[32]
    cdef size_t at = kstr.copy(key, prefix, sizeof(key))
    kstr.copy(key + at, n, sizeof(key) - at)
    return cmdline.get_u64(key, default)

cdef void init() noexcept nogil:
    cdef pmm.PmmStats s
    global nleaked
    pmm.stats(&s)
    memset(&all_processes, 0, sizeof(Account))
    memset(&orphanage, 0, sizeof(Account))
    memset(orphanage.limit, 0xFF, sizeof(orphanage.limit))
    nleaked = 0
    defaults(s.total_pages * pmm.PAGE_SIZE)

cdef Account* create(uint32_t pid) noexcept nogil:
    cdef Account* a = <Account*>heap.kzalloc(sizeof(Account))
    cdef int r
    if a == NULL:
        return NULL
    a.pid = pid
    for r in range(RES_COUNT):
        a.limit[r] = per_process[r]
    return a

cdef bint holds_nothing(Account* a) noexcept nogil:
    cdef int r
    for r in range(RES_COUNT):
        if r != RES_FILES and a.used[r] != 0:
            return False
    return a.objects == 0

cdef bint close(Account* a) noexcept nogil:
    global nleaked
    cdef int r
    if holds_nothing(a):
        give(a, RES_FILES, a.used[RES_FILES])   # the total keeps counting live creators only
        heap.kfree(a)
        return True
    nleaked += 1
    kprintf(b"account: pid %u ended still holding", a.pid)
    for r in range(RES_COUNT):
        if r != RES_FILES and a.used[r]:
            kprintf(b" %s=%u", <uint64_t>names[r], a.used[r])
    kprintf(b" (%u heap objects)\n", a.objects)
    return False

cdef bint room(Account* a, int r, uint64_t n) noexcept nogil:
    return a == NULL or (n <= a.limit[r] - a.used[r] and
                         n <= all_processes.limit[r] - all_processes.used[r])

cdef bint take(Account* a, int r, uint64_t n) noexcept nogil:
    if a == NULL:
        return True
    if checks.enabled() and not room(a, r, n):
        a.refused[r] += 1
        all_processes.refused[r] += 1
        return False
    a.used[r] += n
    all_processes.used[r] += n
    return True

cdef void give(Account* a, int r, uint64_t n) noexcept nogil:
    if a == NULL:
        return
    if n > a.used[r] or n > all_processes.used[r]:
        kprintf(b"account: pid %u gives back %u %s it does not hold\n", a.pid, n, <uint64_t>names[r])
        n = a.used[r] if a.used[r] < all_processes.used[r] else all_processes.used[r]
    a.used[r] -= n
    all_processes.used[r] -= n

cdef void transfer(Account* src, Account* dst, int r, uint64_t n) noexcept nogil:
    if src == NULL or dst == NULL or n > src.used[r]:
        return
    src.used[r] -= n
    dst.used[r] += n

cdef Account* orphans() noexcept nogil:
    return &orphanage

cdef Account* total() noexcept nogil:
    return &all_processes

cdef const char* name(int r) noexcept nogil:
    if 0 <= r < RES_COUNT:
        return names[r]
    return b"?"

cdef uint64_t leaked() noexcept nogil:
    return nleaked

# ---- hosted -------------------------------------------------------------------
cdef Account* hosted_accounts[64]

def py_init():
    """Hosted: after the simulated machine was reset (kwecli.hosted.fresh)."""
    memset(hosted_accounts, 0, sizeof(hosted_accounts))
    init()

def py_limits():
    out = {}
    for r in range(RES_COUNT):
        out[(<bytes>names[r]).decode()] = (per_process[r], all_processes.limit[r])
    return out

def py_create(uint32_t pid):
    """A new account in slot i of a small hosted table; returns i."""
    cdef int i
    for i in range(64):
        if hosted_accounts[i] == NULL:
            hosted_accounts[i] = create(pid)
            return i
    raise MemoryError()

def py_take(int i, int r, uint64_t n):
    return take(hosted_accounts[i] if i >= 0 else NULL, r, n)

def py_give(int i, int r, uint64_t n):
    give(hosted_accounts[i] if i >= 0 else NULL, r, n)

def py_used(int i):
    cdef Account* a = hosted_accounts[i] if i >= 0 else &all_processes
    return [a.used[r] for r in range(RES_COUNT)], a.objects

def py_close(int i):
    cdef bint ok = close(hosted_accounts[i])
    hosted_accounts[i] = NULL
    return ok

def py_malloc_for(int i, size_t n):
    return <uint64_t>heap.kmalloc_for(hosted_accounts[i], n)

def py_pointer(int i):
    return <uint64_t>hosted_accounts[i]

def py_leaked():
    return nleaked

RESOURCES = {"heap": RES_HEAP, "pages": RES_PAGES, "events": RES_EVENTS, "timers": RES_TIMERS,
             "workflows": RES_WORKFLOWS, "nodes": RES_NODES, "fds": RES_FDS, "files": RES_FILES,
             "procs": RES_PROCS,
             "sockets": RES_SOCKETS}
