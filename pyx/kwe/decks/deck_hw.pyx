# See deck_hw.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from kwe.common cimport abi
from kwe.events cimport guide
from kwe.decks cimport tty
from kwe.dev cimport pit
from kwe.base cimport hal
from kwe.events.guide cimport Event
from kwe.base.console cimport kputc

cdef enum:
    MAX_SLEEP_MS = 86400000     # a day

cdef uint64_t ms_to_ticks(uint64_t ms) noexcept nogil:
    return (ms * pit.hz() + 999) / 1000

cdef void console_write(Event* e) noexcept nogil:
    cdef uint32_t i
    for i in range(e.input_len):
        kputc(<char>e.input[i])
    e.value = e.input_len

cdef int handle(Event* e) noexcept nogil:
    cdef uint16_t op = e.h.opcode
    if guide.opcode_deck(op) != abi.DECK_HARDWARE:
        return guide.DECK_DONE
    if op == abi.OP_SLEEP:
        if e.h.arg[0] > MAX_SLEEP_MS:
            e.status = abi.E_RANGE
            return guide.DECK_DONE
        e.value = e.h.arg[0]
        if guide.defer(e, ms_to_ticks(e.h.arg[0]), False):
            return guide.DECK_HELD
        return guide.DECK_DONE                  # E_QUOTA: no more timers for its owner
    if op == abi.OP_TICKS:
        guide.set_value(e, pit.ticks(), 8)
    elif op == abi.OP_TSC:
        guide.set_value(e, hal.rdtsc(), 8)
    elif op == abi.OP_CONSOLE_WRITE:
        console_write(e)
    elif op == abi.OP_CONSOLE_READ:
        return tty.read(e)
    elif op == abi.OP_CONSOLE_GIVE:
        tty.give(e)
    elif op == abi.OP_FLAKY:
        if e.attempts < e.h.arg[0]:
            e.status = abi.E_AGAIN
        else:
            e.value = e.attempts
    return guide.DECK_DONE
