"""KWE, the Kernel Workflow Engine: the kernel's Cython modules, built hosted.

Each submodule here is the same .pyx that is linked into kernel.elf; in this
hosted build the hardware boundary (kwe.base.hal) is a simulated machine.
"""
