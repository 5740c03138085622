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
#include "trapframe.inc"
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
        SAVE_REGS
        cld
        mov     rdi, rsp
        call    kwe_syscall
        RESTORE_REGS
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
