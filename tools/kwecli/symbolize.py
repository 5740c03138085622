"""Crash reports on the serial console, with their addresses named as
function and pyx/.../FILE.pyx:LINE.

The kernel prints addresses only (pyx/kwe/debug/panic.pyx, arch/traps.pyx,
tasks/proc.pyx): a panic's or CPU exception's backtrace, the faulting rip of
an exception, and the rip of a ring-3 fault that killed a process.  cy2c
runs Cython with --line-directives, so the generated C carries `#line N
"kwe/.../x.pyx"` and the DWARF line tables of kernel.elf and of each user
program's ELF already point into the .pyx sources: addr2line names them with
no mapping back through the C.
"""
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import cynames
from .paths import BUILD, ROOT, kernel_elf, user_elf

FRAME = re.compile(r"^  #\d+ (0x[0-9a-f]+)$")                         # dump_backtrace
EXCEPTION_RIP = re.compile(r"^  rip=(0x[0-9a-f]+) cs=")                # traps.dump
KILLED = re.compile(r"^proc: pid \d+ \(([\w.-]+)\) killed: .* at rip=(0x[0-9a-f]+)")   # proc.on_user_fault
HEADINGS = ("KWE PANIC:", "KWE CPU EXCEPTION", "KWE: kernel stack overflow")


@dataclass(frozen=True)
class Site:
    """An address in a log line, and where to look it up."""
    elf: Path
    address: int
    returns: bool       # a return address: the call is the byte before it


def site(line, build=BUILD):
    """The address a log line names, or None."""
    if m := FRAME.match(line):
        return Site(kernel_elf(build), int(m[1], 16), True)
    if m := EXCEPTION_RIP.match(line):
        return Site(kernel_elf(build), int(m[1], 16), False)
    if m := KILLED.match(line):
        return Site(user_elf(m[1], build), int(m[2], 16), False)
    return None


def source_path(name):
    """addr2line's file name as the checkout's path.  A .pyx one is the build
    directory joined to what Cython wrote, relative to pyx/ (build/kwe/...):
    pyx/kwe/...; C of runtime/ is build/../runtime/...: runtime/..."""
    path = Path(os.path.normpath(name))
    if path.is_relative_to(ROOT) and path.is_file():
        return str(path.relative_to(ROOT))
    parts = path.parts
    for i in range(len(parts)):
        candidate = ROOT / "pyx" / Path(*parts[i:])
        if candidate.is_file():
            return str(candidate.relative_to(ROOT))
    return name


def place(function, location):
    """'operations.crc32 pyx/kwe/common/operations.pyx:42' from addr2line's two lines."""
    name, _, line = location.rpartition(":")
    line = line.split()[0]              # "42 (discriminator 3)"
    where = f"{source_path(name)}:{line}" if name != "??" and line not in ("0", "?") else "??"
    return f"{cynames.readable(function)} {where}"


def parse_addr2line(text):
    """addr2line -a -f -i: an address line, then (function, file:line) pairs,
    the innermost first, each after it the function it was inlined into."""
    found, current = {}, None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("0x"):
            current = found.setdefault(int(lines[i], 16), [])
            i += 1
        elif current is not None and i + 1 < len(lines):
            if not (lines[i] == "??" and lines[i + 1].startswith("??")):
                current.append(place(lines[i], lines[i + 1]))
            i += 2
        else:
            i += 1
    return found


def lookup(elf, addresses):
    """{address: ["FUNCTION FILE:LINE", its inlining callers...]}; empty
    when there is no such ELF or no addr2line."""
    tool = shutil.which("addr2line")
    if not tool or not elf.is_file() or not addresses:
        return {}
    r = subprocess.run([tool, "-a", "-f", "-i", "-e", str(elf), *map(hex, addresses)],
                       capture_output=True, text=True)
    return parse_addr2line(r.stdout) if r.returncode == 0 else {}


def names(sites):
    """{Site: its text} for every site addr2line can name."""
    by_elf = {}
    for s in sites:
        by_elf.setdefault(s.elf, set()).add(s)
    named = {}
    for elf, group in by_elf.items():
        found = lookup(elf, sorted({looked_up(s) for s in group}))
        for s in group:
            if found.get(looked_up(s)):
                named[s] = describe(found[looked_up(s)])
    return named


def looked_up(s):
    return s.address - 1 if s.returns else s.address


def describe(places):
    """The innermost place, then each function it was inlined into.  A
    function gcc split or cloned is listed as inlined into itself (at its
    `def` line): that says nothing, so it is left out."""
    shown = [places[0]]
    for p in places[1:]:
        if p.split()[0] != shown[-1].split()[0]:
            shown.append(p)
    return shown[0] + "".join(f", inlined in {p}" for p in shown[1:])


def annotate(log, build=BUILD):
    """The log with every address line it can name followed by `-> NAME FILE:LINE`
    on the same line; nothing else changes (a log without crashes is returned as is)."""
    lines = log.split("\n")
    sites = [site(line, build) for line in lines]
    named = names({s for s in sites if s})
    if not named:
        return log
    return "\n".join(f"{line}  -> {named[s]}" if s in named else line for line, s in zip(lines, sites))


def report(log, build=BUILD):
    """Only the crash reports' headings and named addresses, for a summary
    after a boot whose console went by on the terminal; [] if none."""
    out, named = [], False
    for line in annotate(log, build).split("\n"):
        raw, arrow, _ = line.partition("  -> ")
        if arrow and site(raw, build):
            out.append(line)
            named = True
        elif line.startswith(HEADINGS):
            out.append(line)
    return out if named else []
