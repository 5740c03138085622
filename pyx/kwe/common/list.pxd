# Intrusive doubly linked lists: the links live inside the listed structs, so
# putting one on a list never allocates and taking it off anywhere is O(1).
# Used for the block cache's LRU, the run queue and the heap's slab lists.
#
# A struct joins lists by embedding a ListNode as its FIRST member: a
# ListNode* taken from a list is then a pointer to the struct (cast it back),
# and NULL stays NULL.  A node is on one list at a time; off lists its links
# are NULL, so zeroed memory is an unlinked node and an empty List.
#
# The bodies are here, inline, because without LTO a call into another module
# stays a real call, and these sit on the allocator's and scheduler's paths.
#
# Cimport it as `cimport kwe.common.list as lists`: in `from kwe.common
# cimport list`, Cython takes `list` for the builtin type.
from libc.stdint cimport uint64_t

cdef struct ListNode:
    ListNode* prev
    ListNode* next

cdef struct List:
    ListNode* head
    ListNode* tail
    uint64_t count

cdef inline void init(List* l) noexcept nogil:
    l.head = l.tail = NULL
    l.count = 0

cdef inline bint empty(List* l) noexcept nogil:
    return l.head == NULL

# For a node on l or on no list: only a head has no prev, and l knows its own.
cdef inline bint is_linked(List* l, ListNode* n) noexcept nogil:
    return n.prev != NULL or l.head == n

# n must be on no list.
cdef inline void push_front(List* l, ListNode* n) noexcept nogil:
    n.prev = NULL
    n.next = l.head
    if l.head != NULL:
        l.head.prev = n
    else:
        l.tail = n
    l.head = n
    l.count += 1

cdef inline void push_back(List* l, ListNode* n) noexcept nogil:
    n.next = NULL
    n.prev = l.tail
    if l.tail != NULL:
        l.tail.next = n
    else:
        l.head = n
    l.tail = n
    l.count += 1

# A no-op for a node on no list, so callers need no "queued" flag of their own.
cdef inline void remove(List* l, ListNode* n) noexcept nogil:
    if not is_linked(l, n):
        return
    if n.prev != NULL:
        n.prev.next = n.next
    else:
        l.head = n.next
    if n.next != NULL:
        n.next.prev = n.prev
    else:
        l.tail = n.prev
    n.prev = n.next = NULL
    l.count -= 1

cdef inline ListNode* pop_front(List* l) noexcept nogil:
    cdef ListNode* n = l.head
    if n != NULL:
        remove(l, n)
    return n
