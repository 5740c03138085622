# See tty.pxd.
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from kwe.common cimport abi
from kwe.events cimport guide
from kwe.tasks cimport proc
from kwe.dev cimport input
from kwe.mm cimport heap
from kwe.base cimport cmdline
from kwe.events.guide cimport Event
from kwe.tasks.proc cimport Process

cdef uint8_t* typed = NULL          # bytes typed, not read yet (a ring of cap bytes)
cdef uint64_t cap = 0, head = 0, tail = 0
cdef uint32_t console_owner = 0
cdef Event* readers = NULL          # reads waiting, oldest first

cdef void init() noexcept nogil:
    global typed, cap, head, tail, console_owner, readers
    heap.kfree(typed)
    cap = cmdline.get_u64(b"console_buffer", DEFAULT_BUFFER)
    typed = <uint8_t*>heap.kmalloc(cap) if cap else NULL
    if typed == NULL:
        cap = 0
    head = tail = 0
    console_owner = 0
    readers = NULL

cdef uint32_t owner() noexcept nogil:
    return console_owner

# ---- typed bytes -----------------------------------------------------------------
cdef void interrupt() noexcept nogil:
    """Ctrl-C: end an owner that was given the console; a shell gets the byte."""
    global tail
    cdef Process* p = proc.find(console_owner)
    if p == NULL or p.console_from == 0:
        keep(CTRL_C)
        return
    tail = head                             # what was typed for it goes with it
    proc.request_exit(p, proc.EXIT_KILLED)

cdef void keep(uint8_t c) noexcept nogil:
    global head
    typed[head % cap] = c
    head += 1

cdef void take_input() noexcept nogil:
    cdef int src, c
    for src in range(input.SOURCES):
        while head - tail < cap:
            c = input.pop(src)
            if c < 0:
                break
            if c == CTRL_C:
                interrupt()
            else:
                keep(<uint8_t>c)

cdef uint32_t hand_over(Event* e) noexcept nogil:
    """Move up to arg[0] typed bytes into e's output; how many."""
    global tail
    cdef uint64_t n = head - tail, i
    cdef uint8_t* out
    if n > e.h.arg[0]:
        n = e.h.arg[0]
    out = <uint8_t*>guide.alloc_for(e, n)
    if out == NULL:
        e.status = abi.E_NOMEM
        return 0
    for i in range(n):
        out[i] = typed[(tail + i) % cap]
    tail += n
    guide.set_output(e, out, <uint32_t>n)
    e.value = n
    return <uint32_t>n

cdef bint claim(uint32_t pid) noexcept nogil:
    """Whether pid reads now: it owns the console, or nobody does (it takes it)."""
    global console_owner
    if console_owner == 0 or proc.find(console_owner) == NULL:
        console_owner = pid
    return console_owner == pid

# ---- reads --------------------------------------------------------------------------
cdef bint owner_waiting() noexcept nogil:
    cdef Event* e = readers
    while e != NULL and e.pid != console_owner:
        e = e.next
    return e != NULL

cdef int read(Event* e) noexcept nogil:
    """Never takes input itself (poll does): ending a Ctrl-C'd process from
    inside its own read would leave this event to a process that is gone."""
    global readers
    cdef Event** link = &readers
    if e.h.arg[0] == 0 or e.h.arg[0] > READ_MAX:
        e.status = abi.E_RANGE
        return guide.DECK_DONE
    if cap == 0:
        e.status = abi.E_NOMEM                  # console_buffer=0, or no memory for it
        return guide.DECK_DONE
    if claim(e.pid) and head != tail and not owner_waiting():
        hand_over(e)
        return guide.DECK_DONE
    while link[0] != NULL:
        link = &link[0].next
    e.next = NULL
    link[0] = e
    return guide.DECK_HELD

cdef void answer() noexcept nogil:
    """Typed bytes to the owner's oldest waiting read."""
    cdef Event** link = &readers
    cdef Event* e
    while head != tail and link[0] != NULL:
        e = link[0]
        if claim(e.pid):
            link[0] = e.next
            e.next = NULL
            hand_over(e)
            guide.resume(e)
        else:
            link = &e.next

cdef void poll() noexcept nogil:
    if cap == 0:
        return
    take_input()
    answer()

# ---- who owns it ---------------------------------------------------------------------
cdef bint may_give(Process* by, Process* to) noexcept nogil:
    cdef Process* now = proc.find(console_owner)
    if to == NULL or by == NULL:
        return False
    if not (to == by or proc.descends_from(to, by.pid)):
        return False
    return now == NULL or now == by or proc.descends_from(now, by.pid)

cdef void give(Event* e) noexcept nogil:
    global console_owner
    cdef Process* by = proc.find(e.pid)
    cdef Process* to = proc.find_arg(e.h.arg[0])
    if to == NULL:
        e.status = abi.E_NOENT
        return
    if not may_give(by, to):
        e.status = abi.E_PERM
        return
    if to != by:
        to.console_from = by.pid
    console_owner = to.pid
    e.value = to.pid
    answer()

cdef void drop_process(Process* p) noexcept nogil:
    global console_owner
    guide.release_held(&readers, p)
    if console_owner == p.pid:
        console_owner = p.console_from if proc.find(p.console_from) != NULL else 0
        answer()

# ---- hosted ----------------------------------------------------------------------------
def py_init():
    init()

def py_owner():
    return console_owner

def py_poll():
    poll()

def py_drop_process(uint32_t pid):
    """Hosted: what the exit hook does for the console when pid ends."""
    cdef Process* p = proc.find(pid)
    if p != NULL:
        drop_process(p)
