/*
 * Interrupt and exception entry.  Vector N's stub sits at trap_stubs + 16*N
 * (kwe.idt points the IDT there).  Each stub pushes a zero error code where
 * the CPU pushes none, then the vector, and joins trap_common, which saves
 * the general registers into a struct TrapFrame (pyx/kwe/traps.pxd) and
 * calls kwe_trap(frame).  Returning restores the frame, which the kernel
 * may have changed (e.g. to switch processes), and irets.
 *
 * No FPU/SSE state is saved here: kernel code is built without SSE, and
 * the scheduler switches user FPU state with the process.
 */
        .intel_syntax noprefix
#include "trapframe.inc"
        .altmacro

        .macro STUB n
        .balign 16
        .if (\n == 8) || (\n == 10) || (\n == 11) || (\n == 12) || (\n == 13) || (\n == 14) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
        .else
        push    0
        .endif
        push    \n
        jmp     trap_common
        .endm

        .section .text
        .balign 16
        .globl trap_stubs
trap_stubs:
        .set    vector, 0
        .rept   256
        STUB    %vector
        .set    vector, vector + 1
        .endr

trap_common:
        SAVE_REGS
        /* Kernel RFLAGS from a clean slate.  Entry clears only IF, TF, NT and
         * RF: a DF or AC from ring 3 would still be set, and AC turns SMAP off. */
        push    2
        popfq
        mov     rdi, rsp
        call    kwe_trap
        .globl trap_return
trap_return:                      /* also where a new process first runs */
        RESTORE_REGS
        add     rsp, 16           /* vector, error code */
        iretq
