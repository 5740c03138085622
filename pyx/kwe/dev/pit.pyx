# See pit.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from kwe.base cimport hal
from kwe.dev cimport irq
from kwe.arch.traps cimport TrapFrame

cdef enum:
    CH0 = 0x40
    CH2 = 0x42
    CMD = 0x43
    GATE = 0x61                 # bit 0: channel 2 gate, bit 1: speaker, bit 5: OUT2
    CALIBRATE_COUNT = 11932     # 10 ms at PIT_HZ

cdef uint64_t tick_count = 0
cdef uint32_t rate = 0
cdef uint64_t cycles_per_second = 0
cdef TickHook hooks[MAX_TICK_HOOKS]
cdef int nhooks = 0

cdef void on_tick(TrapFrame* f) noexcept nogil:
    global tick_count
    cdef int i
    tick_count += 1
    for i in range(nhooks):
        hooks[i](tick_count)

cdef void init(uint32_t want) noexcept nogil:
    global rate
    cdef uint32_t divisor
    if want < MIN_HZ:
        want = MIN_HZ
    if want > MAX_HZ:
        want = MAX_HZ
    divisor = (PIT_HZ + want / 2) / want
    rate = want
    hal.outb(CMD, 0x34)                     # channel 0, lo/hi byte, mode 2 (rate generator)
    hal.outb(CH0, divisor & 0xFF)
    hal.outb(CH0, (divisor >> 8) & 0xFF)
    irq.register(irq.IRQ_TIMER, on_tick)

cdef uint64_t ticks() noexcept nogil:
    return tick_count

cdef uint32_t hz() noexcept nogil:
    return rate

cdef bint add_tick_hook(TickHook h) noexcept nogil:
    global nhooks
    if nhooks == MAX_TICK_HOOKS:
        return False
    hooks[nhooks] = h
    nhooks += 1
    return True

cdef uint64_t calibrate_tsc() noexcept nogil:
    global cycles_per_second
    cdef uint64_t start, end
    cdef uint8_t gate = hal.inb(GATE)
    hal.outb(GATE, (gate & ~0x02) | 0x01)    # speaker off, gate on
    hal.outb(CMD, 0xB0)                     # channel 2, lo/hi byte, mode 0 (count down once)
    hal.outb(CH2, CALIBRATE_COUNT & 0xFF)
    hal.outb(CH2, CALIBRATE_COUNT >> 8)
    start = hal.rdtsc()
    while not (hal.inb(GATE) & 0x20):
        hal.cpu_relax()
    end = hal.rdtsc()
    hal.outb(GATE, gate)
    cycles_per_second = (end - start) * PIT_HZ / CALIBRATE_COUNT
    return cycles_per_second

cdef uint64_t tsc_hz() noexcept nogil:
    return cycles_per_second

cdef void reset() noexcept nogil:
    global tick_count, nhooks
    tick_count = 0
    nhooks = 0

def py_init(uint32_t hz):
    init(hz)

def py_tick():
    """Hosted helper: deliver one timer interrupt."""
    on_tick(NULL)
    return tick_count
