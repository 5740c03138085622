/*
 * User programs' entry and their one system call.  The kernel starts a
 * process at _start with RSP at the top of its stack and RDI = &UserInfo;
 * the SDK (pyx/user/sdk.pyx) does the rest.
 */
        .intel_syntax noprefix
        .section .text.entry, "ax"
        .globl _start
_start:
        xor     ebp, ebp
        and     rsp, -16
        call    kwe_user_start              /* never returns */
        ud2

/* int64_t kernel_notify(uint64_t workflow_id, uint64_t flags): RDI, RSI -> RAX. */
        .section .text
        .globl kernel_notify
kernel_notify:
        syscall                             /* clobbers RCX and R11 */
        ret
