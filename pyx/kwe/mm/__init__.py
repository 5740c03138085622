"""mm: memory.

Owns physical pages (pmm, a bitmap over E820), the kernel heap (heap: slabs and page runs),
address spaces (vmm: 4-level paging), guarded kernel stacks (kstack), kernel mappings of
user pages (kmap) and checked copies from and to user memory (uaccess).
May use: common, base.
"""
