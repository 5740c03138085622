/*
 * switch_context(uint64_t *save_rsp, uint64_t load_rsp): the kernel-stack
 * switch between processes.  Saves the callee-saved registers on the
 * current stack, stores RSP in *save_rsp, loads load_rsp and pops the other
 * context's registers; `ret` then continues wherever that context called
 * switch_context -- or, for a new process, at trap_return, which enters
 * ring 3 through the TrapFrame built above it (see kwe.proc).
 */
        .intel_syntax noprefix
        .section .text
        .globl switch_context
switch_context:
        push    rbp
        push    rbx
        push    r12
        push    r13
        push    r14
        push    r15
        mov     [rdi], rsp
        mov     rsp, rsi
        pop     r15
        pop     r14
        pop     r13
        pop     r12
        pop     rbx
        pop     rbp
        ret
