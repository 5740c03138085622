"""arch: the x86_64 CPU.

Owns segments, the TSS and its IST stacks (gdt), the interrupt table (idt), exception and
interrupt dispatch with fault dumps (traps), user FPU/SSE state (fpu) and the CPU's protections
of the kernel from ring 3: SMEP, SMAP, UMIP (cpu).
May use: common, base, mm, lib, debug.
"""
