# See pic.pxd.
from libc.stdint cimport uint8_t, uint16_t
from kwe.base cimport hal

cdef enum:
    MASTER_CMD = 0x20
    MASTER_DATA = 0x21
    SLAVE_CMD = 0xA0
    SLAVE_DATA = 0xA1
    ICW1_INIT = 0x11            # edge-triggered, cascade, ICW4 follows
    ICW4_8086 = 0x01
    OCW3_READ_ISR = 0x0B
    EOI = 0x20

cdef uint16_t masks            # set by init()

cdef void write_masks() noexcept nogil:
    hal.outb(MASTER_DATA, masks & 0xFF)
    hal.outb(SLAVE_DATA, masks >> 8)

cdef void init() noexcept nogil:
    global masks
    hal.outb(MASTER_CMD, ICW1_INIT)
    hal.outb(SLAVE_CMD, ICW1_INIT)
    hal.outb(MASTER_DATA, IRQ_BASE)         # ICW2: vector offsets
    hal.outb(SLAVE_DATA, IRQ_BASE + 8)
    hal.outb(MASTER_DATA, 4)                # ICW3: slave on IRQ2
    hal.outb(SLAVE_DATA, 2)
    hal.outb(MASTER_DATA, ICW4_8086)
    hal.outb(SLAVE_DATA, ICW4_8086)
    masks = 0xFFFF & ~(1 << 2)              # everything off but the cascade
    write_masks()

cdef void unmask(int irq) noexcept nogil:
    global masks
    masks &= ~(1 << irq)
    write_masks()

cdef void mask(int irq) noexcept nogil:
    global masks
    masks |= (1 << irq)
    write_masks()

cdef void eoi(int irq) noexcept nogil:
    if irq >= 8:
        hal.outb(SLAVE_CMD, EOI)
    hal.outb(MASTER_CMD, EOI)

cdef bint spurious(int irq) noexcept nogil:
    cdef uint16_t port = MASTER_CMD if irq == 7 else SLAVE_CMD
    if irq != 7 and irq != 15:
        return False
    hal.outb(port, OCW3_READ_ISR)
    if hal.inb(port) & 0x80:
        return False
    if irq == 15:
        hal.outb(MASTER_CMD, EOI)
    return True

def py_init():
    init()

def py_masks():
    return masks
