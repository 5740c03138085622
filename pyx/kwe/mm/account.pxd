# What each process holds in the kernel, and how much it may hold.
#
# Every kernel resource a process causes -- heap bytes, physical pages,
# events, timers, workflows and their nodes, open files, files created,
# children, sockets -- is charged to its Account when taken and given back when
# freed.  A charge is refused when it would pass the process's limit or the
# limit over all processes together (the `total` account), so one process
# can neither exhaust the machine nor starve the others; the asker gets
# E_QUOTA (or E_NOMEM from an allocator).  When a process ends, everything
# it held must be back: its account is exactly zero (RES_FILES excepted: the
# files it created outlive it), which the kernel checks for every process.
# The limits come from the kernel command line (docs/security.md).
from libc.stdint cimport uint32_t, uint64_t

cdef enum:                      # resources
    RES_HEAP = 0                # kernel heap bytes (as asked)
    RES_PAGES = 1               # physical pages: user memory, page tables, rings
    RES_EVENTS = 2              # its events inside the kernel
    RES_TIMERS = 3              # of those, waiting on a timer
    RES_WORKFLOWS = 4           # registered workflows
    RES_NODES = 5               # nodes of its registered workflows
    RES_FDS = 6                 # open files
    RES_FILES = 7               # files created (never given back)
    RES_PROCS = 8               # live children (in `total`: live processes)
    RES_SOCKETS = 9             # open network sockets (kwe.net.socket)
    RES_COUNT = 10

cdef struct Account:
    uint64_t used[RES_COUNT]
    uint64_t limit[RES_COUNT]
    uint64_t refused[RES_COUNT]
    uint64_t objects            # heap objects charged (kwe.mm.heap)
    uint64_t kernel_cycles      # TSC cycles decks spent on its events
    uint32_t pid

# Read the limits from the command line (after the PMM is up: some defaults
# are fractions of RAM).
cdef void init() noexcept nogil
# A process's account, with the per-process limits; NULL if no memory.
cdef Account* create(uint32_t pid) noexcept nogil
# Its process ended: True and freed if everything came back (RES_FILES
# aside); otherwise the leak is printed and the account kept.
cdef bint close(Account* a) noexcept nogil
# Charge n of r to a (and to the total); False, and counted as refused, if
# either limit would be passed.  a may be NULL: the kernel's own use.
cdef bint take(Account* a, int r, uint64_t n) noexcept nogil
cdef void give(Account* a, int r, uint64_t n) noexcept nogil
# Would take(a, r, n) succeed?  (For an E_QUOTA answer before trying.)
cdef bint room(Account* a, int r, uint64_t n) noexcept nogil
# Move a charge from one account to another; the total does not change.
cdef void transfer(Account* src, Account* dst, int r, uint64_t n) noexcept nogil
cdef Account* total() noexcept nogil
# Holds what processes that ended left to live children (their RES_PROCS
# charges): no per-process limit, still counted in the total.
cdef Account* orphans() noexcept nogil
cdef const char* name(int r) noexcept nogil
# Accounts closed with something still charged (each one is a kernel bug).
cdef uint64_t leaked() noexcept nogil
