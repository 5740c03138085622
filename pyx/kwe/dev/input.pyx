# See input.pxd.  Single producer (the IRQ) and consumer (the kernel with
# interrupts off), so a head and a tail per queue are all it takes.
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from kwe.base cimport serial
from kwe.dev cimport irq
from kwe.arch.traps cimport TrapFrame

cdef uint8_t data[SOURCES][QUEUE_BYTES]
cdef uint32_t head[SOURCES]
cdef uint32_t tail[SOURCES]
cdef uint64_t lost[SOURCES]

cdef void on_serial_irq(TrapFrame* f) noexcept nogil:
    cdef int c = serial.getc()
    while c >= 0:
        push(SOURCE_SERIAL, <uint8_t>c)
        c = serial.getc()

cdef void init() noexcept nogil:
    serial.enable_rx_interrupt()
    irq.register(irq.IRQ_COM1, on_serial_irq)

cdef void push(int s, uint8_t c) noexcept nogil:
    if head[s] - tail[s] == QUEUE_BYTES:
        lost[s] += 1
        return
    data[s][head[s] % QUEUE_BYTES] = c
    head[s] += 1

cdef int pop(int s) noexcept nogil:
    cdef uint8_t c
    if head[s] == tail[s]:
        return -1
    c = data[s][tail[s] % QUEUE_BYTES]
    tail[s] += 1
    return c

cdef uint64_t dropped(int s) noexcept nogil:
    return lost[s]

def py_push(int s, bytes b):
    for c in b:
        push(s, c)

def py_drain(int s):
    out = bytearray()
    cdef int c = pop(s)
    while c >= 0:
        out.append(c)
        c = pop(s)
    return bytes(out)

def py_dropped(int s):
    return lost[s]
