# See sched.pxd.
from libc.stdint cimport uint32_t
cimport kwe.common.list as lists

cdef void init(RunQueue* q, uint32_t quantum) noexcept nogil:
    lists.init(&q.queue)
    q.quantum = quantum if quantum > 0 else 1

cdef void enqueue(RunQueue* q, Runnable* r) noexcept nogil:
    if not lists.is_linked(&q.queue, &r.node):
        lists.push_back(&q.queue, &r.node)

cdef void remove(RunQueue* q, Runnable* r) noexcept nogil:
    lists.remove(&q.queue, &r.node)

cdef Runnable* pick_next(RunQueue* q) noexcept nogil:
    cdef Runnable* r = <Runnable*>lists.pop_front(&q.queue)
    if r != NULL:
        r.slice_left = q.quantum
    return r

cdef bint tick(RunQueue* q, Runnable* running) noexcept nogil:
    if running == NULL:
        return not lists.empty(&q.queue)
    if running.slice_left > 0:
        running.slice_left -= 1
    return running.slice_left == 0 and not lists.empty(&q.queue)

# ---- hosted: a queue of numbered tasks --------------------------------------
from libc.stdlib cimport calloc, free

cdef class PyRunQueue:
    cdef RunQueue q
    cdef Runnable* tasks
    cdef int n

    def __cinit__(self, int ntasks, uint32_t quantum=1):
        self.tasks = <Runnable*>calloc(ntasks, sizeof(Runnable))
        self.n = ntasks
        init(&self.q, quantum)

    def __dealloc__(self):
        free(self.tasks)

    def enqueue(self, int i):
        enqueue(&self.q, &self.tasks[i])

    def remove(self, int i):
        remove(&self.q, &self.tasks[i])

    def pick_next(self):
        cdef Runnable* r = pick_next(&self.q)
        return None if r == NULL else <int>(r - self.tasks)

    def tick(self, running):
        cdef Runnable* r = NULL if running is None else &self.tasks[<int>running]
        return tick(&self.q, r)

    def order(self):
        out = []
        cdef Runnable* r = <Runnable*>self.q.queue.head
        while r != NULL:
            out.append(<int>(r - self.tasks))
            r = <Runnable*>r.node.next
        return out

    def __len__(self):
        return self.q.queue.count
