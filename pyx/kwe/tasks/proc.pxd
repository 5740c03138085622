# Processes: ring-3 programs in their own address spaces, each with a kernel
# stack (over a guard page), its FPU/SSE state, and its two rings.  The
# process table is a hash map by pid with no limit but memory.  Context
# switches swap kernel stacks (hal.switch_context); a process that exits
# gives everything back at once except the stack it is running on, which
# the next process to run frees (reap).
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int32_t
from kwe.tasks.sched cimport Runnable
from kwe.mm.vmm cimport AddressSpace
from kwe.common.ring cimport Ring
from kwe.lib.hashmap cimport HashMap
from kwe.common.list cimport List
from kwe.mm.account cimport Account
from kwe.common.abi cimport CapSet

cdef enum ProcState:
    PROC_RUNNABLE = 1
    PROC_RUNNING = 2
    PROC_BLOCKED = 3
    PROC_ZOMBIE = 4

cdef enum:
    DEFAULT_STACK_PAGES = 4
    MAX_STACK_PAGES = 256
    KSTACK_PAGES = 4
    EXIT_KILLED = 128           # + the vector, for a process a fault killed

cdef struct Process:
    Runnable run                # first, so a Runnable* is its Process*
    uint32_t pid
    uint32_t parent
    int state
    int exit_status
    AddressSpace* space
    uint64_t kstack_top
    uint64_t saved_rsp
    void* fpu                   # fxsave area: 512 bytes, 16-byte aligned
    void* fpu_block
    Ring events                 # the kernel consumes this one
    Ring results                # and produces into this one
    uint64_t event_kva
    uint64_t result_kva
    uint32_t event_pages
    uint32_t result_pages
    uint32_t cq_reserved        # completions promised room in its ResultRing (kwe.events.results)
    uint32_t exit_cq            # 1 while its parent's ResultRing holds room for its exit notice
    bint waiting                # blocked in kernel_notify(WAIT)
    uint32_t wait_workflow
    uint64_t inflight           # its events inside the Guide
    bint local                  # a kernel-side event source: rings on the heap, never runs
    bint exit_requested         # OP_EXIT seen while it was running: exit on the way out
    int exit_request_status
    uint64_t mem_pages          # OP_MEM_ALLOC accounting
    uint64_t mem_next           # where the next OP_MEM_ALLOC goes
    HashMap allocs              # address -> pages, of OP_MEM_ALLOC blocks
    HashMap fds                 # file descriptors (kwe.tasks.fd)
    List workflows              # its registered workflows (kwe.events.workflow), to drop at exit
    Account* account            # what it holds in the kernel (kwe.mm.account)
    Account* spawner            # charged RES_PROCS for it: its parent's (or orphans())
    CapSet caps                 # what it may do (kwe.tasks.caps): at most its parent's
    void* guide_lanes           # the Guide's queues of its events, one per deck (kwe.events.guide)
    uint64_t ticks
    uint64_t switches
    uint64_t syscalls
    uint32_t console_from       # who gave it the console (kwe.decks.tty): it goes back there
    char name[32]

cdef struct SpawnArgs:
    uint32_t event_ring         # ring sizes (0: RING_DEFAULT, RESULT_RING_DEFAULT)
    uint32_t result_ring
    uint32_t stack_pages        # 0: DEFAULT_STACK_PAGES
    uint32_t parent
    const CapSet* caps          # at most these (with the parent's); NULL: the parent's

# Take over the running kernel context as the idle process (pid 0), set up
# SYSCALL and the preemption hooks.
cdef void init(uint64_t idle_stack_top) noexcept nogil
# Create a process from an ELF image; returns E_OK and its pid, or an E_* code.
cdef int spawn(const char* name, const char* args, const uint8_t* image, uint64_t size,
               SpawnArgs* a, uint32_t* pid_out) noexcept nogil
# A process that never runs: its rings live in kernel memory and the kernel
# (or a hosted test) plays its part.  with_space gives it user memory too.
cdef Process* new_local(uint32_t event_ring, uint32_t result_ring, bint with_space) noexcept nogil
cdef void free_local(Process* p) noexcept nogil
cdef Process* current() noexcept nogil
cdef Process* find(uint32_t pid) noexcept nogil
# The same for a pid an event names in a 64-bit argument (past 32 bits: none).
cdef Process* find_arg(uint64_t pid) noexcept nogil
cdef bint is_idle(Process* p) noexcept nogil
# Every live process: start with *cursor = 0 and *entry = NULL; NULL at the
# end.  Nothing may start or end while iterating.
cdef Process* next_process(uint64_t* cursor, void** entry) noexcept nogil
# Whether ancestor is p's parent, or its parent's, and so on.
cdef bint descends_from(Process* p, uint32_t ancestor) noexcept nogil
# End the running process (never returns).
cdef void exit_current(int status) noexcept nogil
# End any process; from its own context this does not return.
cdef void kill(Process* p, int status) noexcept nogil
cdef void yield_current() noexcept nogil
# Sleep until wake(); the caller re-checks its condition in a loop.
cdef void block_current() noexcept nogil
cdef void wake(Process* p) noexcept nogil
cdef uint64_t wakeups() noexcept nogil          # how many wake() made a process runnable
# Switch if the time slice ran out, or end the process if it asked to
# (called on the way back to ring 3).
cdef void preempt_point() noexcept nogil
# End p: at once, or -- if p is the running process, inside its own
# kernel_notify -- on its way back to ring 3.
cdef void request_exit(Process* p, int status) noexcept nogil
# The idle loop: run processes (and `work` between them) until none are left.
# IdleWork says whether it left work for later (a spent budget).
ctypedef bint (*IdleWork)() noexcept nogil
cdef void run_until_idle(IdleWork work) noexcept nogil
# Work to do on the way back to ring 3 from an interrupt, and when idle (the
# Guide's pending events); the SYSCALL path runs the Guide itself.
cdef void set_deferred_work(IdleWork w) noexcept nogil
# Called for every process that ends (its workflows and files go, the
# parent hears of it).
ctypedef void (*ExitHook)(Process* p) noexcept nogil
cdef void set_exit_hook(ExitHook h) noexcept nogil
# Remember the exit status of one process (the scenario's init).
cdef void watch(uint32_t pid) noexcept nogil
cdef int watched_status() noexcept nogil
cdef uint64_t live() noexcept nogil
cdef uint64_t peak() noexcept nogil
cdef uint64_t context_switches() noexcept nogil
