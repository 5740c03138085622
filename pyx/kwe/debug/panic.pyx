# See panic.pxd.
from libc.stdint cimport uint64_t
from kwe.base cimport hal, power
from kwe.mm cimport vmm
from kwe.base.console cimport kprintf, kputs, kvprintf

cdef enum:
    MAX_FRAMES = 16

cdef bint panicking = False

cdef bint readable(uint64_t va) noexcept nogil:
    if va & 7:
        return False
    if hal.readable_kernel_address(va):
        return True
    return vmm.active() != NULL and va >= vmm.USER_TOP and vmm.translate(vmm.active(), va, NULL, NULL)

cdef void dump_backtrace(uint64_t rbp) noexcept nogil:
    cdef int depth = 0
    cdef uint64_t* frame
    kputs(b"backtrace (addr2line -e build/kernel.elf ADDR):\n")
    while depth < MAX_FRAMES and readable(rbp) and readable(rbp + 8):
        frame = <uint64_t*>rbp
        kprintf(b"  #%d %p\n", depth, frame[1])
        rbp = frame[0]
        depth += 1

cdef void panic(const char* fmt, uint64_t a0=0, uint64_t a1=0, uint64_t a2=0,
                uint64_t a3=0) noexcept nogil:
    global panicking
    cdef uint64_t args[4]
    cdef uint64_t r[hal.SNAP_COUNT]
    hal.irq_disable()
    if panicking:
        power.power_off(power.EXIT_PANIC)
        return
    panicking = True
    hal.snapshot_regs(r)
    args[0], args[1], args[2], args[3] = a0, a1, a2, a3
    kputs(b"\nKWE PANIC: ")
    kvprintf(fmt, args, 4)
    kprintf(b"\n  rsp=%p rbp=%p rflags=%p\n", r[hal.SNAP_RSP], r[hal.SNAP_RBP], r[hal.SNAP_RFLAGS])
    kprintf(b"  cr0=%p cr2=%p cr3=%p cr4=%p\n", r[hal.SNAP_CR0], r[hal.SNAP_CR2],
            r[hal.SNAP_CR3], r[hal.SNAP_CR4])
    dump_backtrace(r[hal.SNAP_RBP])
    power.power_off(power.EXIT_PANIC)

def py_panic(bytes msg):
    """Hosted helper: run the panic path (the simulated machine records the exit)."""
    global panicking
    panicking = False
    panic(b"%s", <uint64_t><const char*>msg)
