"""Loaded into gdb by `tools/kwe gdb`: Cython-aware breakpoints.

    kbreak operations.crc32     break on the cdef function crc32 of kwe.common.operations
    kbreak common.operations.crc32   the same, with the part
    kbreak crc32                the same, found in whichever module defines it
    kbreak kmain                plain C names work too

Cython names a cdef function kwe.PART.MOD.NAME `__pyx_f_3kwe_<len>PART_<len>MOD_NAME`.
Until paging maps the kernel (QEMU starts in real mode) gdb cannot write a
software breakpoint into kernel memory, so kbreak uses a hardware one then.
"""
import re

import gdb


def split_mangled(sym):
    """__pyx_f_3kwe_6common_10operations_crc32 -> ('kwe.common.operations', 'crc32')."""
    if not sym.startswith("__pyx_f_"):
        return None
    rest, parts = sym[len("__pyx_f_"):], []
    while (m := re.match(r"(\d+)", rest)):
        n = int(m.group(1))
        parts.append(rest[m.end():m.end() + n])
        rest = rest[m.end() + n + 1:]
    return (".".join(parts), rest) if parts[:1] == ["kwe"] else None


def resolve(spec):
    """[[kwe.]PART.]MODULE.FUNCTION, MODULE.FUNCTION or FUNCTION -> mangled names."""
    module, _, name = spec.rpartition(".")
    if not module and (gdb.lookup_global_symbol(spec) or gdb.lookup_static_symbol(spec)):
        return [spec]
    listing = gdb.execute(f"info functions -q -n ^__pyx_f_3kwe_.*_{name}$", to_string=True)
    found = set(re.findall(r"\b(__pyx_f_3kwe_\w+)\(", listing))
    suffix = "." + module if module else ""
    return sorted(s for s in found
                  if (split := split_mangled(s)) and split[1] == name
                  and ("." + split[0]).endswith(suffix))


def mapped(address):
    try:
        gdb.selected_inferior().read_memory(address, 1)
        return True
    except gdb.MemoryError:
        return False


class KBreak(gdb.Command):
    """kbreak [MODULE.]FUNCTION: break on a Cython cdef function of the kernel."""

    def __init__(self):
        super().__init__("kbreak", gdb.COMMAND_BREAKPOINTS)

    def invoke(self, arg, from_tty):
        names = resolve(arg.strip())
        if not names:
            raise gdb.GdbError(f"kbreak: no Cython function '{arg}' in the kernel")
        for sym in names:
            address = int(gdb.parse_and_eval(f"(unsigned long)&{sym}"))
            gdb.execute(("break *" if mapped(address) else "hbreak *") + hex(address))
            print(f"kbreak: {arg} is {sym}")


KBreak()
