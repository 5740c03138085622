# parallel CMD1;CMD2;...: starts every command at once, then reports each
# child's end in the order they end ("parallel: pid P ended, status S").
# Exits with the number of children that failed to start.
from libc.stdint cimport uint32_t, uint64_t, int64_t
from user cimport sdk
from kwe.common cimport abi, kstr
from kwe.common.abi cimport Completion

cdef enum:
    MAX_CHILDREN = 32

cdef int ended = 0

cdef void report_exit(Completion* r) noexcept nogil:
    global ended
    if r.flags & abi.RF_CHILD_EXIT:
        ended += 1
        sdk.printf(b"parallel: pid %u ended, status %d\n", r.value, r.status)

cdef public int umain() noexcept nogil:
    cdef char cmd[256]
    cdef const char* s = sdk.info().args
    cdef size_t n
    cdef int64_t pid
    cdef int started = 0, bad = 0
    cdef Completion r
    sdk.on_result(report_exit)
    while s[0] and started + bad < MAX_CHILDREN:
        n = 0
        while s[n] and s[n] != c';':
            n += 1
        kstr.copy(cmd, s, n + 1 if n + 1 < sizeof(cmd) else sizeof(cmd))
        pid = sdk.spawn(cmd, 0, 0, 0)
        sdk.printf(b"parallel: started '%s' as pid %d\n", <uint64_t>cmd, pid)
        if pid > 0:
            started += 1
        else:
            bad += 1
        s += n
        if s[0] == c';':
            s += 1
    while ended < started:
        sdk.wait_result(&r)
        report_exit(&r)
    return bad
