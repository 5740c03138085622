"""decks: where events are served.

Execution (deck_exec, 0), Operations (deck_ops with simd, the SSE float32 vectors, 1),
Hardware (deck_hw with tty, the console's input, 2), Storage (deck_storage, 3), Network (deck_net, 4).
May use: every part before it (common .. events).
"""
