# init: the first process (tools/kwe run).  `init shell` starts the
# interactive shell, sh, and ends with it (what tools/kwe run boots in a
# terminal).  Plain `init` is the demo: programs that show the system --
# three counters sharing the CPU by preemption, the workflow demos, a
# latency measurement -- waits for every child, and exits 0 if they all did.
from libc.stdint cimport uint64_t, int64_t
from user cimport sdk
from kwe.common cimport abi, kstr
from kwe.common.abi cimport Completion

cdef enum:
    NPROGRAMS = 5

cdef int ended = 0, failed = 0

cdef void count_exit(Completion* r) noexcept nogil:
    global ended, failed
    if r.flags & abi.RF_CHILD_EXIT:
        ended += 1
        failed += r.status != 0

cdef int shell() noexcept nogil:
    cdef Completion r
    cdef int64_t pid = sdk.spawn(b"sh", 0, 0, 0)
    if pid < 0:
        sdk.printf(b"init: cannot start sh: %e\n", pid)
        return 1
    while True:
        sdk.wait_result(&r)
        if r.flags & abi.RF_CHILD_EXIT and r.value == <uint64_t>pid:
            return 0 if r.status == 0 else 1

cdef public int umain() noexcept nogil:
    cdef char word[16]
    cdef const char* programs[NPROGRAMS]
    cdef int64_t pid
    cdef int started = 0, i
    cdef Completion r
    if sdk.arg(0, word, sizeof(word)) > 0 and kstr.equal(word, b"shell"):
        return shell()
    programs[0] = b"hello from init"
    programs[1] = b"multi 3 counter 5 30"
    programs[2] = b"wfdemo"
    programs[3] = b"latency 200"
    programs[4] = b"hello all started"
    sdk.on_result(count_exit)
    sdk.printf(b"init: pid %u starting %d programs\n", sdk.info().pid, NPROGRAMS)
    for i in range(NPROGRAMS):
        pid = sdk.spawn(programs[i], 0, 0, 0)
        sdk.printf(b"init: '%s' -> pid %d\n", <uint64_t>programs[i], pid)
        if pid > 0:
            started += 1
    while ended < started:
        sdk.wait_result(&r)
        count_exit(&r)
    sdk.printf(b"init: %d children ended, %d failed\n", ended, failed)
    return 0 if failed == 0 and started == NPROGRAMS else 1
