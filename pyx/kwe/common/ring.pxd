# Single-producer single-consumer rings of fixed-size slots (abi.RingHeader
# followed by `size` slots), shared between a process and the kernel.  The
# same code runs on both sides: each side keeps its own index privately and
# only publishes it; the peer's index is read with acquire ordering and
# checked, because the other side may be buggy or hostile.
from libc.stdint cimport uint32_t, uint64_t
from kwe.common.abi cimport RingHeader

cdef struct Ring:               # one side's private view of a ring
    RingHeader* hdr             # the shared memory
    unsigned char* slots
    uint32_t size               # trusted copies (the shared ones may be overwritten)
    uint32_t slot_size
    uint32_t mine               # this side's index: head if producing, tail if consuming

# Lay out a new ring in `memory` (RING_HEADER_SIZE + size * slot_size bytes).
cdef void format(void* memory, uint32_t size, uint32_t slot_size) noexcept nogil
# Bytes a ring of `size` slots needs.
cdef uint64_t bytes_for(uint32_t size, uint32_t slot_size) noexcept nogil
cdef bint valid_size(uint32_t size) noexcept nogil
# Attach a producer or consumer view.  size/slot_size come from the side
# that made the ring, not from the shared header.
cdef void attach_producer(Ring* r, void* memory, uint32_t size, uint32_t slot_size) noexcept nogil
cdef void attach_consumer(Ring* r, void* memory, uint32_t size, uint32_t slot_size) noexcept nogil

# Producer: the next free slot (NULL when full), then publish it.
cdef void* produce_slot(Ring* r) noexcept nogil
cdef void produce(Ring* r) noexcept nogil
# Producer: the slot at its own head even when the peer's index says full.
# Only for a producer that reserved room before (the kernel's ResultRing):
# then "full" means the consumer moved its index wrongly, and it loses only
# what it claimed it had read.
cdef void* own_slot(Ring* r) noexcept nogil
# Producer: free slots, as this side can tell (0 when the peer's index makes no sense).
cdef uint32_t room(Ring* r) noexcept nogil
# Consumer: the next filled slot (NULL when empty), then release it.
cdef void* consume_slot(Ring* r) noexcept nogil
cdef void consume(Ring* r) noexcept nogil
# Slots filled and not yet consumed, as this side can tell.  A peer index
# that makes no sense (more than size apart) reads as corrupt.
cdef uint32_t pending(Ring* r) noexcept nogil
cdef bint corrupt(Ring* r) noexcept nogil
