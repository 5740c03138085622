"""GDT, TSS and IDT as the CPU will read them (decoded from the bytes loaded), and CR4's protections."""
import struct

import pytest

from kwe.arch import cpu, gdt, idt
from kwe.base import hal


def test_gdt_segments_and_selectors(machine):
    gdt.py_init()
    t = hal.descriptor_tables()
    entries = struct.unpack("<7Q", t["gdt"])
    access = [(e >> 40) & 0xFF for e in entries[:5]]
    long_mode = [(e >> 53) & 1 for e in entries[:5]]
    assert entries[0] == 0
    assert access[1] == 0x9A and long_mode[1] == 1        # kernel code, ring 0, 64-bit
    assert access[2] == 0x92                               # kernel data
    assert access[3] == 0xF2                               # user data, ring 3
    assert access[4] == 0xFA and long_mode[4] == 1        # user code, ring 3, 64-bit
    assert (t["code"], t["data"], t["tss_selector"]) == (0x08, 0x10, 0x28)
    # SYSRET's fixed layout: user SS = STAR.base + 8, user CS = STAR.base + 16 (base 0x10)
    assert (0x10 + 8) | 3 == 0x1B and (0x10 + 16) | 3 == 0x23


def test_tss_descriptor_points_at_a_tss_with_ist_stacks(machine):
    gdt.py_init()
    t = hal.descriptor_tables()
    lo, hi = struct.unpack("<2Q", t["gdt"][40:56])
    base = (lo >> 16) & 0xFFFFFF | ((lo >> 56) & 0xFF) << 24 | hi << 32
    limit = lo & 0xFFFF
    assert (lo >> 40) & 0xFF == 0x89 and limit == 103
    tss, tops = gdt.py_tss()
    assert len(tss) == 104
    ist = struct.unpack_from("<7Q", tss, 36)
    assert list(ist[:3]) == tops and all(top % 16 == 0 for top in tops) and not any(ist[3:])
    assert len(set(tops)) == 3 and min(b - a for a, b in zip(sorted(tops), sorted(tops)[1:])) >= 16384
    assert struct.unpack_from("<H", tss, 102)[0] == 104   # no I/O bitmap


def test_idt_has_256_gates_to_the_stubs_with_ist_for_critical_faults(machine):
    idt.py_init()
    t = hal.descriptor_tables()
    assert len(t["idt"]) == 256 * 16
    for v in range(256):
        lo16, sel, ist, attr, mid16, hi32, _ = struct.unpack_from("<HHBBHII", t["idt"], 16 * v)
        assert lo16 | mid16 << 16 | hi32 << 32 == t["trap_stubs"] + 16 * v
        assert sel == 0x08 and attr == 0x8E                # present, ring 0, interrupt gate
        # not #PF (14): a #PF while handling one would restart the IST stack
        # at its top and overwrite the first one's frames (issue 11)
        assert ist == {8: 1, 2: 2, 18: 3}.get(v, 0), v


SMEP, SMAP, UMIP = 1 << 20, 1 << 21, 1 << 11


@pytest.mark.parametrize("ebx,ecx,on,line", [
    (1 << 7 | 1 << 20, 1 << 2, SMEP | SMAP | UMIP, "cpu: smep smap umip on"),
    (1 << 7, 0, SMEP, "cpu: smep on; smap umip not in CPUID"),
    (0, 0, 0, "cpu: smep smap umip not in CPUID"),
])
def test_cpu_protections_are_those_cpuid_reports(machine, ebx, ecx, on, line):
    machine.set_cpuid_leaf7(ebx, ecx)                      # CPUID.7.0: EBX 7 SMEP, 20 SMAP; ECX 2 UMIP
    assert cpu.py_protect() & (SMEP | SMAP | UMIP) == on
    assert line + "\r\n" in machine.serial_output().decode()
