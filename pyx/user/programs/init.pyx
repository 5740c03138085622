# init: the first process (tools/kwe run).  `init shell` starts the
# interactive shell, sh, and ends with it (what tools/kwe run boots in a
# terminal).  `init net [shell]` first starts the network services, httpd
# on port 80 and udpecho on port 7 (tools/kwe run --net), then the shell
# or, without it, keeps them running.  Plain `init` is the demo: programs that show the system --
# three counters sharing the CPU by preemption, the workflow demos, a
# latency measurement -- waits for every child, and exits 0 if they all did.
from libc.stdint cimport uint32_t, uint64_t, int64_t
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

cdef int services(bint then_shell) noexcept nogil:
    """httpd and udpecho; then the shell, and when it ends so do they (the
    kernel powers off once every process has)."""
    cdef Completion r
    cdef int64_t pids[2]
    cdef int status, i, left = 0
    pids[0] = sdk.spawn(b"httpd", 0, 0, 0)
    pids[1] = sdk.spawn(b"udpecho", 0, 0, 0)
    sdk.printf(b"init: 'httpd' -> pid %d, 'udpecho' -> pid %d\n", pids[0], pids[1])
    while not then_shell:                       # a service that ends is reported, the others go on
        sdk.wait_result(&r)
        if r.flags & abi.RF_CHILD_EXIT:
            sdk.printf(b"init: pid %u ended with status %d\n", r.value, <uint64_t><int64_t>r.status)
    status = shell()
    for i in range(2):
        if pids[i] > 0 and sdk.kill(<uint32_t>pids[i]) == abi.E_OK:
            left += 1
    while left > 0:
        sdk.wait_result(&r)
        left -= (r.flags & abi.RF_CHILD_EXIT) != 0
    return status

cdef public int umain() noexcept nogil:
    cdef char word[16]
    cdef const char* programs[NPROGRAMS]
    cdef int64_t pid
    cdef int started = 0, i
    cdef Completion r
    if sdk.arg(0, word, sizeof(word)) > 0 and kstr.equal(word, b"shell"):
        return shell()
    if kstr.equal(word, b"net"):
        return services(sdk.arg(1, word, sizeof(word)) > 0 and kstr.equal(word, b"shell"))
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
