# Where the kernel's time goes, stage by stage: in-kernel TSC counters of
# the completion path (ring read, Guide routing, deck, workflow engine,
# completion, wake) for the bench and `tools/kwe trace`.  Exclusive time:
# entering a stage pauses the one it was entered from, leaving resumes it,
# so the stages add up to the whole.  Off by default (stages=1 on the
# command line, or OP_STAGES): then a stage point costs a load and a test,
# made by the caller on flag().  docs/trace.md lists the stages.
from libc.stdint cimport uint8_t, uint64_t
# The stages (abi.STAGE_*), the commands (abi.STAGES_*) and the counters
# (abi.StageCounters) are ABI: OP_STAGES hands them to a program.
from kwe.common cimport abi
from kwe.common.abi cimport StageCounters

cdef void init() noexcept nogil
cdef const bint* flag() noexcept nogil
# Enter stage s; returns the stage to give leave() to go back.
cdef uint8_t enter(uint8_t s) noexcept nogil
cdef void leave(uint8_t back) noexcept nogil
# A stage point: begin() where the stage starts, end() with what it gave
# back where it ends.  `on` is the caller's copy of flag(), so while
# counting is off a point makes no call.
cdef inline uint8_t begin(const bint* on, uint8_t s) noexcept nogil:
    return enter(s) if on != NULL and on[0] else abi.NSTAGES

cdef inline void end(uint8_t back) noexcept nogil:
    if back < abi.NSTAGES:
        leave(back)

cdef void control(uint8_t how) noexcept nogil
cdef void read(StageCounters* out) noexcept nogil
cdef const char* name(uint8_t s) noexcept nogil
# The counters as lines on the console (the end of a stages=1 boot).
cdef void dump() noexcept nogil
