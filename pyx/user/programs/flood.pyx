# flood N: N CRC32 events through 16-slot rings (spawn it with ring sizes 16).
# The EventRing fills, so the SDK submits and waits for room; the ResultRing
# overflows, so the kernel keeps results in its backlog.  Checks every
# result arrives once, in order, with the right CRC.
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from user cimport sdk
from kwe.common cimport abi, operations
from kwe.common.abi cimport EventSlot, ResultSlot

cdef public int umain() noexcept nogil:
    cdef uint64_t n = sdk.arg_u64(0, 1000), i, got = 0, backlogged = 0, bad = 0
    cdef uint32_t x
    cdef EventSlot* e
    cdef ResultSlot r
    for i in range(n):
        e = sdk.event(abi.OP_CRC32)
        x = <uint32_t>i
        sdk.set_input(e, &x, 4)
        sdk.commit()
    sdk.submit()
    while got < n:
        sdk.wait_result(&r)
        x = <uint32_t>got
        if r.h.event_id != got + 1 or r.h.value != operations.crc32(0, <uint8_t*>&x, 4):
            bad += 1
        if r.h.flags & abi.RF_BACKLOG:
            backlogged += 1
        got += 1
    sdk.printf(b"flood: %u results for %u events, %u wrong, %u came through the backlog (rings of %u/%u)\n",
               got, n, bad, backlogged, sdk.info().event_ring_size, sdk.info().result_ring_size)
    return 0 if bad == 0 else 1
