"""arch: the x86_64 CPU.

Owns segments, the TSS and its IST stacks (gdt), the interrupt table (idt), exception and
interrupt dispatch with fault dumps (traps) and user FPU/SSE state (fpu).
May use: common, base, mm, lib, debug.
"""
