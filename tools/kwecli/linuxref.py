"""The bench's yardstick: Debian's generic Linux kernel booted under exactly
the QEMU/TCG settings KWE boots with, running tools/bench/linux_ref.c from a
busybox-static initramfs, its figures read from the serial line.

The packages are fetched with `apt-get download` and unpacked, never
installed; everything lives in build/linuxref/ so a rerun boots at once.
"""
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

from . import qemu
from .paths import BUILD, ROOT

HERE = BUILD / "linuxref"
SOURCE = ROOT / "tools" / "bench" / "linux_ref.c"
# KWE has no Spectre/Meltdown mitigations: neither may the yardstick.
APPEND = "console=ttyS0 mitigations=off quiet panic=-1 rdinit=/init"


class Unavailable(Exception):
    """The reference cannot be built here; the message says why."""


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise Unavailable(f"{' '.join(map(str, cmd))} failed: {(p.stderr or p.stdout).strip()[-400:]}")
    return p.stdout


def kernel_package():
    """linux-image-6.1.0-NN-amd64, the version linux-image-amd64 points at today."""
    out = run(["apt-cache", "depends", "linux-image-amd64"])
    m = re.search(r"Depends: (linux-image-[0-9][^\s]*-amd64)", out)
    if not m:
        raise Unavailable("apt-cache does not know linux-image-amd64 (apt-get update?)")
    return m.group(1)


def fetch(package, members, into):
    """Download one .deb and take only `members` out of it (the modules are
    hundreds of MB the reference does not need)."""
    into.mkdir(parents=True, exist_ok=True)
    for old in into.glob("*.deb"):
        old.unlink()
    run(["apt-get", "download", package], cwd=into)
    deb = next(into.glob("*.deb"))
    tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True, check=True).stdout
    p = subprocess.run(["tar", "-x", "-C", str(into), "--wildcards", *members], input=tar, capture_output=True)
    deb.unlink()
    if p.returncode != 0:
        raise Unavailable(f"{package}: {p.stderr.decode(errors='replace').strip()}")


def kernel():
    """Path of the unpacked vmlinuz and its version string."""
    found = sorted(HERE.glob("kernel/boot/vmlinuz-*"))
    if not found:
        fetch(kernel_package(), ["./boot/vmlinuz-*"], HERE / "kernel")
        found = sorted(HERE.glob("kernel/boot/vmlinuz-*"))
    return found[-1], found[-1].name.removeprefix("vmlinuz-")


def busybox():
    path = HERE / "busybox" / "bin" / "busybox"
    if not path.exists():
        fetch("busybox-static", ["./bin/busybox"], HERE / "busybox")
    return path


def program():
    """The static reference program, rebuilt when its source changes."""
    out = HERE / "linux_ref"
    if not out.exists() or out.stat().st_mtime < SOURCE.stat().st_mtime:
        for header, package in (("liburing.h", "liburing-dev"), ("zlib.h", "zlib1g-dev")):
            if not Path("/usr/include", header).exists():
                raise Unavailable(f"{package} is not installed (tools/kwe installs it)")
        HERE.mkdir(parents=True, exist_ok=True)
        run(["gcc", "-O2", "-static", "-o", str(out), str(SOURCE), "-luring", "-lz"])
    return out


def cpio_entry(name, mode, data=b"", rdev=(0, 0)):
    """One member of a "newc" cpio archive, the format initramfs takes."""
    fields = [0, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0]
    head = b"070701" + b"".join(b"%08X" % f for f in fields) + name.encode() + b"\0"
    pad = lambda b: b + b"\0" * (-len(b) % 4)
    return pad(head) + pad(data)


def initramfs(args):
    """busybox, the program, and an /init that runs it: built fresh each boot
    (a few MB, milliseconds) so `args` can change."""
    script = (f"#!/bin/sh\necho LINUXREF init\n/bin/busybox mount -t proc proc /proc\n/linux_ref {args}\n"
              "/bin/busybox poweroff -f\n")
    exe = stat.S_IFREG | 0o755
    parts = [cpio_entry("dev", stat.S_IFDIR | 0o755), cpio_entry("proc", stat.S_IFDIR | 0o755),
             cpio_entry("bin", stat.S_IFDIR | 0o755),
             cpio_entry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1)),
             cpio_entry("bin/busybox", exe, busybox().read_bytes()),
             cpio_entry("bin/sh", stat.S_IFLNK | 0o777, b"busybox"),
             cpio_entry("linux_ref", exe, program().read_bytes()),
             cpio_entry("init", exe, script.encode()),
             cpio_entry("TRAILER!!!", 0)]
    path = HERE / "initramfs.cpio"
    path.write_bytes(b"".join(parts))
    return path


def parse(log):
    """LINUXREF lines -> {(row, n): (median, min, max)}; 'done' -> True."""
    rows, done = {}, False
    for line in log.splitlines():
        p = line.split()
        if len(p) >= 2 and p[0] == "LINUXREF" and p[1] == "done":
            done = True
        elif len(p) == 6 and p[0] == "LINUXREF" and p[1] != "error":
            rows[(p[1], int(p[2]))] = tuple(int(x) for x in p[3:6])
    return rows, done


def boot_args(quick=False):
    """QEMU's arguments that boot the reference, and its kernel version."""
    if shutil.which("apt-get") is None:
        raise Unavailable("no apt-get: the reference kernel comes from Debian's archive")
    vmlinuz, version = kernel()
    return ["-kernel", str(vmlinuz), "-initrd", str(initramfs("quick" if quick else "")),
            "-append", APPEND], version


def figures(quick=False, timeout=300, pin=None, extra=()):
    """Boot the reference once: ({(row, n): (median, min, max)}, kernel version).
    Raises Unavailable with the reason when it cannot."""
    args, version = boot_args(quick)
    boot = qemu.boot(None, timeout=timeout, image=None, extra=args + list(extra), pin=pin)
    rows, done = parse(boot.log)
    if not (boot.ok and done):
        raise Unavailable(f"the Linux reference boot did not finish (status {boot.status}); serial tail:\n"
                          + boot.log[-1500:])
    return rows, version
