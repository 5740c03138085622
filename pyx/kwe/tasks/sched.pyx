# See sched.pxd.
from libc.stdint cimport uint32_t, uint64_t

cdef void init(RunQueue* q, uint32_t quantum) noexcept nogil:
    q.head = q.tail = NULL
    q.length = 0
    q.quantum = quantum if quantum > 0 else 1

cdef void enqueue(RunQueue* q, Runnable* r) noexcept nogil:
    if r.queued:
        return
    r.next = NULL
    r.prev = q.tail
    if q.tail != NULL:
        q.tail.next = r
    else:
        q.head = r
    q.tail = r
    r.queued = True
    q.length += 1

cdef void remove(RunQueue* q, Runnable* r) noexcept nogil:
    if not r.queued:
        return
    if r.prev != NULL:
        r.prev.next = r.next
    else:
        q.head = r.next
    if r.next != NULL:
        r.next.prev = r.prev
    else:
        q.tail = r.prev
    r.next = r.prev = NULL
    r.queued = False
    q.length -= 1

cdef Runnable* pick_next(RunQueue* q) noexcept nogil:
    cdef Runnable* r = q.head
    if r == NULL:
        return NULL
    remove(q, r)
    r.slice_left = q.quantum
    return r

cdef bint tick(RunQueue* q, Runnable* running) noexcept nogil:
    if running == NULL:
        return q.head != NULL
    if running.slice_left > 0:
        running.slice_left -= 1
    return running.slice_left == 0 and q.head != NULL

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
        cdef Runnable* r = self.q.head
        while r != NULL:
            out.append(<int>(r - self.tasks))
            r = r.next
        return out

    def __len__(self):
        return self.q.length
