/*
 * Kernel entry from stage2: long mode, boot page tables, RDI = physical
 * address of the BootInfo block (identity-mapped).  Switch to the kernel's
 * boot stack, clear .bss, turn on the FPU/SSE units (the kernel itself is
 * built without SSE; user programs and the SIMD parts of the Operations deck
 * use them, saved per process), and call kmain (pyx/kwe/main.pyx).
 */
        .intel_syntax noprefix
        .section .text.entry, "ax"
        .globl _start
_start:
        cli
        lea     rsp, [rip + boot_stack_top]
        mov     r12, rdi
        lea     rdi, [rip + __bss_start]
        lea     rcx, [rip + __bss_end]
        sub     rcx, rdi
        xor     eax, eax
        cld
        rep stosb
        mov     rax, cr0
        and     rax, ~(1 << 2)            /* EM off: no x87 emulation */
        or      rax, (1 << 1) | (1 << 5)  /* MP, NE */
        mov     cr0, rax
        mov     rax, cr4
        or      rax, (1 << 9) | (1 << 10) /* OSFXSR, OSXMMEXCPT */
        mov     cr4, rax
        fninit
        xor     ebp, ebp                  /* end of the frame-pointer chain */
        mov     rdi, r12
        call    kmain
1:      cli
        hlt
        jmp     1b

        .section .bss
        .balign 16
        .globl boot_stack_top
boot_stack:
        .skip   16384
boot_stack_top:
