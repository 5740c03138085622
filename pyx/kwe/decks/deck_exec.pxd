# Execution deck (0): always the last stop of a route.  Runs the process and
# workflow operations (spawn, exit, kill, register/run workflows), hands
# workflow nodes to the workflow engine, and for every other event writes
# its result -- status, error context, value, output -- to the owner's
# ResultRing and wakes the owner if it waits.
from kwe.events.guide cimport Event
cdef void init() noexcept nogil
cdef int handle(Event* e) noexcept nogil
