/*
 * KWE stage1: the 512-byte MBR.  The BIOS loads it at 0x7C00 with the boot
 * drive in DL.  Its only job is to read the stage2 region (LBA 1..32: the
 * boot header sector followed by stage2's code) to 0x8000 and jump to
 * stage2's code at 0x8200.  On a disk error it says so on COM1 and ends
 * QEMU through isa-debug-exit, so a broken image never hangs a test.
 */
#include "bootdefs.h"
        .code16
        .intel_syntax noprefix
        .section .text
        .globl _start
_start:
        cli
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, 0x7C00
        sti
        mov     [boot_drive], dl

        mov     si, offset dap            /* INT 13h AH=42h: extended (LBA) read */
        mov     ah, 0x42
        int     0x13
        jc      disk_error
        mov     dl, [boot_drive]
        ljmp    0, STAGE2_CODE

disk_error:
        mov     si, offset msg
        mov     dx, COM1
1:      lodsb
        test    al, al
        jz      2f
        out     dx, al
        jmp     1b
2:      mov     al, EXIT_BOOT_FAILED      /* QEMU exits with (al << 1) | 1 */
        out     DEBUG_EXIT_PORT, al
        cli
3:      hlt
        jmp     3b

        .balign 4
dap:    .byte   16, 0                     /* disk address packet */
        .word   STAGE2_SECTORS            /* sectors to read */
        .word   STAGE2_BASE, 0            /* offset, segment */
        .quad   1                         /* first LBA */
boot_drive:
        .byte   0
msg:    .asciz  "KWE stage1: disk read failed\r\n"

        .org    510
        .word   0xAA55
