"""tools/kwe subcommands.  Run `tools/kwe --help`."""
import argparse
import os
import subprocess
import sys

from . import build as kbuild
from . import qemu
from .paths import BUILD, HOSTED, ROOT, IMAGE


def cmd_build(a):
    return 0 if kbuild.build() else 1


def cmd_run(a):
    if not kbuild.build(quiet=True):
        return 1
    kvm = a.kvm and qemu.kvm_usable()
    if a.kvm and not kvm:
        print("kwe: /dev/kvm is not usable here; running under TCG", file=sys.stderr)
    interactive = sys.stdin.isatty()
    m = qemu.Machine(cmdline=a.cmdline, kvm=kvm)
    cmd = m.command(serial="mon:stdio" if interactive else "stdio")
    print(f"kwe: booting {IMAGE.relative_to(ROOT)} ({'KVM' if kvm else 'TCG'})"
          + (", Ctrl-A X quits" if interactive else ""), file=sys.stderr)
    try:
        rc = subprocess.run(cmd, timeout=a.timeout).returncode
    except subprocess.TimeoutExpired:
        rc = None
    status = qemu.kernel_status(rc)
    print(f"\nkwe: kernel status {status} ({qemu.STATUS_NAMES.get(status, 'scenario-defined')})",
          file=sys.stderr)
    return status


def cmd_test(a):
    if not kbuild.build(quiet=True):
        return 1
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HOSTED), str(ROOT / "tools"), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "pytest", *a.pytest_args], cwd=ROOT, env=env).returncode


def cmd_gdb(a):
    from . import gdb
    if not kbuild.build(quiet=True):
        return 1
    return gdb.session(cmdline=a.cmdline, kvm=a.kvm and qemu.kvm_usable())


def cmd_fs(argv):
    from . import fs
    if not kbuild.build(quiet=True):
        return 1
    sys.path.insert(0, str(HOSTED))
    return fs.main(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["fs"]:
        return cmd_fs(argv[1:])
    ap = argparse.ArgumentParser(prog="tools/kwe", description="Build, boot, test and debug KWE.")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("run", help="build and boot the kernel in QEMU, serial console here")
    p.add_argument("--kvm", action="store_true", help="use KVM when /dev/kvm works")
    p.add_argument("--timeout", type=float, default=None, help="stop QEMU after S seconds")
    p.add_argument("--cmdline", default=None, help='kernel command line, e.g. "run=selftest"')
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("build", help="build hosted modules, kernel.elf and kwe.img")
    p.set_defaults(fn=cmd_build)

    p = sub.add_parser("test", help="build and run every test (arguments go to pytest)")
    p.add_argument("pytest_args", nargs=argparse.REMAINDER)
    p.set_defaults(fn=cmd_test)

    sub.add_parser("fs", help="TagFS images: mkfs ls put get tag untag query fsck rm (see tools/kwe fs -h)")

    p = sub.add_parser("gdb", help="boot paused under QEMU's GDB stub and attach gdb")
    p.add_argument("--kvm", action="store_true")
    p.add_argument("--cmdline", default=None)
    p.set_defaults(fn=cmd_gdb)

    a, extra = ap.parse_known_args(argv)
    if extra and a.cmd != "test":
        ap.error("unrecognized arguments: " + " ".join(extra))
    if a.cmd == "test":
        a.pytest_args = extra + a.pytest_args
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
