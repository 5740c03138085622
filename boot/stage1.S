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
#include "realmode.inc"
        .section .text
        .globl _start
_start:
        FLAT_SEGMENTS 0x7C00
        mov     [boot_drive], dl

        mov     si, offset dap            /* INT 13h AH=42h: extended (LBA) read */
        mov     ah, 0x42
        int     0x13
        jc      disk_error
        mov     dl, [boot_drive]
        ljmp    0, STAGE2_CODE

disk_error:
        mov     si, offset msg
        FAIL_WITH_MESSAGE

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
