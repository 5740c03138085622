# See ring.pxd.  Indexes are free-running 32-bit counters; slot = index &
# (size - 1).  Ordering: the producer writes the slot, then stores head with
# release; the consumer loads head with acquire before reading the slot, and
# stores tail with release after it is done.  On x86 these are plain moves
# kept in order; the builtins also stop the compiler from reordering.
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memset
from kwe.common.abi cimport RingHeader, RING_HEADER_SIZE, RING_MIN, RING_MAX

cdef extern from *:
    """
    #define kwe_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
    #define kwe_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
    """
    uint32_t load_acquire "kwe_load_acquire"(uint32_t* p) nogil
    void store_release "kwe_store_release"(uint32_t* p, uint32_t v) nogil

cdef bint valid_size(uint32_t size) noexcept nogil:
    return RING_MIN <= size <= RING_MAX and (size & (size - 1)) == 0

cdef uint64_t bytes_for(uint32_t size, uint32_t slot_size) noexcept nogil:
    return RING_HEADER_SIZE + <uint64_t>size * slot_size

cdef void format(void* memory, uint32_t size, uint32_t slot_size) noexcept nogil:
    cdef RingHeader* h = <RingHeader*>memory
    memset(h, 0, RING_HEADER_SIZE)
    h.size = size
    h.slot_size = slot_size

cdef void attach(Ring* r, void* memory, uint32_t size, uint32_t slot_size) noexcept nogil:
    r.hdr = <RingHeader*>memory
    r.slots = <unsigned char*>memory + RING_HEADER_SIZE
    r.size = size
    r.slot_size = slot_size

cdef void attach_producer(Ring* r, void* memory, uint32_t size, uint32_t slot_size) noexcept nogil:
    attach(r, memory, size, slot_size)
    r.mine = load_acquire(&r.hdr.head)

cdef void attach_consumer(Ring* r, void* memory, uint32_t size, uint32_t slot_size) noexcept nogil:
    attach(r, memory, size, slot_size)
    r.mine = load_acquire(&r.hdr.tail)

cdef inline void* slot(Ring* r, uint32_t index) noexcept nogil:
    return r.slots + <uint64_t>(index & (r.size - 1)) * r.slot_size

cdef void* produce_slot(Ring* r) noexcept nogil:
    cdef uint32_t tail = load_acquire(&r.hdr.tail)
    cdef uint32_t used = r.mine - tail
    if used >= r.size:                 # full (or a tail from the future: treat as full)
        return NULL
    return slot(r, r.mine)

cdef void* own_slot(Ring* r) noexcept nogil:
    return slot(r, r.mine)

cdef uint32_t room(Ring* r) noexcept nogil:
    cdef uint32_t used = r.mine - load_acquire(&r.hdr.tail)
    return r.size - used if used <= r.size else 0

cdef void produce(Ring* r) noexcept nogil:
    r.mine += 1
    store_release(&r.hdr.head, r.mine)

cdef void* consume_slot(Ring* r) noexcept nogil:
    cdef uint32_t head = load_acquire(&r.hdr.head)
    cdef uint32_t avail = head - r.mine
    if avail == 0 or avail > r.size:   # empty, or nonsense
        return NULL
    return slot(r, r.mine)

cdef void consume(Ring* r) noexcept nogil:
    r.mine += 1
    store_release(&r.hdr.tail, r.mine)

cdef uint32_t pending(Ring* r) noexcept nogil:
    cdef uint32_t n = load_acquire(&r.hdr.head) - load_acquire(&r.hdr.tail)
    return n if n <= r.size else 0

cdef bint corrupt(Ring* r) noexcept nogil:
    return load_acquire(&r.hdr.head) - load_acquire(&r.hdr.tail) > r.size

# ---- hosted: a ring in a Python-owned buffer, driven from both ends ---------
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy

cdef class PyRing:
    """Both ends of one ring over a private buffer (for tests)."""
    cdef void* mem
    cdef Ring prod
    cdef Ring cons

    def __cinit__(self, uint32_t size, uint32_t slot_size=8):
        if not valid_size(size):
            raise ValueError("ring size must be a power of two in [16, 32768]")
        self.mem = malloc(bytes_for(size, slot_size))
        format(self.mem, size, slot_size)
        attach_producer(&self.prod, self.mem, size, slot_size)
        attach_consumer(&self.cons, self.mem, size, slot_size)

    def __dealloc__(self):
        free(self.mem)

    def push(self, bytes item):
        """Copy item into the next slot; False when the ring is full."""
        cdef void* s = produce_slot(&self.prod)
        if s == NULL:
            return False
        memcpy(s, <const char*>item, min(len(item), self.prod.slot_size))
        produce(&self.prod)
        return True

    def pop(self):
        """The next slot's bytes, or None when empty."""
        cdef void* s = consume_slot(&self.cons)
        if s == NULL:
            return None
        out = (<char*>s)[:self.cons.slot_size]
        consume(&self.cons)
        return out

    def pending(self):
        return pending(&self.cons)

    def poke_head(self, uint32_t v):
        """Overwrite the shared head, as a hostile producer could."""
        self.prod.hdr.head = v

    def corrupt(self):
        return corrupt(&self.cons)
