# counter LETTER COUNT MS: prints "L0 L1 ..." COUNT times, burning MS
# milliseconds of CPU before each, and never yields -- so only preemption
# lets other processes run in between.
from libc.stdint cimport uint64_t
from user cimport sdk

cdef void burn(uint64_t ms) noexcept nogil:
    cdef uint64_t end = sdk.now_ms() + ms
    while sdk.now_ms() < end:
        pass

cdef public int umain() noexcept nogil:
    cdef char letter[8]
    cdef uint64_t count = sdk.arg_u64(1, 10), ms = sdk.arg_u64(2, 20), i
    if sdk.arg(0, letter, sizeof(letter)) <= 0:
        letter[0], letter[1] = c'?', 0
    for i in range(count):
        burn(ms)
        sdk.printf(b"%s%u ", <uint64_t>letter, i)
    sdk.printf(b"\ncounter %s done\n", <uint64_t>letter)
    return 0
