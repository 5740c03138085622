# The two 8259A PICs, remapped to vectors 32..47.  Why the PIC and not the
# APIC: KWE runs on one CPU, QEMU's pc machine always has the PIC, and it
# needs no MMIO mapping or ACPI table parsing; the IRQ layer above it would
# not change if an IOAPIC replaced it.
from libc.stdint cimport uint8_t

cdef enum:
    IRQ_BASE = 32
    IRQ_COUNT = 16

cdef void init() noexcept nogil
cdef void unmask(int irq) noexcept nogil
cdef void mask(int irq) noexcept nogil
cdef void eoi(int irq) noexcept nogil
# IRQ 7 and 15 fire spuriously when a request vanishes; the in-service
# register tells (and a spurious IRQ 15 still needs an EOI to the master).
cdef bint spurious(int irq) noexcept nogil
