"""tools/kwe subcommands.  Run `tools/kwe --help`."""
import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import build as kbuild
from . import qemu
from .paths import BUILD, HOSTED, ROOT, IMAGE


def cmd_build(a):
    return 0 if kbuild.build() else 1


def cmd_run(a):
    if not kbuild.build(quiet=True):
        return 1
    image = IMAGE if a.disk is None else persistent_disk(Path(a.disk))
    kvm = a.kvm and qemu.kvm_usable()
    if a.kvm and not kvm:
        print("kwe: /dev/kvm is not usable here; running under TCG", file=sys.stderr)
    interactive = sys.stdin.isatty()
    m = qemu.Machine(image=image, snapshot=a.disk is None, cmdline=a.cmdline, kvm=kvm)
    cmd = m.command(serial="mon:stdio" if interactive else "stdio")
    kept = "the guest's writes are discarded" if a.disk is None else "the guest's writes stay in it"
    print(f"kwe: booting {shown(image)} ({'KVM' if kvm else 'TCG'}; {kept})"
          + (", Ctrl-A X quits" if interactive else ""), file=sys.stderr)
    try:
        rc = subprocess.run(cmd, timeout=a.timeout).returncode
    except subprocess.TimeoutExpired:
        rc = None
    status = qemu.kernel_status(rc)
    print(f"\nkwe: kernel status {status} ({qemu.STATUS_NAMES.get(status, 'scenario-defined')})",
          file=sys.stderr)
    return status


def shown(path):
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def persistent_disk(path):
    """--disk FILE: the user's own boot disk.  Made once as a copy of
    build/kwe.img, then never replaced: it keeps the guest's writes, and the
    kernel and programs it was made with."""
    from . import fs
    try:
        if not path.exists():
            shutil.copyfile(IMAGE, path)
            print(f"kwe: made {path}, a copy of {shown(IMAGE)}; later builds do not change it", file=sys.stderr)
        elif not fs.is_boot_image(path):
            sys.exit(f"kwe run: {path} is not a KWE boot image; give a new path (run makes it from "
                     f"{shown(IMAGE)}) or a disk made so")
        elif kernel_part(path) != kernel_part(IMAGE):
            print(f"kwe: {path} boots the kernel it was made with, not this build's "
                  "(remove it to start again from the build)", file=sys.stderr)
    except OSError as e:
        sys.exit(f"kwe run: {e.filename}: {e.strerror}; check the --disk path")
    return path.resolve()


def kernel_part(path):
    """Everything before the TagFS region: boot code, header, kernel."""
    from . import fs
    with open(path, "rb") as f:
        offset, _ = fs.boot_region(f.read(1024))
        f.seek(0)
        return f.read(offset)


def cmd_test(a):
    if a.asan:
        from . import asan
        return asan.test(a.pytest_args)
    if not kbuild.build(quiet=True):
        return 1
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HOSTED), str(ROOT / "tools"), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "pytest", *a.pytest_args], cwd=ROOT, env=env).returncode


def cmd_fuzz(a):
    from . import fuzz
    return fuzz.main(a)


def cmd_trace(a):
    from . import trace
    if not kbuild.build(quiet=True):
        return 1
    cmdline = a.cmdline or "run=init init=wfdemo"
    kvm = a.kvm and qemu.kvm_usable()
    b = qemu.boot(f"{cmdline} trace=1 trace_records={a.records} stages=1", timeout=a.timeout, kvm=kvm)
    try:
        t = trace.parse(b.log)
    except ValueError as e:
        print(b.log[-3000:])
        print(f"kwe trace: {e}", file=sys.stderr)
        return 1
    out = BUILD if a.output is None else Path(a.output)
    out.mkdir(parents=True, exist_ok=True)
    trace.write(t, out / "trace.json", out / "trace.png")
    print(f"kwe trace: {len(t.records)} records ({t.overwritten} overwritten, {len(t.garbled)} garbled lines"
          f" skipped), kernel status {b.status}")
    print(f"kwe trace: {out / 'trace.json'} (open in https://ui.perfetto.dev or chrome://tracing), "
          f"{out / 'trace.png'}")
    for line in trace.stage_table(trace.stages(b.log)):
        print(line)
    return 0 if b.ok and not t.garbled else 1


def cmd_bench(a):
    from . import bench
    if not kbuild.build(quiet=True):
        return 1
    sys.path.insert(0, str(HOSTED))
    kvm = a.kvm and qemu.kvm_usable()
    if a.kvm and not kvm:
        print("kwe: /dev/kvm is not usable here; benchmarking under TCG", file=sys.stderr)
    if kvm:
        check = qemu.boot("run=init init=hello", timeout=60, kvm=True)
        if not check.ok:
            print(f"kwe: a test boot under KVM failed (kernel status {check.status}, see README, "
                  "Known limits); benchmarking under TCG", file=sys.stderr)
            kvm = False
    return bench.main(quick=a.quick, kvm=kvm, output=a.output, timeout=a.timeout)


def cmd_gdb(a):
    from . import gdb
    if not kbuild.build(quiet=True):
        return 1
    return gdb.session(cmdline=a.cmdline, kvm=a.kvm and qemu.kvm_usable())


def cmd_errors(a):
    from . import abi
    wanted = [code for code, (name, _) in sorted(abi.ERRORS.items(), reverse=True)
              if not a.code or a.code in (name, str(code))]
    if not wanted:
        sys.exit(f"kwe errors: no status code {a.code!r} (tools/kwe errors lists them)")
    for code in wanted:
        print(f"{code:4d}  {abi.error_text(code)}")


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
    p.add_argument("--disk", metavar="FILE", default=None,
                   help="boot FILE and keep the guest's writes in it (plain run discards them); made as a "
                        "copy of build/kwe.img if missing, never touched by a rebuild, so it keeps the "
                        "kernel and programs it was made with")
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("build", help="build hosted modules, kernel.elf and kwe.img")
    p.set_defaults(fn=cmd_build)

    p = sub.add_parser("test", help="build and run every test (arguments go to pytest)")
    p.add_argument("--asan", action="store_true",
                   help="the hosted tests against build-asan/ (ASan+UBSan) instead")
    p.add_argument("pytest_args", nargs=argparse.REMAINDER)
    p.set_defaults(fn=cmd_test)

    sub.add_parser("fs", help="TagFS images: mkfs info ls tags put get tag untag query fsck rm (see tools/kwe fs -h)")

    p = sub.add_parser("trace", help="boot with tracing on; write build/trace.json and build/trace.png")
    p.add_argument("--cmdline", default=None, help='what to run (default "run=init init=wfdemo")')
    p.add_argument("--records", type=int, default=65536, help="trace buffer size")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--kvm", action="store_true")
    p.add_argument("-o", "--output", default=None, help="directory for trace.json/trace.png (default build/)")
    p.set_defaults(fn=cmd_trace)

    p = sub.add_parser("bench", help="run every benchmark; one table and build/bench.json")
    p.add_argument("--quick", action="store_true", help="smaller sizes and fewer repetitions (~1 min)")
    p.add_argument("--kvm", action="store_true", help="use KVM when /dev/kvm works (real cycle figures)")
    p.add_argument("--timeout", type=float, default=300, help="limit for each QEMU boot")
    p.add_argument("-o", "--output", default=None, help="JSON file (default build/bench.json)")
    p.set_defaults(fn=cmd_bench)

    p = sub.add_parser("fuzz", help="every parser of user input, random and mutated inputs (under ASan)")
    p.add_argument("--target", choices=["rle", "elf", "graph", "event", "query", "disk"], default=None,
                   help="one target (default: all)")
    p.add_argument("--count", type=int, default=1_000_000,
                   help="inputs per target (default 1,000,000; the disk target makes a tenth as many images)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", type=int, default=0, help="first input (to reproduce one)")
    p.add_argument("--no-asan", dest="asan", action="store_false", help="the ordinary hosted build")
    p.add_argument("--boots", type=int, default=3,
                   help="then boot the kernel this many times with the fuzz program (seeds SEED..)")
    p.add_argument("--disk-boots", type=int, default=20,
                   help="and boot it on this many damaged disks (with the disk target; default 20)")
    p.set_defaults(fn=cmd_fuzz)

    p = sub.add_parser("errors", help="the status codes: value, name and meaning")
    p.add_argument("code", nargs="?", help="one code, by value (-10) or name (E_NOENT)")
    p.set_defaults(fn=cmd_errors)

    p = sub.add_parser("gdb", help="boot paused under QEMU's GDB stub and attach gdb")
    p.add_argument("--kvm", action="store_true")
    p.add_argument("--cmdline", default=None)
    p.set_defaults(fn=cmd_gdb)

    a, extra = ap.parse_known_args(argv)
    if extra and a.cmd != "test":
        ap.error("unrecognized arguments: " + " ".join(extra))
    if a.cmd == "test":
        a.pytest_args = extra + a.pytest_args
        if "--asan" in a.pytest_args:       # after a pytest option: still ours
            a.pytest_args.remove("--asan")
            a.asan = True
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
