# malformed: hands the kernel bad events and bad pointers, one at a time,
# and checks each comes back as the right error -- while the kernel (and
# this process) keep running.  Exits 0 when every case matched.
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.string cimport memset
from user cimport sdk
from kwe.common cimport abi, errors, kstr
from kwe.common.abi cimport EventSlot, Completion

cdef int cases = 0, passed = 0
cdef uint64_t scratch[64]

cdef void expect(const char* name, int64_t got, int64_t want) noexcept nogil:
    global cases, passed
    cases += 1
    if got == want:
        passed += 1
    cdef const char* verdict = b"MISMATCH"
    if got == want:
        verdict = b"ok"
    if errors.name(want) == NULL:               # a plain number, not a status code
        sdk.printf(b"malformed: %s -> %d (want %d) %s\n", <uint64_t>name, got, want, <uint64_t>verdict)
    else:
        sdk.printf(b"malformed: %s -> %s (want %s) %s\n", <uint64_t>name, <uint64_t>named(got),
                   <uint64_t>errors.name(want), <uint64_t>verdict)

cdef const char* named(int64_t code) noexcept nogil:
    cdef const char* s = errors.name(code)
    if s == NULL:
        return b"a value that is not a status code"
    return s

cdef void input_at(EventSlot* e, uint64_t address, uint64_t length) noexcept nogil:
    """Input by pointer -- any pointer, which is the point here."""
    cdef abi.InputPointer* ptr = <abi.InputPointer*>e.payload
    e.h.flags |= abi.EVF_INPUT_PTR
    ptr.address, ptr.length = address, length

cdef int submit_one(EventSlot* e) noexcept nogil:
    cdef Completion r
    return sdk.call(e, &r)

cdef int64_t spawn_with_long_args() noexcept nogil:
    """The kernel refuses it only once the process is half built (UserInfo)."""
    cdef char cmd[320]
    kstr.copy(cmd, b"hello ", sizeof(cmd))
    memset(cmd + 6, c'a', 300)
    cmd[306] = 0
    return sdk.spawn(cmd, 0, 0, 0)

cdef public int umain() noexcept nogil:
    cdef EventSlot* e
    cdef uint8_t route_bad_deck[2]
    cdef uint32_t i
    cdef Completion r
    # pointers the process does not own
    e = sdk.event(abi.OP_CONSOLE_WRITE)
    input_at(e, <uint64_t>0xFFFFFFFF80100000U, 16)
    expect(b"input pointer into the kernel", submit_one(e), abi.E_FAULT)
    e = sdk.event(abi.OP_CRC32)
    input_at(e, <uint64_t>0x500000000000U, 16)
    expect(b"input pointer to unmapped memory", submit_one(e), abi.E_FAULT)
    e = sdk.event(abi.OP_CRC32)
    input_at(e, abi.USER_STACK_TOP - 16, 4096)                 # nothing mapped above the stack
    expect(b"input running off the mapped end", submit_one(e), abi.E_FAULT)
    e = sdk.event(abi.OP_TICKS)
    sdk.set_output(e, <void*>0xFFFF800000001000U, 8)
    expect(b"output pointer into the kernel", submit_one(e), abi.E_FAULT)
    e = sdk.event(abi.OP_CRC32)
    input_at(e, <uint64_t>scratch, <uint64_t>1 << 40)
    expect(b"input longer than max_input", submit_one(e), abi.E_RANGE)
    # bad headers
    e = sdk.event(0x7777)
    expect(b"unknown opcode", submit_one(e), abi.E_BADOP)
    e = sdk.event(abi.OP_CRC32)
    e.h.route_len = 0
    expect(b"empty route", submit_one(e), abi.E_BADROUTE)
    e = sdk.event(abi.OP_CRC32)
    e.h.route[1] = abi.DECK_OPERATIONS
    expect(b"route not ending in Execution", submit_one(e), abi.E_BADROUTE)
    e = sdk.event(abi.OP_CRC32)
    route_bad_deck[0], route_bad_deck[1] = 9, abi.DECK_EXECUTION
    sdk.set_route(e, route_bad_deck, 2)
    expect(b"route through a deck that does not exist", submit_one(e), abi.E_BADROUTE)
    e = sdk.event(abi.OP_CRC32)
    e.h.route[0] = abi.DECK_HARDWARE
    expect(b"route missing the opcode's deck", submit_one(e), abi.E_BADROUTE)
    e = sdk.event(abi.OP_CRC32)
    e.h.route_len = 200
    expect(b"route longer than ROUTE_MAX", submit_one(e), abi.E_BADROUTE)
    e = sdk.event(abi.OP_CRC32)
    e.h.payload_len = 600
    expect(b"payload longer than a slot", submit_one(e), abi.E_RANGE)
    e = sdk.event(abi.OP_NET_SEND)
    e.h.arg[0] = 12345
    expect(b"send on a socket never opened", submit_one(e), abi.E_BADF)
    e = sdk.event(abi.OP_NET_LISTEN + 0x40)
    expect(b"network opcode past the deck's last", submit_one(e), abi.E_BADOP)
    e = sdk.event(abi.OP_RLE_DECODE)
    e.payload[0] = 10                                   # promises 11 literal bytes, has 1
    e.h.payload_len = 2
    expect(b"truncated RLE input", submit_one(e), abi.E_BADDATA)
    # garbage slots: every byte random; whatever they say, the answer is an error
    for i in range(8):
        e = sdk.event(0)
        fill_garbage(<uint8_t*>e, sizeof(EventSlot), i)
        e.h.event_id = 1000 + i
        e.h.flags &= ~abi.EVF_NO_RESULT
        expect(b"garbage slot is refused", submit_one(e) < 0, 1)
    expect(b"spawn with more args than UserInfo holds", spawn_with_long_args(), abi.E_TOOBIG)
    # the system call itself
    expect(b"unknown notify flags", sdk.kernel_notify(0, 0x80), abi.E_INVAL)
    expect(b"WAIT on a workflow that does not exist", sdk.kernel_notify(4242, abi.NOTIFY_WAIT), abi.E_NOENT)
    sdk.printf(b"malformed: %d of %d cases as expected\n", passed, cases)
    return 0 if passed == cases else 1

cdef void fill_garbage(uint8_t* p, uint32_t n, uint32_t seed) noexcept nogil:
    cdef uint64_t x = 0x9E3779B97F4A7C15U * (seed + 1)
    cdef uint32_t i
    for i in range(n):
        x ^= x << 13
        x ^= x >> 7
        x ^= x << 17
        p[i] = <uint8_t>x
