# Event tracing: TSC-stamped records of every event's life (submit, Guide
# pick-up, each deck entered and left, completion), workflow runs (nodes and
# their dependencies), scheduler switches and interrupts.  One buffer (one
# CPU), bounded: when full the oldest records are overwritten and counted.
# Off by default; trace=1 on the command line turns it on (trace_records=N
# sizes it, default 65536).  Off, a trace point costs one call and a test.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t

cdef enum TraceKind:
    TR_SUBMIT = 1               # id: event, pid, extra: opcode
    TR_PICKUP = 2               # id: event, deck: the first one
    TR_DECK_ENTER = 3           # id: event, deck
    TR_DECK_EXIT = 4            # id: event, deck, extra: status (as u32)
    TR_COMPLETE = 5             # id: event, extra: status
    TR_NODE = 6                 # id: event, run, node, extra: opcode
    TR_EDGE = 7                 # run, node: the dependent, extra: the dependency
    TR_RUN_START = 8            # run, pid, extra: workflow id
    TR_RUN_END = 9              # run, extra: status
    TR_SWITCH = 10              # pid: from, extra: to
    TR_IRQ = 11                 # extra: vector
    TR_DENY = 12                # id: what was refused (file id, opcode), pid, extra: opcode

cdef struct Record:             # 40 bytes
    uint64_t tsc
    uint64_t id
    uint64_t run
    uint32_t pid
    uint32_t extra
    uint16_t node
    uint8_t kind
    uint8_t deck
    uint32_t reserved

cdef void init() noexcept nogil
cdef bint enabled() noexcept nogil
# On and off while the kernel runs; start() is False when the buffer cannot
# be had (no memory, trace_records=0).
cdef bint start() noexcept nogil
cdef void stop() noexcept nogil
# A buffer start() made is the kernel's, not a process's: at power-off it is
# dumped and freed before memory is counted.
cdef void finish_late(uint64_t tsc_hz, uint64_t tick_hz) noexcept nogil
# Where enabled() reads from: a hot path (the Guide, per event) tests it
# and makes no call while tracing is off.
cdef const bint* flag() noexcept nogil
cdef void record(uint8_t kind, uint64_t id, uint64_t run, uint32_t pid, uint16_t node, uint8_t deck,
                 uint32_t extra) noexcept nogil
# Write every record to the console as framed, checksummed lines (docs/trace.md).
cdef void dump(uint64_t tsc_hz, uint64_t tick_hz) noexcept nogil
