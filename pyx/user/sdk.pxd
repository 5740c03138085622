# The user-side SDK: everything a KWE program does goes through these.  It
# owns the process's end of the two rings (EventRing: produce, ResultRing:
# consume) and the one system call.
#
#   e = sdk.event(abi.OP_CRC32)          # a slot with a default route
#   sdk.set_input(e, data, n)            # inline (<= 512 bytes) or by pointer
#   sdk.set_output(e, buf, cap)          # where the output goes (else only its length comes back)
#   sdk.call(e, &c)                      # submit, wait for its completion
#
# The kernel takes an event only when the ResultRing has room for all the
# completions it will cause; kernel_notify returns how many it took and the
# rest wait in the EventRing.  The SDK reaps completions (into a stash, or
# to the on_result handler) and submits again, so nothing is ever dropped.
#
# Programs define `cdef public int umain() noexcept nogil`; its return
# value is the exit status.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from kwe.common.abi cimport EventSlot, Completion, UserInfo, CapSet, ProcInfo, SysStat

cdef extern from *:
    """
    /* runtime/user's system call stub: declared once for every program */
    #include <stdint.h>
    int64_t kernel_notify(uint64_t workflow_id, uint64_t flags);
    """
    int64_t kernel_notify(uint64_t workflow_id, uint64_t flags) nogil

cdef UserInfo* info() noexcept nogil
# The next free EventRing slot, header cleared, opcode, a fresh event_id and
# the default route ([deck of the opcode, Execution]).  If the ring is full
# it submits what is there and waits for room: an event is never dropped.
cdef EventSlot* event(uint16_t opcode) noexcept nogil
cdef void set_route(EventSlot* e, const uint8_t* route, uint8_t n) noexcept nogil
# Inline input if it fits the payload, else a pointer to it (an
# InputPointer in the payload; the caller keeps the memory alive until the
# result arrives).
cdef void set_input(EventSlot* e, const void* data, uint32_t n) noexcept nogil
# The output goes to buf (at most cap bytes; Completion.length says how
# long it was, RF_TRUNCATED that it did not fit).
cdef void set_output(EventSlot* e, void* buf, uint64_t cap) noexcept nogil
cdef void commit() noexcept nogil                 # publish the slot from event()
# kernel_notify(SUBMIT): how many events the kernel took (or an E_* code).
cdef int64_t submit() noexcept nogil
# Events committed to the EventRing that the kernel has not taken yet.
cdef uint32_t unsent() noexcept nogil
cdef int64_t wait(uint32_t workflow_id) noexcept nogil
cdef void yield_cpu() noexcept nogil
# Commit e, submit, and wait for the completion with its event_id.
# Completions for other events that arrive first go to the handler set with
# on_result(), or are kept for next_result() (a stash of KEPT_MAX: a
# program that lets more pile up unread is stopped with a message, never
# silently short of one).  Returns the event's status.
cdef int call(EventSlot* e, Completion* out) noexcept nogil
# event(opcode) with arg[0] and arg[1] set.
cdef EventSlot* event_args(uint16_t opcode, uint64_t a0, uint64_t a1) noexcept nogil
# call(e) for a scalar answer: its value, or its (negative) status.
cdef int64_t call_value(EventSlot* e) noexcept nogil
ctypedef void (*ResultHandler)(Completion* r) noexcept nogil
cdef void on_result(ResultHandler h) noexcept nogil
# Hand a result that is not for you to the handler (or the stash).
cdef void keep_result(Completion* r) noexcept nogil
# The next result (kept ones first), copied into out; False if none.
cdef bint next_result(Completion* out) noexcept nogil
# The next completion in the ResultRing (not the stash); False if none.
cdef bint take(Completion* out) noexcept nogil
# Nothing to read: block until a completion the kernel promised arrives
# (or, with none promised, let others run); re-offers waiting events.
cdef void await_completion() noexcept nogil
# Block until a result is there, then take it.
cdef void wait_result(Completion* out) noexcept nogil
# Move every completion in the ResultRing to the handler or the stash
# (what the SDK does when the kernel takes fewer events than offered).
cdef void reap() noexcept nogil
# A workflow summary's counts (its value: done | failed << 16 | cancelled << 32).
cdef uint32_t run_done(Completion* c) noexcept nogil
cdef uint32_t run_failed(Completion* c) noexcept nogil
cdef uint32_t run_cancelled(Completion* c) noexcept nogil

cdef void write(const char* s, size_t n) noexcept nogil
cdef void puts(const char* s) noexcept nogil
cdef void printf(const char* fmt, uint64_t a0=*, uint64_t a1=*, uint64_t a2=*,
                 uint64_t a3=*, uint64_t a4=*, uint64_t a5=*, uint64_t a6=*,
                 uint64_t a7=*) noexcept nogil
# Start "program args..." with ring sizes / stack pages (0: defaults);
# the new pid, or an E_* code.
cdef int64_t spawn(const char* command, uint32_t event_ring, uint32_t result_ring,
                   uint32_t stack_pages) noexcept nogil
# The same, the child holding at most `caps` (and never more than we do).
cdef int64_t spawn_with(const char* command, uint32_t event_ring, uint32_t result_ring,
                        uint32_t stack_pages, const CapSet* caps) noexcept nogil
# Capabilities (docs/security.md): ours; give some up (never gain); and a
# sandbox: ours without CAP_SYSTEM, system files read-only.
cdef int caps_get(CapSet* out) noexcept nogil
cdef int caps_limit(const CapSet* limit) noexcept nogil
cdef void caps_sandbox(CapSet* c) noexcept nogil
cdef void exit(int status) noexcept nogil
# The console's input (kwe.decks.tty): wait until at least one byte is typed
# and the console is ours, then up to cap bytes; the count or an E_* code.
cdef int64_t console_read(void* buf, uint32_t cap) noexcept nogil
# Hand the console to pid (ourselves, to take it back, or a descendant).
cdef int console_give(uint32_t pid) noexcept nogil
cdef int kill(uint32_t pid) noexcept nogil      # a descendant (or anyone, with CAP_SYSTEM)
# Live processes into out[0:cap]; how many there are (may be > cap), or E_*.
cdef int64_t ps(ProcInfo* out, uint32_t cap) noexcept nogil
cdef int sysstat(SysStat* out) noexcept nogil
cdef int trace(uint32_t command) noexcept nogil  # abi.TRACE_*; CAP_SYSTEM
cdef uint64_t tsc() noexcept nogil
cdef uint64_t now_ms() noexcept nogil
# Sort timing samples in place, ascending (insertion sort: for a few thousand).
cdef void sort_u64(uint64_t* v, uint32_t n) noexcept nogil
# The n-th space-separated word of the program's arguments (0-based) into
# buf; its length, or -1 when there is none.
cdef long arg(int n, char* buf, size_t cap) noexcept nogil
cdef uint64_t arg_u64(int n, uint64_t default) noexcept nogil
