# See syscall.pxd.
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from kwe.common cimport abi
from kwe.events cimport guide, results, workflow
from kwe.tasks cimport proc
from kwe.mm cimport vmm
from kwe.arch.traps cimport TrapFrame
from kwe.tasks.proc cimport Process
from kwe.debug cimport stages

cdef const bint* staging = NULL    # stages' on/off (stages.begin tests it)

cdef bint waited_for(Process* p, uint32_t wf) noexcept nogil:
    if wf == 0:
        return results.waiting_for_reader(p)
    return workflow.state(p.pid, wf) != 1

cdef int64_t wait(Process* p, uint32_t wf) noexcept nogil:
    # The condition is re-checked under the same (interrupts-off) kernel
    # that delivers completions, so one that lands before we block is seen.
    cdef uint8_t back
    if wf != 0 and workflow.state(p.pid, wf) < 0:
        return abi.E_NOENT
    while not waited_for(p, wf) and not p.exit_requested:
        p.waiting = True
        p.wait_workflow = wf
        back = stages.begin(staging, abi.STAGE_WAKE)
        proc.block_current()
        stages.end(back)
        p.waiting = False
    return 0

cdef public void kwe_syscall(TrapFrame* f) noexcept nogil:
    global staging
    cdef Process* p = proc.current()
    cdef uint64_t flags = f.rsi, wf = f.rdi
    cdef int64_t ret = 0, w
    if staging == NULL:                         # the first system call: no init() of ours runs before
        staging = stages.flag()
    stages.begin(staging, abi.STAGE_KERNEL)
    p.syscalls += 1
    if flags & ~<uint64_t>(abi.NOTIFY_SUBMIT | abi.NOTIFY_WAIT | abi.NOTIFY_YIELD) or wf > 0xFFFFFFFFU:
        ret = abi.E_INVAL
    else:
        if flags & abi.NOTIFY_SUBMIT:
            ret = guide.submit(p)
            guide.run_own(p)                    # others' work: idle loop, timer returns
        if (flags & abi.NOTIFY_WAIT) and ret >= 0:
            w = wait(p, <uint32_t>wf)
            if w < 0:
                ret = w
        if flags & abi.NOTIFY_YIELD:
            proc.yield_current()
    f.rax = <uint64_t>ret
    if guide.pending():                         # its own completions that arrived meanwhile
        guide.run_own(p)
    if f.rip >= vmm.USER_TOP:                   # SYSRET to it would fault in ring 0
        proc.request_exit(p, proc.EXIT_KILLED + 13)
    proc.preempt_point()
    stages.end(abi.STAGE_USER if staging[0] else abi.NSTAGES)   # back to user code, whatever came between

cdef void init() noexcept nogil:
    global staging
    staging = stages.flag()
