# The console's input (Hardware deck): who reads what is typed.
#
# One process owns the console's input at a time.  The first reader takes
# a console nobody owns; the owner (or a process above it) hands it to
# itself or a descendant with OP_CONSOLE_GIVE -- a shell to its foreground
# job -- and when that process ends the console goes back to whoever gave
# it.  Typed bytes wait in a buffer (console_buffer= bytes, default 4096;
# past it they stay in the device queues) until the owner reads; a read
# from anybody else waits until the console is theirs.  Ctrl-C (byte 3)
# ends an owner that was given the console (EXIT_KILLED) and drops what was
# typed for it; to an owner that took the console itself (the shell) it is
# an ordinary byte.
from libc.stdint cimport uint32_t
from kwe.events.guide cimport Event
from kwe.tasks.proc cimport Process

cdef enum:
    CTRL_C = 3
    DEFAULT_BUFFER = 4096
    READ_MAX = 4096             # bytes one OP_CONSOLE_READ returns at most

cdef void init() noexcept nogil
cdef uint32_t owner() noexcept nogil
# OP_CONSOLE_READ: DECK_DONE (bytes, or an error) or DECK_HELD until typed.
cdef int read(Event* e) noexcept nogil
cdef void give(Event* e) noexcept nogil        # OP_CONSOLE_GIVE
# Take what the devices received, act on Ctrl-C, answer waiting reads
# (the kernel's deferred work: after interrupts, in the idle loop).
cdef void poll() noexcept nogil
# p ended: its waiting reads go, and the console goes back if it was p's.
cdef void drop_process(Process* p) noexcept nogil
