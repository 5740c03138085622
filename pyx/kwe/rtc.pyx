# See rtc.pxd.
from libc.stdint cimport uint8_t, uint32_t
from kwe cimport hal

cdef enum:
    INDEX = 0x70
    DATA = 0x71
    REG_SECONDS = 0x00
    REG_MINUTES = 0x02
    REG_HOURS = 0x04
    REG_STATUS_A = 0x0A
    REG_STATUS_B = 0x0B
    UPDATE_IN_PROGRESS = 0x80
    BINARY_MODE = 0x04
    HOUR_24 = 0x02

cdef uint8_t read(uint8_t reg) noexcept nogil:
    hal.outb(INDEX, reg)
    return hal.inb(DATA)

cdef uint32_t decode(uint8_t v, bint binary) noexcept nogil:
    return v if binary else (v >> 4) * 10 + (v & 0xF)

cdef uint32_t read_once(uint8_t status_b) noexcept nogil:
    cdef bint binary = status_b & BINARY_MODE
    cdef uint8_t raw_hours = read(REG_HOURS)
    cdef uint32_t h = decode(raw_hours & 0x7F, binary)
    if not (status_b & HOUR_24):
        h = h % 12 + (12 if raw_hours & 0x80 else 0)
    return h * 3600 + decode(read(REG_MINUTES), binary) * 60 + decode(read(REG_SECONDS), binary)

cdef uint32_t seconds_of_day() noexcept nogil:
    cdef uint8_t b = read(REG_STATUS_B)
    cdef uint32_t a, c
    while True:                             # two equal reads outside an update
        while read(REG_STATUS_A) & UPDATE_IN_PROGRESS:
            hal.cpu_relax()
        a = read_once(b)
        while read(REG_STATUS_A) & UPDATE_IN_PROGRESS:
            hal.cpu_relax()
        c = read_once(b)
        if a == c:
            return a
