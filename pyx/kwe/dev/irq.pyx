# See irq.pxd.
from libc.stdint cimport uint64_t
from kwe.dev cimport pic
from kwe.arch cimport traps
from kwe.arch.traps cimport TrapFrame

cdef IrqHandler handlers[pic.IRQ_COUNT]
cdef uint64_t counts[pic.IRQ_COUNT]
cdef uint64_t spurious_count = 0

cdef void dispatch(TrapFrame* f) noexcept nogil:
    global spurious_count
    cdef int n = <int>f.vector - pic.IRQ_BASE
    if pic.spurious(n):
        spurious_count += 1
        return
    counts[n] += 1
    # Acknowledge first: a handler may switch to another process and
    # return here much later.
    pic.eoi(n)
    if handlers[n] != NULL:
        handlers[n](f)

cdef void init() noexcept nogil:
    cdef int n
    pic.init()
    for n in range(pic.IRQ_COUNT):
        traps.set_handler(pic.IRQ_BASE + n, dispatch)

cdef void register(int n, IrqHandler h) noexcept nogil:
    handlers[n] = h
    pic.unmask(n)

cdef uint64_t count(int n) noexcept nogil:
    return counts[n]

def py_init():
    init()

def py_count(int n):
    return count(n)
