# flood N: N CRC32 events through 16-slot rings (spawn it with ring sizes 16).
# The EventRing fills, so the SDK submits and waits for room; the ResultRing
# has room for only 16 completions, so the kernel takes events only as the
# program reads completions (kernel_notify says how many it took) and never
# holds one for it.  Checks every result arrives once, in order, with the
# right CRC, and counts the SUBMITs that took fewer events than offered.
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from user cimport sdk
from kwe.common cimport abi, operations
from kwe.common.abi cimport EventSlot, Completion

cdef uint64_t got = 0, bad = 0, short_takes = 0

cdef void check(Completion* r) noexcept nogil:
    global got, bad
    cdef uint32_t x = <uint32_t>got
    if r.event_id != got + 1 or r.value != operations.crc32(0, <uint8_t*>&x, 4):
        bad += 1
    got += 1

cdef void read_all() noexcept nogil:
    cdef Completion r
    while sdk.take(&r):
        check(&r)

cdef public int umain() noexcept nogil:
    global short_takes
    cdef uint64_t n = sdk.arg_u64(0, 1000), i
    cdef uint32_t x
    cdef EventSlot* e
    sdk.on_result(check)                    # what the SDK reaps to make room
    for i in range(n):
        e = sdk.event(abi.OP_CRC32)         # a full EventRing: the SDK offers it and reaps
        x = <uint32_t>i
        sdk.set_input(e, &x, 4)
        sdk.commit()
        if sdk.unsent() == sdk.info().event_ring_size:
            sdk.submit()
            if sdk.unsent() > 0:            # the ResultRing had room for fewer: read, then go on
                short_takes += 1
                read_all()
    while got < n:
        sdk.submit()
        read_all()
        if got < n:
            sdk.await_completion()
    sdk.printf(b"flood: %u results for %u events, %u wrong, %u submits took fewer than offered (rings of %u/%u)\n",
               got, n, bad, short_takes, sdk.info().event_ring_size, sdk.info().result_ring_size)
    return 0 if bad == 0 else 1
