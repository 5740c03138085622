# A hash map from uint64 keys to pointers: chained buckets that double when
# the load passes 3/4 (no limit but memory) and halve again when it falls
# under 1/8, so a burst does not leave its memory behind.  Used for the
# process table, the workflow registry and the runs.
from libc.stdint cimport uint64_t
from kwe.mm.account cimport Account

# splitmix64's finaliser: sequential pids and ids spread over all buckets
# (TCP seeds its keys and sequence numbers with it too).
cdef inline uint64_t mix(uint64_t k) noexcept nogil:
    k ^= k >> 30
    k *= <uint64_t>0xBF58476D1CE4E5B9U
    k ^= k >> 27
    k *= <uint64_t>0x94D049BB133111EBU
    return k ^ (k >> 31)

cdef struct Entry:
    uint64_t key
    void* value
    Entry* next
    bint external               # the caller's memory (put_in): never freed by the map

cdef struct HashMap:
    Entry** buckets
    uint64_t nbuckets           # a power of two
    uint64_t count
    uint64_t min_buckets        # never shrinks below what init() asked for
    Account* owner              # the process its memory is charged to (NULL: the kernel)

# The bucket key's chain starts in (the map must have buckets).
cdef inline Entry** bucket(HashMap* m, uint64_t key) noexcept nogil:
    return &m.buckets[mix(key) & (m.nbuckets - 1)]

cdef bint init(HashMap* m, uint64_t capacity) noexcept nogil
# The same, its buckets and entries charged to owner (a process's map).
cdef bint init_for(HashMap* m, uint64_t capacity, Account* owner) noexcept nogil
cdef void destroy(HashMap* m) noexcept nogil
# Insert or replace.  False only when memory runs out (the map is unchanged).
cdef bint put(HashMap* m, uint64_t key, void* value) noexcept nogil
# Insert with the caller's entry (inside the value, say): no allocation, so a
# hot path that comes and goes does no heap work.  The key must be absent.
# False only when a map that never had buckets cannot get them.
cdef bint put_in(HashMap* m, uint64_t key, void* value, Entry* e) noexcept nogil
cdef void* get(HashMap* m, uint64_t key) noexcept nogil
cdef bint contains(HashMap* m, uint64_t key) noexcept nogil
# Remove and return the value (NULL if absent).
cdef void* remove(HashMap* m, uint64_t key) noexcept nogil
# Iterate: start with *cursor = 0 and *entry = NULL; returns NULL at the end.
# The map must not change while iterating.
cdef Entry* next_entry(HashMap* m, uint64_t* cursor, Entry* entry) noexcept nogil
