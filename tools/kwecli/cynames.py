"""Cython's C names for cdef functions, back to dotted names.  No gdb here:
gdb_kwe.py (inside gdb) and symbolize.py (outside) both read them."""
import re


def split_mangled(sym):
    """__pyx_f_3kwe_6common_10operations_crc32 -> ('kwe.common.operations', 'crc32');
    None for a name Cython did not mangle so."""
    if not sym.startswith("__pyx_f_"):
        return None
    rest, parts = sym[len("__pyx_f_"):], []
    while (m := re.match(r"(\d+)", rest)):
        n = int(m.group(1))
        parts.append(rest[m.end():m.end() + n])
        rest = rest[m.end() + n + 1:]
    return (".".join(parts), rest) if parts and rest else None


def readable(sym):
    """What to show for a C function name: MODULE.FUNCTION for a cdef
    function (kwe.common.operations.crc32 -> operations.crc32), else itself."""
    split = split_mangled(sym)
    return f"{split[0].rpartition('.')[2]}.{split[1]}" if split else sym
