/*
 * Constants shared by stage1, stage2 and tools/build/mkimage.py (which keeps
 * its own copy, checked by tests/test_image.py).  The layout they describe
 * is documented in docs/boot.md.
 */
#define COM1                0x3F8
#define DEBUG_EXIT_PORT     0xF4
#define EXIT_BOOT_FAILED    0x7E        /* kernel status 126: boot failed */

#define STAGE2_BASE         0x8000      /* boot header sector, then code */
#define STAGE2_CODE         0x8200
#define STAGE2_SECTORS      32          /* header + 31 sectors of code */

#define BOOTINFO            0x6000      /* struct BootInfo, see pyx/kwe/boot.pxd */
#define BOOTINFO_MAGIC      0x4245574B  /* "KWEB" */
#define BI_MAGIC            0
#define BI_E820_COUNT       8
#define BI_BOOT_DRIVE       12
#define BI_HEADER           16
#define BI_TSC              24
#define BI_E820             32
#define E820_MAX            128

#define HDR_KERNEL_LBA      8           /* offsets in the boot header */
#define HDR_KERNEL_SECTORS  12
#define HDR_KERNEL_ENTRY    16

#define BOUNCE_SEG          0x1000      /* 0x10000: BIOS reads land here */
#define CHUNK_SECTORS       64          /* 32 KiB per BIOS read */
#define KERNEL_LOAD         0x100000    /* kernel image physical address */

#define BOOT_PML4           0x1000      /* boot page tables, 0x1000-0x4FFF */
#define BOOT_PDPT_LOW       0x2000
#define BOOT_PDPT_HIGH      0x3000
#define BOOT_PD             0x4000
#define BOOT_STACK          0x7C00
