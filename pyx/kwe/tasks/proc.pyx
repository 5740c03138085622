# See proc.pxd.
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.string cimport memset, memcpy
from kwe.base cimport hal
from kwe.mm cimport heap, pmm, vmm, kstack, kmap, account
from kwe.tasks cimport elf, sched, caps
from kwe.common cimport ring, kstr, abi
from kwe.lib cimport hashmap
from kwe.arch cimport gdt, traps, fpu
from kwe.dev cimport pit
from kwe.debug cimport trace
from kwe.common.abi cimport UserInfo, RingHeader, SLOT_SIZE, COMPLETION_SIZE
from kwe.common.list cimport ListNode
from kwe.arch.traps cimport TrapFrame
from kwe.base.console cimport kprintf
from kwe.debug.panic cimport panic

cdef enum:
    MSR_EFER = 0xC0000080
    MSR_STAR = 0xC0000081
    MSR_LSTAR = 0xC0000082
    MSR_FMASK = 0xC0000084
    EFER_SCE = 1
    # Cleared on SYSCALL, so no user RFLAGS bit reaches kernel code: TF, IF, DF,
    # IOPL, NT (the kernel's next iretq would #GP) and AC (it would turn SMAP off).
    FMASK_BITS = 0x47700
    RFLAGS_USER = 0x202         # IF set
    QUANTUM_TICKS = 5
    FRAME_WORDS = 22            # struct TrapFrame
    SWITCH_WORDS = 7            # r15 r14 r13 r12 rbx rbp, return address

cdef Process idle_proc
cdef Process* running = NULL
cdef sched.RunQueue rq
cdef hashmap.HashMap table
cdef uint32_t next_pid = 0
cdef uint64_t nlive = 0, npeak = 0, nswitches = 0, nwakeups = 0
cdef bint need_resched = False
cdef Process* zombies = NULL            # linked through run.node.next: see kill()
cdef IdleWork deferred_work = NULL
cdef uint32_t watched_pid = 0
cdef int watched_exit = 0

cdef void watch(uint32_t pid) noexcept nogil:
    global watched_pid, watched_exit
    watched_pid = pid
    watched_exit = -1

cdef int watched_status() noexcept nogil:
    return watched_exit

# ---- scheduling --------------------------------------------------------------
cdef void on_tick(uint64_t ticks) noexcept nogil:
    global need_resched
    if running != &idle_proc:
        running.ticks += 1
        if sched.tick(&rq, &running.run):
            need_resched = True

cdef void on_return_to_user(TrapFrame* f) noexcept nogil:
    if deferred_work != NULL:
        deferred_work()
    preempt_point()

cdef void set_deferred_work(IdleWork w) noexcept nogil:
    global deferred_work
    deferred_work = w

cdef void request_exit(Process* p, int status) noexcept nogil:
    if p != running:
        kill(p, status)
    elif not p.exit_requested:
        p.exit_requested = True
        p.exit_request_status = status

cdef void preempt_point() noexcept nogil:
    global need_resched
    if running.exit_requested:
        exit_current(running.exit_request_status)
    if need_resched:
        need_resched = False
        yield_current()

cdef void reap() noexcept nogil:
    """Free the kernel stacks of exited processes (never the one we run on)."""
    global zombies
    cdef Process* p
    while zombies != NULL:
        p = zombies
        zombies = <Process*>p.run.node.next
        if p.kstack_top:
            kstack.free(p.kstack_top)
        forget(p)

cdef void forget(Process* p) noexcept nogil:
    """The last of a process: its account must be empty by now (close()
    reports it if not), and its spawner gets its RES_PROCS back."""
    account.give(p.spawner, account.RES_PROCS, 1)
    if p.account != NULL:
        account.close(p.account)
    heap.kfree(p)

cdef void switch_to(Process* next) noexcept nogil:
    global running, nswitches
    cdef Process* prev = running
    if next == prev:
        return
    if prev.fpu != NULL and prev.state != PROC_ZOMBIE:
        hal.fpu_save(prev.fpu)
    trace.record(trace.TR_SWITCH, 0, 0, prev.pid, 0, 0xFF, next.pid)
    running = next
    next.state = PROC_RUNNING
    next.switches += 1
    nswitches += 1
    vmm.activate(next.space)
    gdt.set_kernel_stack(next.kstack_top)
    hal.set_syscall_stack(next.kstack_top)
    if next.fpu != NULL:
        hal.fpu_restore(next.fpu)
    hal.switch_context(&prev.saved_rsp, next.saved_rsp)
    reap()                                  # back in prev, on its own stack

cdef void schedule() noexcept nogil:
    cdef sched.Runnable* r = sched.pick_next(&rq)
    if r != NULL:
        switch_to(<Process*>r)
    elif running.state != PROC_RUNNING:     # blocked or gone, nothing else ready
        switch_to(&idle_proc)

cdef void yield_current() noexcept nogil:
    if running != &idle_proc and rq.queue.head != NULL:
        running.state = PROC_RUNNABLE
        sched.enqueue(&rq, &running.run)
        schedule()

cdef void block_current() noexcept nogil:
    running.state = PROC_BLOCKED
    schedule()

cdef uint64_t wakeups() noexcept nogil:
    return nwakeups

cdef void wake(Process* p) noexcept nogil:
    global nwakeups
    if p.state == PROC_BLOCKED:
        nwakeups += 1
        p.state = PROC_RUNNABLE
        sched.enqueue(&rq, &p.run)

cdef void run_until_idle(IdleWork work) noexcept nogil:
    cdef bint more
    while nlive > 0:
        more = work() if work != NULL else False
        if rq.queue.head != NULL:
            schedule()
        elif more:
            hal.take_interrupts()           # the Guide is busy, but timers must still fire
        else:
            hal.wait_for_interrupt()
    reap()

# ---- lookup ----------------------------------------------------------------
cdef Process* current() noexcept nogil:
    return running

cdef Process* find(uint32_t pid) noexcept nogil:
    return <Process*>hashmap.get(&table, pid)

cdef Process* find_arg(uint64_t pid) noexcept nogil:
    return find(<uint32_t>pid) if pid <= 0xFFFFFFFFU else NULL

cdef bint is_idle(Process* p) noexcept nogil:
    return p == &idle_proc

cdef Process* next_process(uint64_t* cursor, void** entry) noexcept nogil:
    cdef hashmap.Entry* e = hashmap.next_entry(&table, cursor, <hashmap.Entry*>entry[0])
    entry[0] = e
    return <Process*>e.value if e != NULL else NULL

cdef bint descends_from(Process* p, uint32_t ancestor) noexcept nogil:
    cdef uint64_t hops = 0
    while p != NULL and p.parent != 0 and hops <= nlive:     # parents are older: no loops, but bounded anyway
        if p.parent == ancestor:
            return True
        p = find(p.parent)
        hops += 1
    return False

cdef uint64_t live() noexcept nogil:
    return nlive

cdef uint64_t peak() noexcept nogil:
    return npeak

cdef uint64_t context_switches() noexcept nogil:
    return nswitches

# ---- creation ----------------------------------------------------------------
cdef bint map_ring(Process* p, uint64_t uva, uint32_t size, uint32_t slot_size, uint64_t* kva,
                   uint32_t* npages) noexcept nogil:
    """Fresh ring memory at uva in the process, and a kernel view of the same pages."""
    cdef uint64_t n = (ring.bytes_for(size, slot_size) + pmm.PAGE_SIZE - 1) / pmm.PAGE_SIZE, i, pa
    if vmm.map_new(p.space, uva, n, vmm.MAP_USER | vmm.MAP_WRITE) != vmm.VMM_OK:
        return False
    kva[0] = kmap.reserve(n)
    if kva[0] == 0:
        return False
    npages[0] = <uint32_t>n
    for i in range(n):
        vmm.translate(p.space, uva + i * pmm.PAGE_SIZE, &pa, NULL)
        if vmm.map(vmm.kernel_space(), kva[0] + i * pmm.PAGE_SIZE, pa, vmm.MAP_WRITE) != vmm.VMM_OK:
            npages[0] = <uint32_t>i
            return False
    ring.format(<void*>kva[0], size, slot_size)
    return True

cdef void unmap_ring(uint64_t kva, uint32_t npages) noexcept nogil:
    cdef uint32_t i
    if kva == 0:
        return
    for i in range(npages):
        vmm.unmap(vmm.kernel_space(), kva + i * pmm.PAGE_SIZE, NULL)
    kmap.release(kva, npages)

cdef int write_info(Process* p, const char* name, const char* args) noexcept nogil:
    cdef uint64_t pa
    cdef UserInfo* info
    if kstr.length(args) >= sizeof(info.args):        # cut short, they would mean something else
        return abi.E_TOOBIG
    if vmm.map_new(p.space, abi.USER_INFO, 1, vmm.MAP_USER) != vmm.VMM_OK:
        return abi.E_NOMEM
    vmm.translate(p.space, abi.USER_INFO, &pa, NULL)
    info = <UserInfo*>hal.phys_to_virt(pa)
    info.magic = <uint64_t>0x315245535545574BU          # "KWEUSER1", little-endian
    info.abi_version = abi.ABI_VERSION
    info.pid = p.pid
    info.parent = p.parent
    info.event_ring_size = p.events.size
    info.result_ring_size = p.results.size
    info.tick_hz = pit.hz()
    info.tsc_hz = pit.tsc_hz()
    info.event_ring = abi.USER_EVENT_RING
    info.result_ring = abi.USER_RESULT_RING
    kstr.copy(info.name, name, sizeof(info.name))
    kstr.copy(info.args, args, sizeof(info.args))
    return abi.E_OK

cdef void build_first_frames(Process* p, uint64_t entry) noexcept nogil:
    """Make the kernel stack look as if p had been switched out just before
    returning to ring 3 at `entry`: switch_context then 'returns' into
    trap_return, which irets through the TrapFrame."""
    cdef uint64_t* frame = <uint64_t*>(p.kstack_top - FRAME_WORDS * 8)
    cdef uint64_t* sw = frame - SWITCH_WORDS
    cdef TrapFrame* f = <TrapFrame*>frame
    memset(frame, 0, FRAME_WORDS * 8)
    f.rip = entry
    f.cs = gdt.USER_CS
    f.rflags = RFLAGS_USER
    f.rsp = abi.USER_STACK_TOP
    f.ss = gdt.USER_DS
    f.rdi = abi.USER_INFO
    memset(sw, 0, SWITCH_WORDS * 8)
    sw[6] = hal.trap_return_address()
    p.saved_rsp = <uint64_t>sw

cdef void release_resources(Process* p) noexcept nogil:
    """Everything but the kernel stack and the Process itself."""
    if p.local:
        heap.kfree(<void*>p.event_kva)
        heap.kfree(<void*>p.result_kva)
    else:
        unmap_ring(p.event_kva, p.event_pages)
        unmap_ring(p.result_kva, p.result_pages)
    p.event_kva = p.result_kva = 0
    if p.space != NULL:
        if vmm.active() == p.space:
            vmm.activate(vmm.kernel_space())
        vmm.destroy(p.space)
        p.space = NULL
    heap.kfree(p.fpu_block)
    p.fpu_block = p.fpu = NULL
    hashmap.destroy(&p.allocs)

cdef int build(Process* p, const char* name, const char* args, const uint8_t* image, uint64_t size,
               uint32_t evsize, uint32_t ressize, uint32_t stack) noexcept nogil:
    """Everything a new process owns, the table entry last.  A process is only
    live (counted, killable) once this succeeded: on failure the caller gives
    back whatever was made, as for a process that never existed."""
    cdef int err
    p.space = vmm.create_for(p.account)
    p.fpu_block = heap.kmalloc_for(p.account, 512 + 16)
    p.kstack_top = kstack.alloc(KSTACK_PAGES)
    if (p.space == NULL or p.fpu_block == NULL or p.kstack_top == 0
            or elf.load(p.space, image, size) != elf.ELF_OK
            or vmm.map_new(p.space, abi.USER_STACK_TOP - stack * pmm.PAGE_SIZE, stack,
                           vmm.MAP_USER | vmm.MAP_WRITE) != vmm.VMM_OK
            or not map_ring(p, abi.USER_EVENT_RING, evsize, SLOT_SIZE, &p.event_kva, &p.event_pages)
            or not map_ring(p, abi.USER_RESULT_RING, ressize, COMPLETION_SIZE, &p.result_kva,
                            &p.result_pages)):
        return abi.E_NOMEM
    ring.attach_consumer(&p.events, <void*>p.event_kva, evsize, SLOT_SIZE)
    ring.attach_producer(&p.results, <void*>p.result_kva, ressize, COMPLETION_SIZE)
    err = write_info(p, name, args)
    if err != abi.E_OK:
        return err
    if not hashmap.put(&table, p.pid, p):
        return abi.E_NOMEM
    return abi.E_OK

cdef Process* new_process(uint32_t parent, int* err) noexcept nogil:
    """A zeroed Process with a pid and an account, charged to its parent's
    RES_PROCS (children per parent, and processes in all)."""
    global next_pid
    cdef Process* by = find(parent) if parent else NULL
    cdef Process* p
    err[0] = abi.E_QUOTA
    if by != NULL and not account.take(by.account, account.RES_PROCS, 1):
        return NULL
    err[0] = abi.E_NOMEM
    p = <Process*>heap.kzalloc(sizeof(Process))
    if p != NULL:
        next_pid += 1
        p.pid = next_pid
        p.parent = parent
        p.account = account.create(p.pid)
        p.spawner = by.account if by != NULL else NULL
        if by != NULL:
            p.caps = by.caps                    # a child gets at most its parent's set
        else:
            caps.all(&p.caps)                   # init, and what the kernel starts
        p.allocs.owner = p.fds.owner = p.account
    if p == NULL or p.account == NULL:
        account.give(by.account if by != NULL else NULL, account.RES_PROCS, 1)
        heap.kfree(p)
        return NULL
    return p

cdef int spawn(const char* name, const char* args, const uint8_t* image, uint64_t size,
               SpawnArgs* a, uint32_t* pid_out) noexcept nogil:
    global next_pid, nlive, npeak
    cdef elf.ElfInfo info
    cdef Process* p
    cdef uint32_t evsize = a.event_ring if a.event_ring else abi.RING_DEFAULT
    cdef uint32_t ressize = a.result_ring if a.result_ring else abi.RESULT_RING_DEFAULT
    cdef uint32_t stack = a.stack_pages if a.stack_pages else DEFAULT_STACK_PAGES
    cdef int err = elf.validate(image, size, &info)
    if err != elf.ELF_OK:
        kprintf(b"proc: %s: refused: %s\n", <uint64_t>name, <uint64_t>elf.error_name(err))
        return abi.E_INVAL
    if not ring.valid_size(evsize) or not ring.valid_size(ressize) or stack > MAX_STACK_PAGES:
        return abi.E_RANGE
    p = new_process(a.parent, &err)
    if p == NULL:
        return err
    if a.caps != NULL:
        caps.intersect(&p.caps, a.caps)
    kstr.copy(p.name, name, sizeof(p.name))
    err = build(p, name, args, image, size, evsize, ressize, stack)
    if err != abi.E_OK:
        release_resources(p)
        if p.kstack_top:
            kstack.free(p.kstack_top)
        forget(p)
        return err
    p.mem_next = abi.USER_HEAP
    p.fpu = <void*>((<uint64_t>p.fpu_block + 15) & ~<uint64_t>15)
    memcpy(p.fpu, fpu.clean_state(), 512)
    build_first_frames(p, info.entry)
    nlive += 1
    if nlive > npeak:
        npeak = nlive
    p.state = PROC_RUNNABLE
    sched.enqueue(&rq, &p.run)
    pid_out[0] = p.pid
    return abi.E_OK

cdef Process* new_local(uint32_t evsize, uint32_t ressize, bint with_space) noexcept nogil:
    cdef Process* p
    cdef int err
    if not ring.valid_size(evsize) or not ring.valid_size(ressize):
        return NULL
    p = new_process(0, &err)
    if p == NULL:
        return NULL
    p.local = True
    p.state = PROC_BLOCKED
    p.mem_next = abi.USER_HEAP
    kstr.copy(p.name, b"local", sizeof(p.name))
    p.event_kva = <uint64_t>heap.kzalloc(ring.bytes_for(evsize, SLOT_SIZE))
    p.result_kva = <uint64_t>heap.kzalloc(ring.bytes_for(ressize, COMPLETION_SIZE))
    if with_space:
        p.space = vmm.create_for(p.account)
    if (p.event_kva == 0 or p.result_kva == 0 or (with_space and p.space == NULL)
            or not hashmap.put(&table, p.pid, p)):
        release_resources(p)
        forget(p)
        return NULL
    ring.format(<void*>p.event_kva, evsize, SLOT_SIZE)
    ring.format(<void*>p.result_kva, ressize, COMPLETION_SIZE)
    ring.attach_consumer(&p.events, <void*>p.event_kva, evsize, SLOT_SIZE)
    ring.attach_producer(&p.results, <void*>p.result_kva, ressize, COMPLETION_SIZE)
    return p

cdef void free_local(Process* p) noexcept nogil:
    if exit_hook != NULL:
        exit_hook(p)
    hashmap.remove(&table, p.pid)
    release_resources(p)
    forget(p)

# ---- ending ------------------------------------------------------------------
cdef ExitHook exit_hook = NULL

cdef void orphan_children(uint32_t pid) noexcept nogil:
    """The live ones, and the ended ones not reaped yet: a parent that kills
    a child and ends before the scheduler frees it still hands its charge on."""
    cdef uint64_t cursor = 0
    cdef hashmap.Entry* e = hashmap.next_entry(&table, &cursor, NULL)
    cdef Process* z = zombies
    while e != NULL:
        if (<Process*>e.value).parent == pid:
            orphan(<Process*>e.value)
        e = hashmap.next_entry(&table, &cursor, e)
    while z != NULL:
        if z.parent == pid:
            orphan(z)
        z = <Process*>z.run.node.next

cdef void orphan(Process* c) noexcept nogil:
    """Its parent ended: its RES_PROCS charge moves to the orphans' account,
    so the parent's account can close empty and the total still counts it."""
    c.parent = 0
    account.transfer(c.spawner, account.orphans(), account.RES_PROCS, 1)
    if c.spawner != NULL:
        c.spawner = account.orphans()

cdef void kill(Process* p, int status) noexcept nogil:
    global nlive, zombies, watched_exit
    if p == &idle_proc or p.state == PROC_ZOMBIE:
        return
    sched.remove(&rq, &p.run)
    p.exit_status = status
    p.state = PROC_ZOMBIE
    hashmap.remove(&table, p.pid)
    orphan_children(p.pid)
    release_resources(p)
    nlive -= 1
    if p.pid == watched_pid:
        watched_exit = status
    kprintf(b"proc: pid %u (%s) exited with status %d\n", p.pid, <uint64_t>p.name, status)
    if exit_hook != NULL:
        exit_hook(p)
    # Off the run queue now; its prev stays NULL, so the queue still sees it unlinked.
    p.run.node.next = <ListNode*>zombies
    zombies = p
    if p == running:
        schedule()                          # does not come back
        panic(b"proc: a zombie was scheduled")

cdef void exit_current(int status) noexcept nogil:
    kill(running, status)

cdef void on_user_fault(TrapFrame* f) noexcept nogil:
    if running == &idle_proc:                   # no process to blame: a kernel bug
        traps.fatal(f)
        return
    kprintf(b"proc: pid %u (%s) killed: %s at rip=%p", running.pid, <uint64_t>running.name,
            <uint64_t>traps.exception_name(f.vector), f.rip)
    if f.vector == traps.VEC_PAGE_FAULT:
        kprintf(b" address %p", hal.read_cr(2))
    kprintf(b" error=%lx\n", f.error)
    kill(running, EXIT_KILLED + <int>f.vector)

cdef void set_exit_hook(ExitHook h) noexcept nogil:
    global exit_hook
    exit_hook = h

# ---- setup -------------------------------------------------------------------
cdef void init(uint64_t idle_stack_top) noexcept nogil:
    global running, next_pid, nlive, npeak, nswitches, need_resched, zombies, watched_pid
    next_pid = 0
    nlive = npeak = nswitches = 0
    need_resched = False
    zombies = NULL
    watched_pid = 0
    memset(&idle_proc, 0, sizeof(Process))
    idle_proc.state = PROC_RUNNING
    idle_proc.space = vmm.kernel_space()
    idle_proc.kstack_top = idle_stack_top
    kstr.copy(idle_proc.name, b"idle", sizeof(idle_proc.name))
    running = &idle_proc
    sched.init(&rq, QUANTUM_TICKS)
    if not hashmap.init(&table, 64):
        panic(b"proc: no memory for the process table")
    hal.wrmsr(MSR_EFER, hal.rdmsr(MSR_EFER) | EFER_SCE)
    hal.wrmsr(MSR_STAR, (<uint64_t>0x10 << 48) | (<uint64_t>gdt.KERNEL_CS << 32))
    hal.wrmsr(MSR_LSTAR, hal.syscall_entry_address())
    hal.wrmsr(MSR_FMASK, FMASK_BITS)
    traps.set_user_fault_handler(on_user_fault)
    traps.set_return_hook(on_return_to_user)
    pit.add_tick_hook(on_tick)
