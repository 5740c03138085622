# multi N PROGRAM ARGS...: starts PROGRAM N times, the k-th with an extra
# first argument letter 'A'+k (counter A ..., counter B ...), then waits.
from libc.stdint cimport uint32_t, uint64_t, int64_t
from user cimport sdk
from kwe.common cimport abi, kstr
from kwe.common.abi cimport Completion

cdef uint64_t ended = 0
cdef int status = 0

cdef void count_exit(Completion* r) noexcept nogil:
    global ended, status
    if r.flags & abi.RF_CHILD_EXIT:
        ended += 1
        if r.status != 0:
            status = 1

cdef public int umain() noexcept nogil:
    cdef uint64_t n = sdk.arg_u64(0, 2), k, started = 0
    cdef char prog[48]
    cdef char cmd[300]
    cdef const char* rest = sdk.info().args
    cdef Completion r
    sdk.on_result(count_exit)
    sdk.arg(1, prog, sizeof(prog))
    for k in range(2):                                  # skip N and PROGRAM
        while rest[0] and rest[0] != c' ':
            rest += 1
        while rest[0] == c' ':
            rest += 1
    for k in range(n):
        cmd[0] = 0
        kstr.copy(cmd, prog, sizeof(cmd))
        build(cmd, <char>(c'A' + k), rest)
        if sdk.spawn(cmd, 0, 0, 0) > 0:
            started += 1
    while ended < started:
        sdk.wait_result(&r)
        count_exit(&r)
    sdk.printf(b"multi: %u children ended\n", ended)
    return status

cdef void build(char* cmd, char letter, const char* rest) noexcept nogil:
    cdef size_t n = kstr.length(cmd)
    cmd[n] = c' '
    cmd[n + 1] = letter
    cmd[n + 2] = c' '
    kstr.copy(cmd + n + 3, rest, 300 - n - 3)
