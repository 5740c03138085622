# See hashmap.pxd.
from libc.stdint cimport uint64_t
from kwe.mm cimport heap
from kwe.mm.account cimport Account

cdef bint init_for(HashMap* m, uint64_t capacity, Account* owner) noexcept nogil:
    m.owner = owner
    return init(m, capacity)

cdef bint init(HashMap* m, uint64_t capacity) noexcept nogil:
    """m.owner is kept: put() calls this on a map that was only zeroed."""
    cdef uint64_t n = 8
    while n < capacity:
        n <<= 1
    m.buckets = <Entry**>heap.kzalloc_for(m.owner, n * sizeof(Entry*))
    m.nbuckets = n if m.buckets != NULL else 0
    m.min_buckets = n
    m.count = 0
    return m.buckets != NULL

cdef void destroy(HashMap* m) noexcept nogil:
    cdef uint64_t i
    cdef Entry* e
    cdef Entry* nxt
    for i in range(m.nbuckets):
        e = m.buckets[i]
        while e != NULL:
            nxt = e.next
            if not e.external:
                heap.kfree(e)
            e = nxt
    heap.kfree(m.buckets)
    m.buckets = NULL
    m.nbuckets = m.count = 0

cdef Entry* find(HashMap* m, uint64_t key) noexcept nogil:
    cdef Entry* e
    if m.nbuckets == 0:
        return NULL
    e = bucket(m, key)[0]
    while e != NULL and e.key != key:
        e = e.next
    return e

cdef void resize(HashMap* m, uint64_t n) noexcept nogil:
    """Rehash into n buckets; on failure keep the old ones (still correct)."""
    cdef uint64_t i
    cdef Entry** nb = <Entry**>heap.kzalloc_for(m.owner, n * sizeof(Entry*))
    cdef Entry* e
    cdef Entry* nxt
    if nb == NULL:
        return
    for i in range(m.nbuckets):
        e = m.buckets[i]
        while e != NULL:
            nxt = e.next
            e.next = nb[mix(e.key) & (n - 1)]
            nb[mix(e.key) & (n - 1)] = e
            e = nxt
    heap.kfree(m.buckets)
    m.buckets = nb
    m.nbuckets = n

cdef bint put(HashMap* m, uint64_t key, void* value) noexcept nogil:
    cdef Entry* e = find(m, key)
    cdef uint64_t b
    if e != NULL:
        e.value = value
        return True
    if m.nbuckets == 0 and not init(m, 8):
        return False
    e = <Entry*>heap.kmalloc_for(m.owner, sizeof(Entry))
    if e == NULL:
        return False
    e.external = False
    link(m, key, value, e)
    return True

cdef bint put_in(HashMap* m, uint64_t key, void* value, Entry* e) noexcept nogil:
    if m.nbuckets == 0 and not init(m, 8):
        return False
    e.external = True
    link(m, key, value, e)
    return True

cdef void link(HashMap* m, uint64_t key, void* value, Entry* e) noexcept nogil:
    cdef Entry** head = bucket(m, key)
    e.key, e.value, e.next = key, value, head[0]
    head[0] = e
    m.count += 1
    if m.count * 4 > m.nbuckets * 3:
        resize(m, m.nbuckets * 2)

cdef void* get(HashMap* m, uint64_t key) noexcept nogil:
    cdef Entry* e = find(m, key)
    return e.value if e != NULL else NULL

cdef bint contains(HashMap* m, uint64_t key) noexcept nogil:
    return find(m, key) != NULL

cdef void* remove(HashMap* m, uint64_t key) noexcept nogil:
    cdef Entry** link
    cdef Entry* e
    cdef void* v
    if m.nbuckets == 0:
        return NULL
    link = bucket(m, key)
    while link[0] != NULL and link[0].key != key:
        link = &link[0].next
    e = link[0]
    if e == NULL:
        return NULL
    link[0] = e.next
    v = e.value
    if not e.external:
        heap.kfree(e)
    m.count -= 1
    if m.count * 8 < m.nbuckets and m.nbuckets > m.min_buckets:
        resize(m, m.nbuckets / 2)
    return v

cdef Entry* next_entry(HashMap* m, uint64_t* cursor, Entry* entry) noexcept nogil:
    if entry != NULL and entry.next != NULL:
        return entry.next
    while cursor[0] < m.nbuckets:
        cursor[0] += 1
        if m.buckets[cursor[0] - 1] != NULL:
            return m.buckets[cursor[0] - 1]
    return NULL

# ---- hosted ----------------------------------------------------------------
from kwe.base import hal as _hal

cdef class PyHashMap:
    """A HashMap of int -> int (the value stored as a pointer-sized integer)."""
    cdef HashMap m
    cdef uint64_t machine          # hal.generation() when made

    def __cinit__(self, uint64_t capacity=8):
        self.machine = _hal.generation()
        if not init(&self.m, capacity):
            raise MemoryError()

    def __dealloc__(self):
        if <uint64_t>_hal.generation() == self.machine:         # its memory died with an earlier machine
            destroy(&self.m)

    def put(self, uint64_t key, uint64_t value):
        return put(&self.m, key, <void*>value)

    def get(self, uint64_t key):
        cdef Entry* e = find(&self.m, key)
        return None if e == NULL else <uint64_t>e.value

    def remove(self, uint64_t key):
        cdef Entry* e = find(&self.m, key)
        if e == NULL:
            return None
        return <uint64_t>remove(&self.m, key)

    def __len__(self):
        return self.m.count

    def buckets(self):
        return self.m.nbuckets

    def items(self):
        cdef uint64_t cursor = 0
        cdef Entry* e = next_entry(&self.m, &cursor, NULL)
        out = []
        while e != NULL:
            out.append((e.key, <uint64_t>e.value))
            e = next_entry(&self.m, &cursor, e)
        return out
