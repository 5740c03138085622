/*
 * KWE stage2, entered from stage1 at 0x8200 in real mode with DL = boot
 * drive.  In order: E820 memory map into the BootInfo block, A20 on, the
 * kernel image read from disk to 1 MiB (through a low bounce buffer, copied
 * up in unreal mode), boot page tables, long mode, and a jump to the
 * kernel's 64-bit entry with RDI = &BootInfo.
 *
 * The boot page tables map the first 1 GiB three times with 2 MiB pages:
 * identity (so this code keeps running), at 0xFFFF800000000000 (the
 * kernel's direct map) and at 0xFFFFFFFF80000000 (the kernel image).
 * The kernel builds its own tables later; these only have to get it there.
 */
#include "bootdefs.h"
        .code16
        .intel_syntax noprefix
#include "realmode.inc"
        .section .text
        .globl _start
_start:
        FLAT_SEGMENTS BOOT_STACK
        cld
        mov     di, BOOTINFO              /* BootInfo starts zeroed */
        mov     cx, 4096 / 2
        xor     ax, ax
        rep stosw
        mov     dword ptr [BOOTINFO + BI_MAGIC], BOOTINFO_MAGIC
        mov     dword ptr [BOOTINFO + BI_HEADER], STAGE2_BASE
        mov     [BOOTINFO + BI_BOOT_DRIVE], dl
        rdtsc
        mov     [BOOTINFO + BI_TSC], eax
        mov     [BOOTINFO + BI_TSC + 4], edx

        call    check_long_mode
        call    read_e820
        call    enable_a20
        call    load_kernel
        call    build_page_tables
        jmp     enter_long_mode

/* CPUID 0x80000001: EDX bit 29 = long mode, bit 20 = NX (we set EFER.NXE). */
check_long_mode:
        mov     eax, 0x80000000
        cpuid
        cmp     eax, 0x80000001
        jb      no_long_mode
        mov     eax, 0x80000001
        cpuid
        bt      edx, 29
        jnc     no_long_mode
        bt      edx, 20
        jnc     no_long_mode
        ret
no_long_mode:
        mov     si, offset msg_cpu
        jmp     fail

/* BootInfo.e820[] gets up to E820_MAX 24-byte entries; the count goes last. */
read_e820:
        mov     di, BOOTINFO + BI_E820
        xor     ebx, ebx
        xor     bp, bp
1:      mov     eax, 0xE820
        mov     edx, 0x534D4150           /* 'SMAP' */
        mov     ecx, 24
        mov     dword ptr [di + 20], 1    /* ext. attributes: valid, if BIOS gives 20 bytes */
        int     0x15
        jc      2f
        cmp     eax, 0x534D4150
        jne     2f
        jcxz    3f                        /* empty entry: skip it */
        inc     bp
        add     di, 24
        cmp     bp, E820_MAX
        jae     2f
3:      test    ebx, ebx
        jnz     1b
2:      mov     [BOOTINFO + BI_E820_COUNT], bp
        test    bp, bp
        jz      no_memory_map
        ret
no_memory_map:
        mov     si, offset msg_e820
        jmp     fail

enable_a20:                               /* "fast A20" through port 0x92 */
        in      al, 0x92
        or      al, 2
        and     al, 0xFE                  /* bit 0 would reset the machine */
        out     0x92, al
        ret

/*
 * Unreal mode: load DS/ES from a flat 4 GiB descriptor in protected mode and
 * drop back to real mode; the cached 4 GiB limit stays, so 32-bit addresses
 * work for the copy to 1 MiB.  BIOS calls may reload the segments, so this
 * runs again after every read.
 */
enter_unreal:
        cli
        lgdt    [gdt_desc]
        mov     eax, cr0
        or      al, 1
        mov     cr0, eax
        mov     bx, 0x10
        mov     ds, bx
        mov     es, bx
        and     al, 0xFE
        mov     cr0, eax
        xor     bx, bx
        mov     ds, bx
        mov     es, bx
        sti
        ret

/* Read kernel_sectors from kernel_lba, CHUNK_SECTORS at a time, to 1 MiB. */
load_kernel:
        mov     eax, [STAGE2_BASE + HDR_KERNEL_LBA]
        mov     [dap_lba], eax
        mov     ecx, [STAGE2_BASE + HDR_KERNEL_SECTORS]
        mov     edi, KERNEL_LOAD
1:      test    ecx, ecx
        jz      3f
        mov     ebx, CHUNK_SECTORS
        cmp     ecx, ebx
        jae     2f
        mov     ebx, ecx
2:      mov     [dap_count], bx
        push    ecx
        push    edi
        push    ebx
        mov     si, offset dap
        mov     ah, 0x42
        mov     dl, [BOOTINFO + BI_BOOT_DRIVE]
        int     0x13
        jc      disk_error
        call    enter_unreal
        pop     ebx
        pop     edi
        mov     esi, BOUNCE_SEG << 4
        mov     ecx, ebx
        shl     ecx, 7                    /* 128 dwords per sector */
        cld
        addr32 rep movsd
        pop     ecx
        sub     ecx, ebx
        add     [dap_lba], ebx
        jmp     1b
3:      ret
disk_error:
        mov     si, offset msg_disk
        jmp     fail

/* PML4[0] and PML4[256] -> PDPT_LOW, PML4[511] -> PDPT_HIGH; both -> one PD of 2 MiB pages. */
build_page_tables:
        cld
        xor     eax, eax
        mov     edi, BOOT_PML4
        mov     ecx, 4 * 4096 / 4
        rep stosd
        mov     dword ptr [BOOT_PML4 + 0 * 8], BOOT_PDPT_LOW + 3
        mov     dword ptr [BOOT_PML4 + 256 * 8], BOOT_PDPT_LOW + 3
        mov     dword ptr [BOOT_PML4 + 511 * 8], BOOT_PDPT_HIGH + 3
        mov     dword ptr [BOOT_PDPT_LOW + 0 * 8], BOOT_PD + 3
        mov     dword ptr [BOOT_PDPT_HIGH + 510 * 8], BOOT_PD + 3
        mov     edi, BOOT_PD
        mov     eax, 0x83                 /* present | writable | 2 MiB page */
        mov     ecx, 512
1:      mov     [edi], eax
        add     eax, 0x200000
        add     edi, 8
        loop    1b
        ret

enter_long_mode:
        cli
        lgdt    [gdt_desc]
        mov     eax, BOOT_PML4
        mov     cr3, eax
        mov     eax, cr4
        or      eax, (1 << 5) | (1 << 7)  /* PAE | PGE */
        mov     cr4, eax
        mov     ecx, 0xC0000080           /* EFER */
        rdmsr
        or      eax, (1 << 8) | (1 << 11) /* LME | NXE */
        wrmsr
        mov     eax, cr0
        or      eax, 0x80000001           /* PG | PE */
        mov     cr0, eax
        ljmp    0x08, offset long_mode

fail:                                     /* SI: the message */
        FAIL_WITH_MESSAGE

        .code64
long_mode:
        mov     ax, 0x10
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        xor     eax, eax
        mov     fs, ax
        mov     gs, ax
        mov     rsp, BOOT_STACK
        mov     edi, BOOTINFO
        mov     rax, [STAGE2_BASE + HDR_KERNEL_ENTRY]
        jmp     rax

        .balign 8
gdt:    .quad   0
        .quad   0x00AF9A000000FFFF        /* 0x08: 64-bit code */
        .quad   0x00CF92000000FFFF        /* 0x10: flat data, 4 GiB */
gdt_desc:
        .word   gdt_desc - gdt - 1
        .long   gdt

        .balign 4
dap:    .byte   16, 0
dap_count:
        .word   0
        .word   0, BOUNCE_SEG
dap_lba:
        .quad   0

msg_cpu:  .asciz "KWE stage2: CPU has no long mode or NX\r\n"
msg_e820: .asciz "KWE stage2: no E820 memory map\r\n"
msg_disk: .asciz "KWE stage2: disk read failed\r\n"
