"""PCI enumeration, BARs and COMMAND against the simulated machine's
configuration space (ports 0xCF8/0xCFC, QEMU pc's functions)."""
import pytest

from kwe.base import hal
from kwe.dev import pci

QEMU_PC = [(0, 0, 0, 0x8086, 0x1237), (0, 1, 0, 0x8086, 0x7000), (0, 1, 1, 0x8086, 0x7010),
           (0, 1, 3, 0x8086, 0x7113), (0, 2, 0, 0x1234, 0x1111)]
MEMORY, MASTER = 0x2, 0x4


def found():
    return [(d["bus"], d["slot"], d["func"], d["vendor"], d["device"]) for d in pci.py_devices()]


def index_of(bus, slot, func):
    return [(d["bus"], d["slot"], d["func"]) for d in pci.py_devices()].index((bus, slot, func))


def test_scan_finds_qemu_pc_functions_in_order(machine):
    assert pci.py_scan() == 5
    assert found() == QEMU_PC                     # 00:01.2 absent: skipped, not invented
    isa = pci.py_devices()[1]
    assert (isa["class"], isa["subclass"], isa["header_type"]) == (0x06, 0x01, 0)


def test_scan_finds_the_card_with_its_interrupt(machine):
    machine.e1000_attach()
    pci.py_scan()
    card = pci.py_find(0x8086, 0x100E)
    assert (card["bus"], card["slot"], card["func"]) == (0, 3, 0)
    assert (card["class"], card["subclass"], card["revision"]) == (0x02, 0x00, 0x03)
    assert (card["irq_line"], card["irq_pin"]) == (11, 1)
    assert pci.py_find(0x8086, 0x10D3) is None
    assert pci.py_find_class(0x02) == index_of(0, 3, 0)
    assert pci.py_find_class(0x01, 0x01) == index_of(0, 1, 1)
    assert pci.py_find_class(0x06, 0xFF, start=2) == index_of(0, 1, 3)


def test_functions_beyond_zero_only_when_multi_function(machine):
    # A single-function device at 00:04 whose function 2 also answers (as
    # some decode every function number): function 2 must not be listed.
    machine.pci_add(0, 4, 0, 0x1AF4, 0x1000, 0x02)
    machine.pci_add(0, 4, 2, 0x1AF4, 0x1001, 0x02)
    machine.pci_add(0, 5, 0, 0x1AF4, 0x1002, 0x0C, multifunction=True)
    machine.pci_add(0, 5, 7, 0x1AF4, 0x1003, 0x0C)
    pci.py_scan()
    assert (0, 4, 0, 0x1AF4, 0x1000) in found()
    assert not [f for f in found() if f[:3] == (0, 4, 2)]
    assert (0, 5, 7, 0x1AF4, 0x1003) in found()


def test_every_bus_is_walked_cheaply(machine):
    machine.pci_add(7, 0, 0, 0x1B36, 0x0001, 0x02)
    machine.pci_add(255, 31, 0, 0x1B36, 0x0002, 0x02)
    before = machine.pci_config_reads()
    assert pci.py_scan() == 7
    assert found()[-2:] == [(7, 0, 0, 0x1B36, 0x0001), (255, 31, 0, 0x1B36, 0x0002)]
    # One read per absent slot; a few more per function that answers.
    assert machine.pci_config_reads() - before < 256 * 32 + 8 * 7 + 8 * 7


def test_bars_memory_io_and_64_bit(machine):
    machine.e1000_attach(bar0=0xFEBC0000)
    machine.pci_add(0, 6, 0, 0x1B36, 0x0010, 0x01, 0x08,
                    bars=[(0, "mem32", 0x4000, 0xFEA00000), (2, "mem64-prefetch", 1 << 24, 0x8_0000_0000),
                          (4, "io", 0x100, 0xD000)])
    pci.py_scan()
    card, nvme = index_of(0, 3, 0), index_of(0, 6, 0)
    assert pci.py_bar(card, 0) == {"base": 0xFEBC0000, "size": 0x20000, "io": False, "is64": False,
                                   "prefetch": False}
    assert pci.py_bar(card, 1) == {"base": 0xC000, "size": 64, "io": True, "is64": False, "prefetch": False}
    assert pci.py_bar(card, 2) is None                       # not implemented
    assert pci.py_bar(nvme, 2) == {"base": 0x8_0000_0000, "size": 1 << 24, "io": False, "is64": True,
                                   "prefetch": True}
    assert pci.py_bar(nvme, 3) is None                       # the upper half of BAR 2
    assert pci.py_bar(nvme, 4)["size"] == 0x100
    assert pci.py_bar(nvme, 6) is None


def test_sizing_a_bar_puts_everything_back(machine):
    machine.e1000_attach()
    pci.py_scan()
    card = index_of(0, 3, 0)
    pci.py_enable(card, MEMORY)
    before = machine.pci_config(0, 3, 0)
    for i in range(6):
        pci.py_bar(card, i)
    assert machine.pci_config(0, 3, 0) == before
    assert pci.py_command(card) & MEMORY


def test_enable_sets_command_bits(machine):
    machine.e1000_attach()
    pci.py_scan()
    card = index_of(0, 3, 0)
    assert pci.py_command(card) & (MEMORY | MASTER) == 0     # decoding off until a driver wants it
    pci.py_enable(card, MEMORY | MASTER)
    assert int.from_bytes(machine.pci_config(0, 3, 0)[4:6], "little") & 0x7 == MEMORY | MASTER


@pytest.mark.parametrize("off,width,want", [(0x00, 4, 0x100E8086), (0x02, 2, 0x100E), (0x0B, 1, 0x02),
                                            (0x3C, 1, 11), (0x3D, 1, 1)])
def test_config_reads_of_each_width(machine, off, width, want):
    machine.e1000_attach()
    assert pci.py_config_read(0, 3, 0, off, width) == want


def test_an_absent_function_reads_all_ones(machine):
    assert pci.py_config_read(0, 9, 0, 0) == 0xFFFFFFFF
    assert pci.py_config_read(3, 0, 0, 0, 2) == 0xFFFF
