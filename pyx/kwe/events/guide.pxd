# The Guide: moves every in-flight event along its route of decks.
#
# SUBMIT copies the process's new events out of its EventRing (validated;
# inline or user-pointer input copied once into kernel memory), gives each a
# kernel id (for traces), and queues it at the first deck of its
# route.  run() then keeps taking events from the deck queues, round robin
# over the decks, and hands each to its deck; a deck either finishes its
# part (the event moves to the next deck) or holds it (timers, backoff) and
# resumes it later.  A failed event skips straight to Execution, the last
# deck, which reports it.  Nothing polls: SUBMIT, deck completions and timer
# ticks mark work pending, and the kernel runs the Guide on its way back to
# user mode and in the idle loop.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t
from kwe.common.abi cimport EventHeader, Completion, PAYLOAD_MAX
from kwe.tasks.proc cimport Process
from kwe.mm.account cimport Account

cdef enum:
    DECK_DONE = 0               # this deck is done with the event: move on
    DECK_HELD = 1               # the deck keeps it and calls resume() later
    NO_DECK = 0xFF

cdef struct Event:
    uint64_t id                 # the kernel's id for it (traces)
    uint32_t pid                # owner
    Account* account            # the owner's: charged for the event and its buffers
    void* lanes                 # the owner's queues, one per deck (guide.pyx: Lanes)
    uint32_t node               # workflow node index (when run_id != 0)
    uint64_t run_id             # workflow run, 0 for a standalone event
    EventHeader h               # the validated header
    uint8_t hop                 # index into h.route
    uint8_t fail_deck           # where status went negative (NO_DECK: it did not)
    uint16_t result_flags       # RF_* to report
    uint32_t cq                 # ResultRing slots reserved for its completions (kwe.events.results)
    int32_t status
    uint32_t attempts           # retries so far (the result reports attempts + 1 runs)
    uint64_t value
    const uint8_t* input        # what the deck works on (not owned unless == input_owned)
    uint32_t input_len
    uint8_t* input_owned        # heap copy of user-pointer input
    uint8_t* output             # heap, owned by the event, or &scalar
    uint32_t output_len
    uint64_t scalar             # a scalar output (set_value) lives here, not on the heap
    uint64_t tsc_submit
    uint64_t tsc_pickup
    uint64_t due_tick           # when a deferred event resumes
    bint restart                # resume at the first hop (a retry) instead of the next
    Event* next                 # deck queue / timer list
    uint8_t* inline_input       # the payload's copy, in the same allocation, after the Event
    uint32_t inline_cap         # its size: what the event carried (at most PAYLOAD_MAX)

ctypedef int (*DeckHandler)(Event* e) noexcept nogil
# Completions an OP_WF_RUN event will cause besides its own (its workflow's
# emitting nodes); the workflow engine answers it.
ctypedef uint32_t (*RunNeed)(Process* p, EventHeader* h) noexcept nogil

cdef void init() noexcept nogil
cdef void set_deck(int deck, DeckHandler h) noexcept nogil
cdef void set_run_need(RunNeed f) noexcept nogil
# Take the process's new events, each only once its ResultRing has room
# reserved for every completion it will cause; the rest stay in the
# EventRing.  Returns how many it took, or E_CORRUPT / E_QUOTA / E_NOMEM
# if it took none.
cdef int submit(Process* p) noexcept nogil
# e's completion: status, error context, value, length; the output goes to
# the buffer the event named (EVF_OUTPUT_PTR: arg[2], capacity arg[3])
# through p's page tables (E_FAULT if it went away).
cdef void completion(Event* e, Process* p, Completion* c) noexcept nogil
# A fresh event owned by pid, with room for `inline_cap` payload bytes
# (a workflow node: 0), not yet queued; NULL if pid's account or memory
# refused it (refusal() says which).
cdef Event* new_event(uint32_t pid, uint32_t inline_cap) noexcept nogil
# The same for a caller that holds the owner, stamped `now` (its submit time).
cdef Event* event_for(Process* p, uint32_t inline_cap, uint64_t now) noexcept nogil
cdef int refusal() noexcept nogil               # E_QUOTA or E_NOMEM
# A buffer for e (its output, a copy of its input), charged to e's owner.
cdef void* alloc_for(Event* e, size_t n) noexcept nogil
# Check e's opcode and route (E_OK or E_BADOP / E_BADROUTE / E_RANGE).
cdef int check(EventHeader* h) noexcept nogil
# Queue e at its first deck (or straight at Execution if e.status < 0).
cdef void dispatch(Event* e) noexcept nogil
# A deck that held e is done with it.
cdef void resume(Event* e) noexcept nogil
# Hold e for `ticks` timer ticks, then resume it (restart: from its first hop).
# False, with e.status = E_QUOTA, if its owner may hold no more timers.
cdef bint defer(Event* e, uint64_t ticks, bint restart) noexcept nogil
# Give the event an output buffer (taken over; freed with the event).
cdef void set_output(Event* e, uint8_t* buf, uint32_t n) noexcept nogil
# Take e's output away from it (to keep it after e is released): NULL
# when it is the inline scalar, which the caller must copy instead.
cdef uint8_t* take_output(Event* e) noexcept nogil
# A scalar result: value, and as output its nbytes little-endian bytes.
cdef bint set_value(Event* e, uint64_t v, uint32_t nbytes) noexcept nogil
# Process queued events, round robin over the decks and, within a deck,
# over the processes with events there, until every queue is empty or the
# work budget of one kernel entry (guide_budget_us=, default 2000 µs of
# TSC time) is spent or a step woke a process; pending() then stays true and
# the next kernel entry (a system call, the way back to ring 3, the idle
# loop) goes on.  Every step's cycles are charged to the event's owner.
cdef void run() noexcept nogil
# The same for p's own events only (its SUBMIT: what it asked for starts at
# once, whoever else has work queued).
cdef void run_own(Process* p) noexcept nogil
cdef bint pending() noexcept nogil
# Free e and give back the ResultRing room it still holds.
cdef void release(Event* e) noexcept nogil
# The same when the caller has already looked up e's owner (NULL: gone).
cdef void release_of(Event* e, Process* owner) noexcept nogil
# Unlink and release p's events from a deck's list of held events (linked
# through Event.next): what a deck does for a process that ended (its rings
# are gone, so nothing is written to them).
cdef void release_held(Event** list, Process* p) noexcept nogil
# Release every event p still has in a deck queue or waiting on a timer
# (it ended), and its queues; returns how many events.  Never allocates.
cdef uint64_t drop_process(Process* p) noexcept nogil
cdef uint64_t in_flight() noexcept nogil
# The most output one event may ask the kernel to hold (max_output=, bytes).
cdef uint64_t output_limit() noexcept nogil
cdef uint64_t processed() noexcept nogil
cdef uint64_t steps_at(int deck) noexcept nogil         # of them, at one deck
cdef int opcode_deck(uint16_t opcode) noexcept nogil    # -1: unknown
