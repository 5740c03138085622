"""events: from a ring to a result.

Owns the one system call (syscall: kernel_notify), the Guide that takes events off
EventRings and routes them to decks (guide), ResultRings and their backlog (results) and
the DAG workflow engine (workflow).  May use: every part before it (common .. tasks).
The Guide never names a deck: init/engine registers each deck's handler (guide.set_deck).
"""
