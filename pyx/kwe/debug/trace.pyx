# See trace.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memset
from kwe.base cimport hal, cmdline
from kwe.mm cimport heap
from kwe.common cimport operations
from kwe.base.console cimport kprintf, kputs

cdef enum:
    DEFAULT_RECORDS = 65536

cdef Record* buf = NULL
cdef uint64_t capacity = 0, written = 0
cdef bint on = False
cdef bint late = False            # the buffer was made by start(), not at boot

cdef void init() noexcept nogil:
    global buf, capacity, on, written, late
    written = 0
    on = late = False
    if not cmdline.get_u64(b"trace", 0):
        return
    capacity = cmdline.get_u64(b"trace_records", DEFAULT_RECORDS)
    buf = <Record*>heap.kzalloc(capacity * sizeof(Record))
    on = buf != NULL and capacity > 0
    if not on:
        kputs(b"trace: no memory for the buffer; tracing stays off\n")

cdef bint start() noexcept nogil:
    """Tracing on at run time (OP_TRACE): the buffer is made the first time,
    trace_records= big."""
    global buf, capacity, on, late, written
    if buf == NULL:
        capacity = cmdline.get_u64(b"trace_records", DEFAULT_RECORDS)
        buf = <Record*>heap.kzalloc(capacity * sizeof(Record)) if capacity else NULL
        late = buf != NULL
        written = 0
    on = buf != NULL
    return on

cdef void stop() noexcept nogil:
    global on
    on = False

cdef void finish_late(uint64_t tsc_hz, uint64_t tick_hz) noexcept nogil:
    global buf, late, on
    if not late:
        return
    dump(tsc_hz, tick_hz)
    heap.kfree(buf)
    buf = NULL
    late = on = False

cdef bint enabled() noexcept nogil:
    return on

cdef const bint* flag() noexcept nogil:
    return &on

cdef void record(uint8_t kind, uint64_t id, uint64_t run, uint32_t pid, uint16_t node, uint8_t deck,
                 uint32_t extra) noexcept nogil:
    global written
    cdef Record* r
    if not on:
        return
    r = &buf[written % capacity]
    r.tsc = hal.rdtsc()
    r.id, r.run, r.pid, r.node, r.kind, r.deck, r.extra = id, run, pid, node, kind, deck, extra
    r.reserved = 0
    written += 1

cdef void dump(uint64_t tsc_hz, uint64_t tick_hz) noexcept nogil:
    """TRACE-BEGIN header, then "T <seq> <80 hex digits> <crc32>" per record
    (the CRC covers the seq and the hex), then TRACE-END."""
    cdef uint64_t first = written - capacity if written > capacity else 0, i
    cdef char line[128]
    cdef const uint8_t* raw
    cdef const char* digits = b"0123456789abcdef"
    cdef int j, n
    if buf == NULL:
        return
    kprintf(b"TRACE-BEGIN version 1 tsc_hz %u tick_hz %u records %u overwritten %u\n",
            tsc_hz, tick_hz, written - first, first)
    for i in range(first, written):
        raw = <const uint8_t*>&buf[i % capacity]
        n = 0
        for j in range(<int>sizeof(Record)):
            line[n] = digits[raw[j] >> 4]
            line[n + 1] = digits[raw[j] & 15]
            n += 2
        line[n] = 0
        kprintf(b"T %u %s %08x\n", i, <uint64_t>line,
                operations.crc32(operations.crc32(0, <const uint8_t*>&i, 8), <const uint8_t*>line, n))
    kprintf(b"TRACE-END %u\n", written - first)

# ---- hosted ---------------------------------------------------------------------------------
def py_start(uint64_t records):
    global buf, capacity, on, written
    buf = <Record*>heap.kzalloc(records * sizeof(Record))
    capacity, on, written = records, buf != NULL, 0

def py_record(int kind, uint64_t id=0, uint64_t run=0, uint32_t pid=0, int node=0, int deck=0,
              uint32_t extra=0):
    record(kind, id, run, pid, node, deck, extra)

def py_dump(uint64_t tsc_hz, uint64_t tick_hz):
    dump(tsc_hz, tick_hz)

def py_stop():
    global on
    on = False
