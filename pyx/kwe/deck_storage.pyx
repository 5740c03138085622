# See deck_storage.pxd.
from libc.stdint cimport uint64_t
from kwe cimport abi, guide, proc, vmm, pmm, hashmap, cmdline
from kwe.guide cimport Event
from kwe.proc cimport Process

cdef enum:
    DEFAULT_QUOTA_MB = 64

cdef uint64_t quota_pages = 0

cdef void init() noexcept nogil:
    global quota_pages
    quota_pages = cmdline.get_u64(b"mem_quota_mb", DEFAULT_QUOTA_MB) * 256

cdef void mem_alloc(Event* e, Process* p) noexcept nogil:
    cdef uint64_t n = (e.h.arg[0] + pmm.PAGE_SIZE - 1) / pmm.PAGE_SIZE
    cdef uint64_t va = p.mem_next, i
    if n == 0:
        e.status = abi.E_INVAL
    elif n > quota_pages - p.mem_pages:
        e.status = abi.E_QUOTA
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

cdef int handle(Event* e) noexcept nogil:
    cdef Process* p
    if guide.opcode_deck(e.h.opcode) != abi.DECK_STORAGE:
        return guide.DECK_DONE
    p = proc.find(e.pid)
    if p == NULL or p.space == NULL:
        e.status = abi.E_NOENT
    elif e.h.opcode == abi.OP_MEM_ALLOC:
        mem_alloc(e, p)
    else:
        mem_free(e, p)
    return guide.DECK_DONE
