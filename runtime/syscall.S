/*
 * SYSCALL entry: kernel_notify(workflow_id, flags) from ring 3.
 *
 * The CPU leaves RCX = user RIP, R11 = user RFLAGS, clears IF (FMASK) and
 * does not switch stacks, so this stub moves to the current process's
 * kernel stack (kwe_syscall_stack, set by the scheduler) and builds the
 * same struct TrapFrame as an interrupt, with vector 0x100.  A process that
 * blocks inside kwe_syscall resumes here later, on its own kernel stack.
 * The frame's RIP is checked canonical by the kernel before returning,
 * since SYSRET to a non-canonical RIP would fault in ring 0.
 */
        .intel_syntax noprefix
        .section .text
        .globl syscall_entry
syscall_entry:
        mov     [rip + syscall_user_rsp], rsp
        mov     rsp, [rip + kwe_syscall_stack]
        push    0x1B                          /* ss: user data */
        push    [rip + syscall_user_rsp]      /* rsp */
        push    r11                           /* rflags */
        push    0x23                          /* cs: user code */
        push    rcx                           /* rip */
        push    0                             /* error code */
        push    0x100                         /* vector: a syscall frame */
        push    rax
        push    rbx
        push    rcx
        push    rdx
        push    rsi
        push    rdi
        push    rbp
        push    r8
        push    r9
        push    r10
        push    r11
        push    r12
        push    r13
        push    r14
        push    r15
        cld
        mov     rdi, rsp
        call    kwe_syscall
        pop     r15
        pop     r14
        pop     r13
        pop     r12
        pop     r11
        pop     r10
        pop     r9
        pop     r8
        pop     rbp
        pop     rdi
        pop     rsi
        pop     rdx
        pop     rcx
        pop     rbx
        pop     rax
        add     rsp, 16                       /* vector, error code */
        mov     rcx, [rsp]                    /* rip */
        mov     r11, [rsp + 16]               /* rflags */
        mov     rsp, [rsp + 24]               /* user rsp */
        sysretq

        .section .bss
        .balign 8
        .globl kwe_syscall_stack
kwe_syscall_stack:
        .quad   0
syscall_user_rsp:
        .quad   0
