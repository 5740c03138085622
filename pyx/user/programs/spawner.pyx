# spawner N PROGRAM [ARGS...]: starts N copies of PROGRAM (small rings and
# one stack page each, so thousands fit), then waits until every one of them
# has ended, and reports how many were alive at once.
from libc.stdint cimport uint32_t, uint64_t, int64_t
from libc.string cimport memcpy
from user cimport sdk
from kwe.common cimport abi, kstr
from kwe.common.abi cimport Completion

cdef uint64_t ended = 0, failed = 0

cdef void count_exit(Completion* r) noexcept nogil:
    global ended, failed
    if r.flags & abi.RF_CHILD_EXIT:
        ended += 1
        if r.status != 0:
            failed += 1

cdef public int umain() noexcept nogil:
    cdef uint64_t n = sdk.arg_u64(0, 10), started = 0, i
    cdef const char* args = sdk.info().args
    cdef Completion r
    cdef int64_t pid
    sdk.on_result(count_exit)                           # children may end while we spawn
    while args[0] and args[0] != c' ':                  # the command is the rest
        args += 1
    while args[0] == c' ':
        args += 1
    for i in range(n):
        pid = sdk.spawn(args, abi.RING_MIN, abi.RING_MIN, 1)
        if pid < 0:
            sdk.printf(b"spawner: spawn %u failed: %e\n", i, pid)
            break
        started += 1
    sdk.printf(b"spawner: started %u of %u '%s'\n", started, n, <uint64_t>args)
    while ended < started:
        sdk.wait_result(&r)
        count_exit(&r)
    sdk.printf(b"spawner: all %u ended, %u failed\n", ended, failed)
    return 0 if failed == 0 and started == n else 1
