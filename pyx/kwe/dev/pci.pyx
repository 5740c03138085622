# See pci.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memset
from kwe.base cimport hal

cdef enum:
    CONFIG_ADDRESS = 0xCF8
    CONFIG_DATA = 0xCFC
    SLOTS = 32
    FUNCS = 8
    MULTI_FUNCTION = 0x80
    BAR_IO = 0x1
    BAR_TYPE_64 = 0x4
    BAR_PREFETCH = 0x8

cdef PciDevice table[PCI_MAX_DEVICES]
cdef int found = 0                  # functions kept in table
cdef int seen = 0                   # functions that answered, kept or not

cdef void select(uint8_t bus, uint8_t slot, uint8_t func, uint8_t off) noexcept nogil:
    hal.outl(CONFIG_ADDRESS, 0x80000000U | <uint32_t>bus << 16 | <uint32_t>(slot & 31) << 11
             | <uint32_t>(func & 7) << 8 | (off & 0xFC))

cdef uint32_t config_read32(uint8_t bus, uint8_t slot, uint8_t func, uint8_t off) noexcept nogil:
    select(bus, slot, func, off)
    return hal.inl(CONFIG_DATA)

cdef uint16_t config_read16(uint8_t bus, uint8_t slot, uint8_t func, uint8_t off) noexcept nogil:
    select(bus, slot, func, off)
    return hal.inw(CONFIG_DATA + (off & 2))

cdef uint8_t config_read8(uint8_t bus, uint8_t slot, uint8_t func, uint8_t off) noexcept nogil:
    select(bus, slot, func, off)
    return hal.inb(CONFIG_DATA + (off & 3))

cdef void config_write32(uint8_t bus, uint8_t slot, uint8_t func, uint8_t off, uint32_t v) noexcept nogil:
    select(bus, slot, func, off)
    hal.outl(CONFIG_DATA, v)

cdef void config_write16(uint8_t bus, uint8_t slot, uint8_t func, uint8_t off, uint16_t v) noexcept nogil:
    select(bus, slot, func, off)
    hal.outw(CONFIG_DATA + (off & 2), v)

# ---- enumeration ----------------------------------------------------------------
cdef void keep(uint8_t bus, uint8_t slot, uint8_t func, uint32_t id) noexcept nogil:
    """Record a function that answered (id: its vendor/device dword)."""
    global found, seen
    cdef PciDevice* d
    cdef uint32_t cls
    seen += 1
    if found == PCI_MAX_DEVICES:
        return
    d = &table[found]
    found += 1
    cls = config_read32(bus, slot, func, PCI_REVISION)
    d.bus, d.slot, d.func = bus, slot, func
    d.vendor, d.device = <uint16_t>id, <uint16_t>(id >> 16)
    d.revision, d.prog_if = <uint8_t>cls, <uint8_t>(cls >> 8)
    d.subclass, d.class_code = <uint8_t>(cls >> 16), <uint8_t>(cls >> 24)
    d.header_type = config_read8(bus, slot, func, PCI_HEADER) & 0x7F
    d.irq_line = config_read8(bus, slot, func, PCI_IRQ_LINE)
    d.irq_pin = config_read8(bus, slot, func, PCI_IRQ_PIN)

cdef void scan_slot(uint8_t bus, uint8_t slot) noexcept nogil:
    cdef uint32_t id = config_read32(bus, slot, 0, PCI_VENDOR)
    cdef uint8_t func
    if (id & 0xFFFF) == PCI_NONE:
        return
    keep(bus, slot, 0, id)
    if not (config_read8(bus, slot, 0, PCI_HEADER) & MULTI_FUNCTION):
        return
    for func in range(1, FUNCS):
        id = config_read32(bus, slot, func, PCI_VENDOR)
        if (id & 0xFFFF) != PCI_NONE:
            keep(bus, slot, func, id)

cdef int scan() noexcept nogil:
    global found, seen
    cdef int bus, slot
    memset(table, 0, sizeof(table))
    found = seen = 0
    for bus in range(256):
        for slot in range(SLOTS):
            scan_slot(<uint8_t>bus, <uint8_t>slot)
    return seen

cdef int count() noexcept nogil:
    return found

cdef const PciDevice* get(int i) noexcept nogil:
    if i < 0 or i >= found:
        return NULL
    return &table[i]

cdef const PciDevice* find(uint16_t vendor, uint16_t device) noexcept nogil:
    cdef int i
    for i in range(found):
        if table[i].vendor == vendor and table[i].device == device:
            return &table[i]
    return NULL

cdef const PciDevice* find_class(uint8_t class_code, uint8_t subclass, int start) noexcept nogil:
    cdef int i
    for i in range(start if start > 0 else 0, found):
        if table[i].class_code == class_code and (subclass == 0xFF or table[i].subclass == subclass):
            return &table[i]
    return NULL

cdef int index_of(const PciDevice* d) noexcept nogil:
    return <int>(d - &table[0])

# ---- BARs and COMMAND ----------------------------------------------------------
cdef uint16_t command(const PciDevice* d) noexcept nogil:
    return config_read16(d.bus, d.slot, d.func, PCI_COMMAND)

cdef void enable(const PciDevice* d, uint16_t bits) noexcept nogil:
    config_write16(d.bus, d.slot, d.func, PCI_COMMAND, command(d) | bits)

cdef void disable(const PciDevice* d, uint16_t bits) noexcept nogil:
    config_write16(d.bus, d.slot, d.func, PCI_COMMAND, command(d) & ~bits)

cdef uint32_t size_probe(const PciDevice* d, uint8_t off, uint32_t old) noexcept nogil:
    """What the BAR at off reads after all ones are written to it; old goes back."""
    cdef uint32_t probe
    config_write32(d.bus, d.slot, d.func, off, 0xFFFFFFFFU)
    probe = config_read32(d.bus, d.slot, d.func, off)
    config_write32(d.bus, d.slot, d.func, off, old)
    return probe

cdef int bar_slots(const PciDevice* d) noexcept nogil:
    """BARs in the header: 6 for a device, 2 for a PCI-to-PCI bridge, 0 otherwise."""
    if d.header_type == 0:
        return 6
    return 2 if d.header_type == 1 else 0

cdef bint starts_a_bar(const PciDevice* d, int i) noexcept nogil:
    """Is slot i a BAR of its own (not the upper half of a 64-bit one below it)?"""
    cdef int j = 0
    cdef uint32_t v
    while j < i:
        v = config_read32(d.bus, d.slot, d.func, PCI_BAR0 + 4 * j)
        j += 2 if not (v & BAR_IO) and (v & 6) == BAR_TYPE_64 else 1
    return j == i

cdef bint bar(const PciDevice* d, int i, PciBar* out) noexcept nogil:
    cdef uint8_t off
    cdef uint32_t lo, hi = 0, size_lo, size_hi = 0xFFFFFFFFU
    cdef uint16_t cmd
    memset(out, 0, sizeof(PciBar))
    if i < 0 or i >= bar_slots(d) or not starts_a_bar(d, i):
        return False
    off = PCI_BAR0 + 4 * i
    lo = config_read32(d.bus, d.slot, d.func, off)
    out.io = (lo & BAR_IO) != 0
    out.is64 = not out.io and (lo & 6) == BAR_TYPE_64 and i + 1 < bar_slots(d)
    out.prefetch = not out.io and (lo & BAR_PREFETCH) != 0
    if out.is64:
        hi = config_read32(d.bus, d.slot, d.func, off + 4)
    cmd = command(d)                # no decoding while the BAR holds all ones
    config_write16(d.bus, d.slot, d.func, PCI_COMMAND, cmd & ~(PCI_CMD_IO | PCI_CMD_MEMORY))
    size_lo = size_probe(d, off, lo)
    if out.is64:
        size_hi = size_probe(d, off + 4, hi)
    config_write16(d.bus, d.slot, d.func, PCI_COMMAND, cmd)
    return decode(lo, hi, size_lo, size_hi, out)

cdef bint decode(uint32_t lo, uint32_t hi, uint32_t size_lo, uint32_t size_hi, PciBar* out) noexcept nogil:
    """Base and size from the BAR's value and what it read back after all ones
    (a BAR that reads back no writable address bits is not implemented)."""
    cdef uint64_t mask
    cdef uint32_t m
    if out.io:
        m = size_lo & 0xFFFFFFFCU
        if m != 0 and (m & 0xFFFF0000U) == 0:
            m |= 0xFFFF0000U                # a 16-bit decoder leaves the upper half 0
        out.base = lo & 0xFFFFFFFCU
        mask = 0xFFFFFFFF00000000U | m
    else:
        m = size_lo & 0xFFFFFFF0U
        out.base = (<uint64_t>hi << 32) | (lo & 0xFFFFFFF0U)
        mask = (<uint64_t>size_hi << 32) | m
    if m == 0 and (out.io or size_hi == 0xFFFFFFFFU):
        memset(out, 0, sizeof(PciBar))
        return False
    out.size = (~mask) + 1
    return True

# ---- hosted helpers -------------------------------------------------------------
def py_scan():
    return scan()

cdef dict as_dict(const PciDevice* d):
    return {"bus": d.bus, "slot": d.slot, "func": d.func, "vendor": d.vendor,
            "device": d.device, "class": d.class_code, "subclass": d.subclass,
            "prog_if": d.prog_if, "revision": d.revision, "header_type": d.header_type,
            "irq_line": d.irq_line, "irq_pin": d.irq_pin}

def py_devices():
    return [as_dict(&table[i]) for i in range(found)]

def py_find(uint16_t vendor, uint16_t device):
    cdef const PciDevice* d = find(vendor, device)
    return None if d == NULL else as_dict(d)

def py_find_class(uint8_t class_code, uint8_t subclass=0xFF, int start=0):
    cdef const PciDevice* d = find_class(class_code, subclass, start)
    return None if d == NULL else index_of(d)

def py_bar(int index, int i):
    """BAR i of the index-th device found: dict, or None."""
    cdef PciBar b
    cdef const PciDevice* d = get(index)
    if d == NULL or not bar(d, i, &b):
        return None
    return {"base": b.base, "size": b.size, "io": b.io, "is64": b.is64, "prefetch": b.prefetch}

def py_enable(int index, uint16_t bits):
    enable(get(index), bits)

def py_command(int index):
    return command(get(index))

def py_config_read(uint8_t bus, uint8_t slot, uint8_t func, uint8_t off, int width=4):
    if width == 1:
        return config_read8(bus, slot, func, off)
    if width == 2:
        return config_read16(bus, slot, func, off)
    return config_read32(bus, slot, func, off)
