# See gdt.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memset
from kwe.base cimport hal

cdef packed struct Tss:
    uint32_t reserved0
    uint64_t rsp[3]
    uint64_t reserved1
    uint64_t ist[7]              # ist[0] is IST1
    uint64_t reserved2
    uint16_t reserved3
    uint16_t iomap_base

cdef enum:
    GDT_ENTRIES = 7              # null, kcode, kdata, udata, ucode, TSS (2 slots)

cdef uint64_t table[GDT_ENTRIES]
cdef Tss tss
cdef uint8_t ist_stacks[IST_COUNT][IST_STACK_SIZE]

cdef uint64_t segment(uint8_t access, uint8_t flags) noexcept nogil:
    """A flat code/data descriptor: base 0, limit 0xFFFFF (ignored in long mode)."""
    return (<uint64_t>0xFFFF | (<uint64_t>access << 40) | (<uint64_t>0xF << 48) |
            (<uint64_t>flags << 52))

cdef void set_tss_descriptor(uint64_t base, uint32_t limit) noexcept nogil:
    table[5] = ((limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (<uint64_t>0x89 << 40) |
                (<uint64_t>((limit >> 16) & 0xF) << 48) | (((base >> 24) & 0xFF) << 56))
    table[6] = base >> 32

cdef uint64_t stack_top(int i) noexcept nogil:
    return (<uint64_t>&ist_stacks[i][IST_STACK_SIZE]) & ~<uint64_t>15

cdef void init() noexcept nogil:
    cdef int i
    table[0] = 0
    table[1] = segment(0x9A, 0xA)        # kernel code: present, ring 0, exec/read; L, G
    table[2] = segment(0x92, 0xC)        # kernel data: present, ring 0, read/write
    table[3] = segment(0xF2, 0xC)        # user data: ring 3
    table[4] = segment(0xFA, 0xA)        # user code: ring 3, 64-bit
    memset(&tss, 0, sizeof(Tss))
    for i in range(IST_COUNT):
        tss.ist[i] = stack_top(i)
    tss.iomap_base = sizeof(Tss)         # no I/O permission bitmap
    set_tss_descriptor(<uint64_t>&tss, sizeof(Tss) - 1)
    hal.load_gdt(table, sizeof(table) - 1)
    hal.reload_segments(KERNEL_CS, KERNEL_DS)
    hal.load_tss(TSS_SELECTOR)

cdef void set_kernel_stack(uint64_t rsp0) noexcept nogil:
    tss.rsp[0] = rsp0

cdef uint64_t kernel_stack() noexcept nogil:
    return tss.rsp[0]

cdef bint on_ist_stack(uint64_t va) noexcept nogil:
    return <uint64_t>&ist_stacks[0][0] <= va < <uint64_t>&ist_stacks[IST_COUNT - 1][IST_STACK_SIZE]

def py_init():
    init()

def py_tss():
    """Hosted helper: the TSS as bytes, and the IST stack tops."""
    cdef int i
    return (<char*>&tss)[:sizeof(Tss)], [stack_top(i) for i in range(IST_COUNT)]
