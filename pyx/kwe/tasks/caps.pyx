# See caps.pxd.
from libc.stdint cimport uint16_t, uint32_t, uint64_t
from libc.string cimport memset
from kwe.common cimport abi, tags
from kwe.common.abi cimport CapSet
from kwe.base cimport cmdline, checks
from kwe.dev cimport pit
from kwe.debug cimport trace
from kwe.base.console cimport kprintf

cdef enum:
    DEFAULT_LOG_PER_S = 10

cdef uint64_t ndenied = 0, log_per_s = 0, window_start = 0, logged_in_window = 0

cdef void init() noexcept nogil:
    global log_per_s
    log_per_s = cmdline.get_u64(b"caps_log_per_s", DEFAULT_LOG_PER_S)

cdef void all(CapSet* c) noexcept nogil:
    cdef int d
    memset(c, 0, sizeof(CapSet))
    c.flags = abi.CAP_SYSTEM
    for d in range(abi.DECK_COUNT):
        c.ops[d] = <uint64_t>0xFFFFFFFFFFFFFFFFU
    for d in range(abi.FILE_CLASSES):
        c.files |= <uint64_t>abi.RIGHTS_ALL << (8 * d)

cdef void intersect(CapSet* c, const CapSet* limit) noexcept nogil:
    cdef int d
    c.flags &= limit.flags
    c.files &= limit.files
    for d in range(abi.DECK_COUNT):
        c.ops[d] &= limit.ops[d]

cdef bint op_allowed(const CapSet* c, uint16_t opcode) noexcept nogil:
    cdef uint32_t deck = opcode >> 8, low = opcode & 0xFF
    if opcode == abi.OP_EXIT or opcode == abi.OP_CAPS_GET or opcode == abi.OP_CAPS_LIMIT:
        return True                     # ending, and knowing or giving up rights, are never refused
    if not checks.enabled():
        return True                     # the bench's B side (kwe.base.checks)
    if deck >= abi.DECK_COUNT or low >= 64:
        return False
    return (c.ops[deck] >> low) & 1

cdef bint file_allowed(const CapSet* c, uint32_t label, uint32_t rights) noexcept nogil:
    if not checks.enabled():
        return True
    if label >= abi.FILE_CLASSES:
        return False
    return ((c.files >> (8 * label)) & rights) == rights

cdef bint reads_all(const CapSet* c) noexcept nogil:
    cdef uint32_t k
    for k in range(abi.FILE_CLASSES):
        if not file_allowed(c, k, abi.RIGHT_READ):
            return False
    return True

cdef bint system(const CapSet* c) noexcept nogil:
    return (c.flags & abi.CAP_SYSTEM) != 0 or not checks.enabled()

cdef bint any_reserved(const char* s, size_t n) noexcept nogil:
    cdef size_t i = 0, k
    while i < n:
        while i < n and s[i] == c' ':
            i += 1
        k = i
        while k < n and s[k] != c' ' and s[k] != 0:
            k += 1
        if k > i and tags.reserved(s + i, k - i):
            return True
        if k < n and s[k] == 0:
            return False
        i = k
    return False

cdef bint may_log() noexcept nogil:
    """At most log_per_s lines in any one-second window of timer ticks."""
    global window_start, logged_in_window
    cdef uint64_t now = pit.ticks()
    if now - window_start >= pit.hz():
        window_start = now
        logged_in_window = 0
    logged_in_window += 1
    return logged_in_window <= log_per_s

cdef int deny(uint32_t pid, uint16_t opcode, uint64_t what) noexcept nogil:
    global ndenied
    ndenied += 1
    trace.record(trace.TR_DENY, what, 0, pid, 0, 0xFF, opcode)
    if may_log():
        kprintf(b"caps: pid %u refused opcode %x on %lu (E_PERM; %lu refusals so far)\n",
                pid, opcode, what, ndenied)
    return abi.E_PERM

cdef uint64_t denials() noexcept nogil:
    return ndenied

# ---- hosted ------------------------------------------------------------------------------
def py_all():
    cdef CapSet c
    all(&c)
    return (<char*>&c)[:sizeof(CapSet)]

def py_reserved(bytes tags):
    return any_reserved(tags, len(tags))

def py_denials():
    return ndenied
