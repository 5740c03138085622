# See idt.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from kwe.base cimport hal
from kwe.arch cimport gdt

cdef packed struct Gate:
    uint16_t offset_low
    uint16_t selector
    uint8_t ist
    uint8_t type_attr            # present | DPL | 0xE (64-bit interrupt gate)
    uint16_t offset_mid
    uint32_t offset_high
    uint32_t reserved

cdef Gate gates[256]

cdef enum:
    VEC_NMI = 2
    VEC_DOUBLE_FAULT = 8
    VEC_MACHINE_CHECK = 18
    INTERRUPT_GATE = 0x8E

cdef void set_gate(int v, uint64_t handler, uint8_t ist, uint8_t dpl) noexcept nogil:
    gates[v].offset_low = handler & 0xFFFF
    gates[v].selector = gdt.KERNEL_CS
    gates[v].ist = ist
    gates[v].type_attr = INTERRUPT_GATE | (dpl << 5)
    gates[v].offset_mid = (handler >> 16) & 0xFFFF
    gates[v].offset_high = handler >> 32
    gates[v].reserved = 0

cdef uint8_t ist_for(int v) noexcept nogil:
    # Only what may arrive on a broken stack or at any instruction gets an IST
    # stack.  Not #PF: the CPU restarts an IST stack at its top on every
    # entry, so a #PF inside a #PF's handling would overwrite the first one's
    # frames.  A #PF on an overflowed kernel stack becomes a #DF instead.
    if v == VEC_DOUBLE_FAULT:
        return gdt.IST_DOUBLE_FAULT
    if v == VEC_NMI:
        return gdt.IST_NMI
    if v == VEC_MACHINE_CHECK:
        return gdt.IST_MACHINE_CHECK
    return 0

cdef void init() noexcept nogil:
    cdef int v
    for v in range(256):
        set_gate(v, hal.trap_stub(v), ist_for(v), 0)
    hal.load_idt(gates, sizeof(gates) - 1)

cdef void allow_user(int vector) noexcept nogil:
    gates[vector].type_attr = INTERRUPT_GATE | (3 << 5)

def py_init():
    init()
