# Hardware deck (2): timers (OP_SLEEP completes after its milliseconds,
# while other events go on), the tick counter and TSC, the console, and
# OP_FLAKY, an operation that fails transiently on purpose (for retries).
# The console's input and who owns it: kwe.decks.tty.
from kwe.events.guide cimport Event
cdef int handle(Event* e) noexcept nogil
