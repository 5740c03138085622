# See boot.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from kwe.base cimport hal, cmdline, fwcfg
from kwe.base.console cimport kprintf

cdef BootInfo* bootinfo = NULL
cdef BootHeader* bootheader = NULL

cdef bint init(uint64_t bi_phys) noexcept nogil:
    global bootinfo, bootheader
    cdef char line[cmdline.CMDLINE_MAX]
    cdef uint16_t sel
    cdef uint32_t size
    bootinfo = <BootInfo*>hal.phys_to_virt(bi_phys)
    if bootinfo.magic != BOOTINFO_MAGIC or bootinfo.e820_count > E820_MAX:
        return False
    bootheader = <BootHeader*>hal.phys_to_virt(bootinfo.header_phys)
    if fwcfg.find(b"opt/kwe/cmdline", &sel, &size):
        if size >= cmdline.CMDLINE_MAX:
            size = cmdline.CMDLINE_MAX - 1
        fwcfg.select(sel)
        fwcfg.read(line, size)
        line[size] = 0
        cmdline.set_line(line)
    else:
        bootheader.cmdline[HEADER_CMDLINE_LEN - 1] = 0
        cmdline.set_line(bootheader.cmdline)
    return True

cdef BootInfo* info() noexcept nogil:
    return bootinfo

cdef BootHeader* header() noexcept nogil:
    return bootheader

cdef uint64_t usable_bytes() noexcept nogil:
    cdef uint64_t total = 0
    cdef uint32_t i
    for i in range(bootinfo.e820_count):
        if bootinfo.e820[i].type == E820_USABLE:
            total += bootinfo.e820[i].length
    return total

cdef const char* type_name(uint32_t t) noexcept nogil:
    if t == E820_USABLE:
        return b"usable"
    if t == E820_RESERVED:
        return b"reserved"
    if t == E820_ACPI_RECLAIM:
        return b"ACPI reclaimable"
    if t == E820_ACPI_NVS:
        return b"ACPI NVS"
    if t == E820_BAD:
        return b"bad"
    return b"unknown"

cdef void print_memory_map() noexcept nogil:
    cdef uint32_t i
    cdef E820Entry* e
    kprintf(b"memory map (E820, %u entries):\n", bootinfo.e820_count)
    for i in range(bootinfo.e820_count):
        e = &bootinfo.e820[i]
        kprintf(b"  %016lx-%016lx %s\n", e.base, e.base + e.length - 1, <uint64_t>type_name(e.type))
    kprintf(b"memory: %u KiB usable\n", usable_bytes() >> 10)
