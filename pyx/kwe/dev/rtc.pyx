# See rtc.pxd.
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from kwe.base cimport hal

cdef enum:
    INDEX = 0x70
    DATA = 0x71
    REG_SECONDS = 0x00
    REG_MINUTES = 0x02
    REG_HOURS = 0x04
    REG_DAY = 0x07
    REG_MONTH = 0x08
    REG_YEAR = 0x09
    REG_CENTURY = 0x32
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

cdef int64_t days_from_civil(int64_t y, uint32_t m, uint32_t d) noexcept nogil:
    # Howard Hinnant's algorithm: eras of 400 years, March-based years
    cdef int64_t era, yoe, doy, doe
    if m <= 2:
        y -= 1
    era = (y if y >= 0 else y - 399) / 400
    yoe = y - era * 400
    doy = (153 * (m + (9 if m <= 2 else -3)) + 2) / 5 + d - 1
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146097 + doe - 719468

cdef uint64_t unix_time() noexcept nogil:
    cdef uint8_t b = read(REG_STATUS_B)
    cdef bint binary = b & BINARY_MODE
    cdef uint32_t secs, day, month, year, century
    while True:                                 # date and time from the same second
        secs = seconds_of_day()
        day = decode(read(REG_DAY), binary)
        month = decode(read(REG_MONTH), binary)
        year = decode(read(REG_YEAR), binary)
        century = decode(read(REG_CENTURY), binary)
        if seconds_of_day() == secs:
            break
    if century < 19 or century > 30:
        century = 20
    if month < 1 or month > 12 or day < 1 or day > 31:
        return secs
    return <uint64_t>(days_from_civil(century * 100 + year, month, day) * 86400 + secs)

def py_days_from_civil(int64_t y, uint32_t m, uint32_t d):
    return days_from_civil(y, m, d)
