"""Loaded into gdb by `tools/kwe gdb`: Cython-aware breakpoints.

    kbreak operations.crc32     break on the cdef function crc32 of kwe.operations
    kbreak crc32                the same, found in whichever module defines it
    kbreak kmain                plain C names work too

Cython names a cdef function kwe.MOD.NAME `__pyx_f_3kwe_<len>MOD_NAME`.
Until paging maps the kernel (QEMU starts in real mode) gdb cannot write a
software breakpoint into kernel memory, so kbreak uses a hardware one then.
"""
import re

import gdb


def mangle(module, name):
    parts = module.split(".")
    if parts[0] != "kwe":
        parts.insert(0, "kwe")
    return "__pyx_f_" + "".join(f"{len(p)}{p}_" for p in parts) + name


def split_mangled(sym):
    """__pyx_f_3kwe_10operations_crc32 -> ('operations', 'crc32')."""
    m = re.match(r"__pyx_f_3kwe_(\d+)", sym)
    if not m:
        return None
    n, rest = int(m.group(1)), sym[m.end():]
    return rest[:n], rest[n + 1:]


def resolve(spec):
    module, _, name = spec.rpartition(".")
    if module:
        return [mangle(module, name)]
    if gdb.lookup_global_symbol(spec) or gdb.lookup_static_symbol(spec):
        return [spec]
    listing = gdb.execute(f"info functions -q -n ^__pyx_f_3kwe_.*_{name}$", to_string=True)
    found = set(re.findall(r"\b(__pyx_f_3kwe_\w+)\(", listing))
    return sorted(s for s in found if (split_mangled(s) or (None, None))[1] == name)


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
