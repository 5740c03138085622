# See list.pxd: the whole list is inline there.  This module only gives the
# hosted tests a list of numbered nodes.
from libc.stdlib cimport calloc, free

cdef class PyList:
    cdef List l
    cdef ListNode* nodes
    cdef int n

    def __cinit__(self, int nnodes):
        self.nodes = <ListNode*>calloc(nnodes, sizeof(ListNode))
        self.n = nnodes
        init(&self.l)

    def __dealloc__(self):
        free(self.nodes)

    cdef object index(self, ListNode* node):
        return None if node == NULL else <int>(node - self.nodes)

    def push_front(self, int i):
        push_front(&self.l, &self.nodes[i])

    def push_back(self, int i):
        push_back(&self.l, &self.nodes[i])

    def remove(self, int i):
        remove(&self.l, &self.nodes[i])

    def pop_front(self):
        return self.index(pop_front(&self.l))

    def is_linked(self, int i):
        return is_linked(&self.l, &self.nodes[i])

    def empty(self):
        return empty(&self.l)

    def links(self, int i):
        """(prev, next) of node i as indices, None for NULL."""
        return self.index(self.nodes[i].prev), self.index(self.nodes[i].next)

    cdef object walk(self, ListNode* node, bint forward):
        out = []
        while node != NULL and len(out) <= self.n:     # a cycle ends the walk too
            out.append(<int>(node - self.nodes))
            node = node.next if forward else node.prev
        return out

    def forward(self):
        return self.walk(self.l.head, True)

    def backward(self):
        return self.walk(self.l.tail, False)

    def __len__(self):
        return self.l.count
