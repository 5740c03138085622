# Scheduling policy, apart from the mechanism (kwe.tasks.proc): a round-robin run
# queue with a time slice of `quantum` timer ticks.  Cooperative yields and
# blocking go through the same queue; preemption happens when a running
# task's slice is used up while someone else is waiting.
from libc.stdint cimport uint32_t
from kwe.common.list cimport ListNode, List

cdef struct Runnable:           # embedded first in every process
    ListNode node               # first too: a queued node is its Runnable and its process
    uint32_t slice_left

cdef struct RunQueue:
    List queue                  # FIFO
    uint32_t quantum

cdef void init(RunQueue* q, uint32_t quantum) noexcept nogil
# Append (a no-op if already queued): waking up and yielding both land here.
cdef void enqueue(RunQueue* q, Runnable* r) noexcept nogil
cdef void remove(RunQueue* q, Runnable* r) noexcept nogil
# Take the next task to run, with a fresh slice; NULL if none.
cdef Runnable* pick_next(RunQueue* q) noexcept nogil
# Charge one tick to the running task; True if it should now be preempted.
cdef bint tick(RunQueue* q, Runnable* running) noexcept nogil
