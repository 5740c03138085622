# 16550 UART driver for COM1.  See serial.pxd.
from libc.stdint cimport uint8_t
from kwe.base cimport hal

cdef enum:
    DATA = 0
    IER = 1          # interrupt enable
    FCR = 2          # FIFO control
    LCR = 3          # line control
    MCR = 4          # modem control
    LSR = 5          # line status
    LSR_DATA_READY = 0x01
    LSR_THR_EMPTY = 0x20
    LCR_DLAB = 0x80
    LCR_8N1 = 0x03

cdef void init() noexcept nogil:
    hal.outb(COM1 + IER, 0)
    hal.outb(COM1 + LCR, LCR_DLAB)
    hal.outb(COM1 + DATA, 1)          # divisor 1: 115200 baud
    hal.outb(COM1 + IER, 0)
    hal.outb(COM1 + LCR, LCR_8N1)
    hal.outb(COM1 + FCR, 0xC7)        # FIFOs on and cleared, 14-byte threshold
    hal.outb(COM1 + MCR, 0x0B)        # DTR, RTS, OUT2 (OUT2 gates the IRQ line)

cdef void putc(uint8_t c) noexcept nogil:
    while not (hal.inb(COM1 + LSR) & LSR_THR_EMPTY):
        hal.cpu_relax()
    hal.outb(COM1 + DATA, c)

cdef bint has_input() noexcept nogil:
    return hal.inb(COM1 + LSR) & LSR_DATA_READY

cdef int getc() noexcept nogil:
    if not has_input():
        return -1
    return hal.inb(COM1 + DATA)

cdef void enable_rx_interrupt() noexcept nogil:
    hal.outb(COM1 + IER, 0x01)        # received data available

def write(bytes data):
    """Hosted helper: send bytes through the driver."""
    for c in data:
        putc(c)

def read_all():
    """Hosted helper: drain what the UART has received."""
    out = bytearray()
    cdef int c = getc()
    while c >= 0:
        out.append(c)
        c = getc()
    return bytes(out)

def init_port():
    init()
