# See stages.pxd.
from libc.stdint cimport uint8_t, uint64_t
from libc.string cimport memset, memcpy
from kwe.base cimport hal, cmdline
from kwe.base.console cimport kprintf
from kwe.common cimport abi
from kwe.common.abi cimport StageCounters

cdef StageCounters counts
cdef bint on                 # zero-initialised: off, in STAGE_USER (0)
cdef uint8_t current
cdef uint64_t since

cdef void init() noexcept nogil:
    control(abi.STAGES_ON if cmdline.get_u64(b"stages", 0) else abi.STAGES_OFF)

cdef const bint* flag() noexcept nogil:
    return &on

cdef void charge(uint64_t now) noexcept nogil:
    global since
    counts.cycles[current] += now - since
    since = now

cdef uint8_t enter(uint8_t s) noexcept nogil:
    global current
    cdef uint8_t back = current
    if not on or s >= abi.NSTAGES:
        return back
    charge(hal.rdtsc())
    counts.entries[s] += 1
    current = s
    return back

cdef void leave(uint8_t back) noexcept nogil:
    global current
    if not on or back >= abi.NSTAGES:
        return
    charge(hal.rdtsc())
    current = back

cdef void control(uint8_t how) noexcept nogil:
    global on, current, since
    if how == abi.STAGES_ON:
        memset(&counts, 0, sizeof(counts))
        current = abi.STAGE_KERNEL              # switched on by the kernel: until it returns to user code
        since = hal.rdtsc()
        on = True
    elif how == abi.STAGES_OFF and on:
        charge(hal.rdtsc())
        on = False

cdef void read(StageCounters* out) noexcept nogil:
    if on:
        charge(hal.rdtsc())
    memcpy(out, &counts, sizeof(counts))

cdef const char* name(uint8_t s) noexcept nogil:
    if s == abi.STAGE_USER:
        return b"user"
    if s == abi.STAGE_KERNEL:
        return b"kernel"
    if s == abi.STAGE_RING:
        return b"ring"
    if s == abi.STAGE_ROUTE:
        return b"route"
    if s == abi.STAGE_DECK:
        return b"deck"
    if s == abi.STAGE_ENGINE:
        return b"engine"
    if s == abi.STAGE_COMPLETE:
        return b"complete"
    return b"wake" if s == abi.STAGE_WAKE else b"?"

cdef void dump() noexcept nogil:
    cdef StageCounters c
    cdef uint8_t s
    read(&c)
    for s in range(abi.NSTAGES):
        kprintf(b"stages: %s %u cycles %u entries\n", <uint64_t>name(s), c.cycles[s], c.entries[s])

def py_control(uint8_t how):
    control(how)

def py_enter(uint8_t s):
    return enter(s)

def py_leave(uint8_t back):
    leave(back)

def py_read():
    cdef StageCounters c
    read(&c)
    return [c.cycles[s] for s in range(abi.NSTAGES)], [c.entries[s] for s in range(abi.NSTAGES)]
