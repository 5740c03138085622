# kmain: the first Cython code to run (called from runtime/entry.S with the
# physical address of stage2's BootInfo).  Brings the machine up in order,
# then runs the scenario the command line names and powers off with its
# status.
from libc.stdint cimport uint64_t
from kwe cimport serial, boot, cmdline, power, scenarios, kstr
from kwe.console cimport kprintf
from kwe.panic cimport panic

cdef public void kmain(uint64_t bootinfo_phys) noexcept nogil:
    cdef char name[64]
    serial.init()
    kprintf(b"\nKWE kernel booting\n")
    if not boot.init(bootinfo_phys):
        panic(b"no valid BootInfo at %p", bootinfo_phys)
    kprintf(b"cmdline: %s\n", <uint64_t>cmdline.line())
    boot.print_memory_map()
    if cmdline.get(b"run", name, sizeof(name)) < 0:
        kstr.copy(name, b"demo", sizeof(name))
    power.power_off(<uint64_t>scenarios.run(name))
