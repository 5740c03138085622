# What stage2 hands the kernel: the BootInfo block (memory map, boot drive,
# the TSC at stage2 entry) and the boot header that tools/build/mkimage.py
# wrote into the image (kernel placement, default command line).  The byte
# layout is fixed by boot/bootdefs.h and docs/boot.md.
from libc.stdint cimport uint8_t, uint32_t, uint64_t

cdef enum:
    BOOTINFO_MAGIC = 0x4245574B        # "KWEB"
    E820_MAX = 128
    E820_USABLE = 1
    E820_RESERVED = 2
    E820_ACPI_RECLAIM = 3
    E820_ACPI_NVS = 4
    E820_BAD = 5
    HEADER_CMDLINE_LEN = 256

cdef struct E820Entry:
    uint64_t base
    uint64_t length
    uint32_t type
    uint32_t ext

cdef struct BootInfo:
    uint32_t magic
    uint32_t reserved
    uint32_t e820_count
    uint32_t boot_drive
    uint64_t header_phys
    uint64_t tsc_stage2
    E820Entry e820[E820_MAX]

cdef struct BootHeader:
    char magic[8]                       # "KWEHDR1\0"
    uint32_t kernel_lba
    uint32_t kernel_sectors
    uint64_t kernel_entry
    uint8_t reserved0[8]                # zero (was the program archive, now in TagFS)
    uint32_t fs_lba                     # the TagFS root filesystem, 4 KiB aligned
    uint32_t fs_sectors
    uint8_t reserved[24]
    char cmdline[HEADER_CMDLINE_LEN]

# Take over the BootInfo at physical address bi_phys; sets the kernel command
# line (fw_cfg opt/kwe/cmdline if QEMU gave one, else the image's default).
# Returns False if the block is not valid.
cdef bint init(uint64_t bi_phys) noexcept nogil
cdef BootInfo* info() noexcept nogil
cdef BootHeader* header() noexcept nogil
cdef uint64_t usable_bytes() noexcept nogil
cdef void print_memory_map() noexcept nogil
