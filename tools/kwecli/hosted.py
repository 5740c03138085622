"""A fresh simulated machine for the hosted kernel modules (package kwe):
RAM behind the HAL, the PMM over an E820-like map, the heap, a kernel
address space.  Tests and the fs tool run the kernel's code on it."""
MiB = 1 << 20
# Low memory, the BIOS hole, RAM from 1 MiB with a reserved hole at 8 MiB,
# the rest up to the top, and a reserved range at the very top.
KERNEL = (0x100000, 0x180000)          # a pretend kernel image, never handed out


def e820(ram):
    top = ram - 0x20000
    return [(0, 0x9FC00, 1), (0x9FC00, 0x400, 2), (0xF0000, 0x10000, 2),
            (0x100000, 7 * MiB, 1), (8 * MiB, 1 * MiB, 2), (9 * MiB, top - 9 * MiB, 1),
            (top, 0x20000, 2)]


def fresh(ram=16 * MiB, memory_map=None, kernel=KERNEL, with_vmm=True):
    """Reset the machine; returns the PMM's free page count."""
    from kwe.base import hal
    from kwe.mm import account, heap, pmm, vmm
    from kwe.arch import traps
    hal.reset(ram)
    traps.py_reset()
    heap.py_reset()
    assert pmm.py_init(memory_map or e820(ram), *kernel)
    account.py_init()
    if with_vmm:
        assert vmm.py_init_kernel(0)
    return pmm.py_stats()["free_pages"]


def new_volume(blocks=4096, ram=64 * MiB, journal_blocks=0):
    """A fresh machine with a new TagFS on a memory disk of `blocks`
    blocks, mounted: (disk, volume).  Keep the disk alive while mounted."""
    from kwe.dev import blockdev
    from kwe.fs import tagfs_host as tfs
    fresh(ram=ram)
    disk = blockdev.MemDisk(blocks)
    tfs.mkfs(disk, journal_blocks)
    return disk, tfs.Volume(disk)
