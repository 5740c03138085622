# PCI: configuration mechanism #1 (an address dword to port 0xCF8, the data
# through 0xCFC), the one every PC chipset and QEMU's pc machine have.  scan()
# walks buses 0..255 once and keeps what answers; drivers then find their
# device by vendor/device or class, read its BARs and turn on what they use.
# The firmware (SeaBIOS) has already assigned BARs and noted each function's
# interrupt line: the kernel keeps them as they are.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t

cdef enum:
    PCI_MAX_DEVICES = 64        # functions kept; more are counted, not kept
    PCI_NONE = 0xFFFF           # vendor of an absent function
    # configuration registers
    PCI_VENDOR = 0x00
    PCI_DEVICE = 0x02
    PCI_COMMAND = 0x04
    PCI_REVISION = 0x08
    PCI_PROG_IF = 0x09
    PCI_SUBCLASS = 0x0A
    PCI_CLASS = 0x0B
    PCI_HEADER = 0x0E           # bit 7: multi-function; low bits: layout (0 device, 1 bridge)
    PCI_BAR0 = 0x10
    PCI_IRQ_LINE = 0x3C
    PCI_IRQ_PIN = 0x3D
    # COMMAND bits
    PCI_CMD_IO = 0x1
    PCI_CMD_MEMORY = 0x2
    PCI_CMD_MASTER = 0x4        # the device may DMA
    PCI_CMD_INTX_OFF = 0x400
    PCI_NO_IRQ = 0xFF           # interrupt line nobody routed

cdef struct PciDevice:
    uint8_t bus, slot, func
    uint8_t header_type         # without the multi-function bit
    uint16_t vendor, device
    uint8_t class_code, subclass, prog_if, revision
    uint8_t irq_line            # the PIC line firmware routed INTx to (PCI_NO_IRQ: none)
    uint8_t irq_pin             # 0: no INTx; 1..4: INTA#..INTD#

cdef struct PciBar:
    uint64_t base               # bus address (memory) or first port (I/O)
    uint64_t size               # bytes (or ports), from sizing the BAR
    bint io                     # an I/O BAR
    bint is64                   # a 64-bit memory BAR (it takes two BAR slots)
    bint prefetch

# Raw configuration space: any function, any register (off is rounded down
# to its width).  Reads of an absent function give all ones.
cdef uint32_t config_read32(uint8_t bus, uint8_t slot, uint8_t func, uint8_t off) noexcept nogil
cdef uint16_t config_read16(uint8_t bus, uint8_t slot, uint8_t func, uint8_t off) noexcept nogil
cdef uint8_t config_read8(uint8_t bus, uint8_t slot, uint8_t func, uint8_t off) noexcept nogil
cdef void config_write32(uint8_t bus, uint8_t slot, uint8_t func, uint8_t off, uint32_t v) noexcept nogil
cdef void config_write16(uint8_t bus, uint8_t slot, uint8_t func, uint8_t off, uint16_t v) noexcept nogil

# Walk every bus (an absent slot costs one read; functions 1..7 are read only
# when function 0 says multi-function).  Forgets an earlier scan.  Returns
# how many functions answered (kept up to PCI_MAX_DEVICES).
cdef int scan() noexcept nogil
cdef int count() noexcept nogil
cdef const PciDevice* get(int i) noexcept nogil          # NULL past count()
cdef const PciDevice* find(uint16_t vendor, uint16_t device) noexcept nogil
# The first function of this class and subclass at index >= start (0xFF: any subclass).
cdef const PciDevice* find_class(uint8_t class_code, uint8_t subclass, int start) noexcept nogil
cdef int index_of(const PciDevice* d) noexcept nogil

# BAR i (0..5) of a device: False if it has none there (unimplemented, or
# the upper half of a 64-bit BAR).  Sizing writes all ones to the BAR with
# decoding off for the moment, then puts everything back.
cdef bint bar(const PciDevice* d, int i, PciBar* out) noexcept nogil
# Turn COMMAND bits on (PCI_CMD_MEMORY, PCI_CMD_MASTER, ...), and back off.
cdef void enable(const PciDevice* d, uint16_t bits) noexcept nogil
cdef void disable(const PciDevice* d, uint16_t bits) noexcept nogil
cdef uint16_t command(const PciDevice* d) noexcept nogil
