# Network deck (4): sockets as events (docs/net.md).  Each operation is one
# event, so sockets are DAG nodes like any other: a recv can feed a CRC
# node, a send can wait on a Storage read.  Operations that must wait
# (a recv with nothing queued, an accept with nobody connecting, a connect
# in progress, a send with the buffer full) are held and answered when the
# stack wakes their socket.  The stack itself runs as deferred work (poll)
# after the card's interrupt and on timer ticks.
from kwe.events.guide cimport Event
from kwe.tasks.proc cimport Process

cdef void init() noexcept nogil
cdef int handle(Event* e) noexcept nogil
# Take what the card received (at most a budget of frames) and run the
# stack's timers; True if frames may still be waiting.
cdef bint poll() noexcept nogil
# p ended: its waiting events go and its sockets close.
cdef void drop_process(Process* p) noexcept nogil
