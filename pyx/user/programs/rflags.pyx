# rflags [CALLS [MS]]: sets NT and AC in RFLAGS (popfq lets ring 3 do that)
# and makes CALLS system calls that yield or block, so the kernel switches to
# other processes while it runs on this program's entry, then spins MS
# milliseconds with them set, so interrupts arrive with them.  The kernel must
# not run with them: an NT would make its next iretq raise #GP, an AC would
# turn SMAP off.  Exits 0 if its own NT and AC came back every time.
from libc.stdint cimport uint64_t
from user cimport sdk
from kwe.common cimport abi
from kwe.common.abi cimport EventSlot, Completion

cdef extern from *:
    """
    static inline uint64_t rflags_get(void) {
        uint64_t v;
        __asm__ volatile("pushfq; popq %0" : "=r"(v));
        return v;
    }
    static inline void rflags_set(uint64_t v) {
        __asm__ volatile("pushq %0; popfq" :: "r"(v) : "memory", "cc");
    }
    """
    uint64_t rflags_get() nogil
    void rflags_set(uint64_t v) nogil

cdef enum:
    RFLAGS_NT = 0x4000
    RFLAGS_AC = 0x40000

cdef void sleep_1ms() noexcept nogil:
    cdef Completion r
    cdef EventSlot* e = sdk.event(abi.OP_SLEEP)
    e.h.arg[0] = 1
    sdk.call(e, &r)                                     # blocks in kernel_notify(WAIT)

cdef bint spin(uint64_t ms, uint64_t bits) noexcept nogil:
    cdef uint64_t end = sdk.now_ms() + ms
    rflags_set(rflags_get() | bits)
    while sdk.now_ms() < end:
        pass
    return (rflags_get() & bits) == bits

cdef public int umain() noexcept nogil:
    cdef uint64_t calls = sdk.arg_u64(0, 40), ms = sdk.arg_u64(1, 0), i, lost = 0
    cdef uint64_t bits = RFLAGS_NT | RFLAGS_AC
    for i in range(calls):
        rflags_set(rflags_get() | bits)
        if i % 2:
            sleep_1ms()
        else:
            sdk.yield_cpu()
        if (rflags_get() & bits) != bits:
            lost += 1
    if not spin(ms, bits):
        lost += 1
    rflags_set(rflags_get() & ~bits)
    sdk.printf(b"rflags: %u calls with NT and AC set, %u came back without them\n", calls, lost)
    return 0 if lost == 0 else 1
