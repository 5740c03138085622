"""tasks: processes.

Owns ELF loading (elf), the scheduling policy (sched), processes, their address spaces,
rings and switching (proc), starting programs stored in TagFS (programs) and open files
(fd).  May use: every part before it (common .. net).
"""
