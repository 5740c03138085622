"""A fresh simulated machine with PMM, heap and kernel VMM initialised."""
from kwe import hal, heap, pmm, traps, vmm

MiB = 1 << 20
# An E820 map like QEMU's, scaled down: low memory, the BIOS hole, RAM from
# 1 MiB with a reserved hole in the middle, and reserved space at the top.
E820 = [(0, 0x9FC00, 1), (0x9FC00, 0x400, 2), (0xF0000, 0x10000, 2),
        (0x100000, 7 * MiB, 1), (8 * MiB, 1 * MiB, 2), (9 * MiB, 7 * MiB - 0x20000, 1),
        (16 * MiB - 0x20000, 0x20000, 2)]
KERNEL = (0x100000, 0x180000)       # pretend kernel image


def e820_for(ram):
    """E820 above: with more RAM, the last usable range grows to the end of it."""
    if ram <= 16 * MiB:
        return E820
    return E820[:5] + [(9 * MiB, ram - 9 * MiB - 0x20000, 1), (ram - 0x20000, 0x20000, 2)]


def fresh(ram=16 * MiB, e820=None, kernel=KERNEL, with_vmm=True):
    e820 = e820_for(ram) if e820 is None else e820
    hal.reset(ram)
    traps.py_reset()
    heap.py_reset()
    assert pmm.py_init(e820, *kernel)
    if with_vmm:
        assert vmm.py_init_kernel(0)
    return pmm.py_stats()["free_pages"]
