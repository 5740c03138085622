"""Loaded into gdb by `tools/kwe gdb`: Cython-aware breakpoints.

    kbreak operations.crc32     break on the cdef function crc32 of kwe.common.operations
    kbreak common.operations.crc32   the same, with the part
    kbreak crc32                the same, found in whichever module defines it
    kbreak kmain                plain C names work too

Cython names a cdef function kwe.PART.MOD.NAME `__pyx_f_3kwe_<len>PART_<len>MOD_NAME`.
Until paging maps the kernel (QEMU starts in real mode) gdb cannot write a
software breakpoint into kernel memory, so kbreak uses a hardware one then.
"""
import os
import re
import sys

import gdb

# gdb sources this file by path: kwecli (tools/) is not on its sys.path.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from kwecli import cynames  # noqa: E402


def split_mangled(sym):
    """__pyx_f_3kwe_6common_10operations_crc32 -> ('kwe.common.operations', 'crc32'); kernel names only."""
    split = cynames.split_mangled(sym)
    return split if split and split[0].split(".")[0] == "kwe" else None


SPEC = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def c_function(name):
    """Is name a plain C function of the kernel (not a variable)?"""
    sym = gdb.lookup_global_symbol(name) or gdb.lookup_static_symbol(name)
    return sym is not None and sym.is_function


def resolve(spec):
    """[[kwe.]PART.]MODULE.FUNCTION, MODULE.FUNCTION or FUNCTION -> mangled names."""
    module, _, name = spec.rpartition(".")
    if not module and c_function(spec):
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
        arg = arg.strip()
        # checked first: the name goes into a regex and an expression below
        if not SPEC.fullmatch(arg):
            raise gdb.GdbError("usage: kbreak [MODULE.]FUNCTION, e.g. kbreak operations.crc32")
        names = resolve(arg)
        if not names:
            raise gdb.GdbError(f"kbreak: no function '{arg}' in the kernel (neither a Cython cdef "
                               "function nor a C one)")
        for sym in names:
            address = int(gdb.parse_and_eval(f"(unsigned long)&{sym}"))
            gdb.execute(("break *" if mapped(address) else "hbreak *") + hex(address))
            print(f"kbreak: {arg} is {sym}")


KBreak()
