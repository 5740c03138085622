"""tools/kwe subcommands.  Run `tools/kwe --help`."""
import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import build as kbuild
from . import qemu
from . import symbolize
from .paths import BUILD, HOSTED, ROOT, IMAGE, build_dir, image as image_of


def cmd_build(a):
    return 0 if kbuild.build(debug=a.debug) else 1


SHELL_CMDLINE = "run=init args=shell"
NET_CMDLINE = "run=init args=net"         # httpd and udpecho (then the shell, in a terminal)
DEBUG_HELP = "the -Og build in build-debug/ (tools/kwe build --debug), whose locals gdb can read"


def scenario_names():
    """What run= takes: the kernel's own list (scenarios.pyx, scenarios())."""
    import re
    text = (ROOT / "pyx/kwe/init/scenarios.pyx").read_text()
    return re.search(r'def const char\* scenarios\(\)[^\n]*\n[^\n]*\n\s*return b"([^"]*)"', text)[1].split()


def print_list(out=sys.stdout):
    print("scenarios (--cmdline \"run=NAME\"):", " ".join(scenario_names()), file=out)
    print("programs (--cmdline \"run=init init=NAME args=A,B\", or typed at the shell):",
          " ".join(kbuild.programs().split()), file=out)


def cmdline_problem(cmdline):
    """A run= or init= the kernel would not know, before booting for nothing."""
    words = dict(w.split("=", 1) for w in (cmdline or "").split() if "=" in w)
    if "run" in words and words["run"] not in scenario_names():
        return f"run={words['run']} is not a scenario"
    if "init" in words and words["init"] not in kbuild.programs().split():
        return f"init={words['init']} is not a program in pyx/user/programs"
    return None


def cmd_run(a):
    if a.list:
        print_list()
        return 0
    problem = cmdline_problem(a.cmdline)
    if problem:
        print(f"kwe run: {problem}", file=sys.stderr)
        print_list(sys.stderr)
        return 2
    if not kbuild.build(quiet=True, debug=a.debug):
        return 1
    build = build_dir(a.debug)
    image = image_of(build) if a.disk is None else persistent_disk(Path(a.disk), image_of(build))
    kvm = qemu.choose_kvm(a.kvm)
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if a.display and not interactive:
        sys.exit("kwe run: --display draws the VGA screen in this terminal; run it in one")
    cmdline = a.cmdline
    if cmdline is None and a.net:
        cmdline = NET_CMDLINE + (",shell" if interactive and not a.demo else "")
    if cmdline is None and interactive and not a.demo:
        cmdline = SHELL_CMDLINE
    m = qemu.Machine(image=image, snapshot=a.disk is None, cmdline=cmdline, kvm=kvm,
                     display="curses" if a.display else "none", fw_files=input_record(a.input),
                     net=network(a.net))
    log = build / "serial.log"
    cmd, how = console_command(m, interactive, a.display, log)
    kept = "the guest's writes are discarded" if a.disk is None else "the guest's writes stay in it"
    print(f"kwe: booting {shown(image)} ({'KVM' if kvm else 'TCG'}; {kept}){how}", file=sys.stderr)
    try:
        rc = subprocess.run(cmd, timeout=a.timeout).returncode
    except subprocess.TimeoutExpired:
        rc = None
    status = qemu.kernel_status(rc)
    print(f"\nkwe: kernel status {status} ({qemu.STATUS_NAMES.get(status, 'scenario-defined')})",
          file=sys.stderr)
    print_crashes(log, build, same_kernel=a.disk is None or kernel_part(image) == kernel_part(image_of(build)))
    return status


def network(wanted):
    """--net: an e1000 on QEMU's user networking that reaches nothing outside
    (restrict=on), the guest's HTTP port 80 forwarded from a free port on
    127.0.0.1 only; the URL on stderr.  (restrict=on also drops the guest's
    UDP, so udpecho answers only over a -netdev dgram link: docs/net.md.)"""
    from .netbench import nic_args           # the bench's machine: the same NIC and forward
    if not wanted:
        return None
    http = qemu.free_port()
    print(f"kwe: httpd at http://{qemu.LOOPBACK}:{http}/files?q=QUERY (GET /files/ID, PUT /files?tags=...)",
          file=sys.stderr)
    print(f"kwe: try: curl -T FILE 'http://{qemu.LOOPBACK}:{http}/files?tags=kind%3Dnote'", file=sys.stderr)
    return nic_args(http)


def print_crashes(log, build, same_kernel):
    """After the boot: any panic, CPU exception or killed process in the
    serial log again, its addresses named as .pyx lines (kwecli.symbolize).
    The console went by on the terminal as the kernel wrote it."""
    try:
        text = log.read_text(errors="replace").replace("\r", "")
    except OSError:
        return
    lines = symbolize.report(text, build)
    if lines and not same_kernel:
        print("kwe: the disk's kernel is not this build's, so its crash addresses cannot be named",
              file=sys.stderr)
    elif lines:
        print(f"kwe: symbolized against {shown(build)}/ (kernel.elf, pyx/user/NAME.elf):", *lines,
              sep="\n", file=sys.stderr)


def input_record(path):
    """--input FILE: what run=crc32 reads, fw_cfg opt/kwe/input as one
    [u32 LE length][bytes] record (in build/, as QEMU reads it while it runs)."""
    if path is None:
        return {}
    import struct
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        sys.exit(f"kwe run: --input {path}: {e.strerror}")
    record = BUILD / "run-input.bin"
    record.write_bytes(struct.pack("<I", len(data)) + data)
    return {"opt/kwe/input": str(record)}


def console_command(m, interactive, display, log):
    """QEMU's command line for where the console goes, and what to tell the
    user.  The serial console always reaches `log` too (for print_crashes)."""
    if display:
        return (m.command(serial=f"file:{log}"),
                f"; VGA and keyboard here, the serial console in {shown(log)}; Esc then 2, 'quit' ends QEMU")
    logfile = "logfile=" + str(log).replace(",", ",,")
    if not interactive:
        return m.command(serial="chardev:con") + ["-chardev", f"stdio,id=con,{logfile}"], ""
    # signal=off: Ctrl-C goes to the guest (the shell ends its foreground job); mux: Ctrl-A X still quits
    return (m.command(serial="chardev:con") + ["-chardev", f"stdio,id=con,mux=on,signal=off,{logfile}",
                                               "-mon", "chardev=con,mode=readline"],
            "; Ctrl-A X quits QEMU, Ctrl-C goes to the kernel")


def shown(path):
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def persistent_disk(path, built=IMAGE):
    """--disk FILE: the user's own boot disk.  Made once as a copy of
    build/kwe.img (`built`), then never replaced: it keeps the guest's writes,
    and the kernel and programs it was made with."""
    from . import fs
    try:
        if not path.exists():
            shutil.copyfile(built, path)
            print(f"kwe: made {path}, a copy of {shown(built)}; later builds do not change it", file=sys.stderr)
        elif not fs.is_boot_image(path):
            sys.exit(f"kwe run: {path} is not a KWE boot image; give a new path (run makes it from "
                     f"{shown(built)}) or a disk made so")
        elif kernel_part(path) != kernel_part(built):
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


def fuzz_targets():
    from . import fuzz
    return fuzz.TARGETS


def cmd_fuzz(a):
    from . import fuzz
    return fuzz.main(a)


def cmd_trace(a):
    from . import trace
    if not kbuild.build(quiet=True):
        return 1
    cmdline = a.cmdline or "run=init init=wfdemo"
    kvm = qemu.choose_kvm(a.kvm, "tracing")
    b = qemu.boot(f"{cmdline} trace=1 trace_records={a.records} stages=1", timeout=a.timeout, kvm=kvm)
    try:
        t = trace.parse(b.log)
    except ValueError as e:
        print(b.log[-3000:])
        print(f"kwe trace: {e}", file=sys.stderr)
        return 1
    out = BUILD if a.output is None else Path(a.output)
    out.mkdir(parents=True, exist_ok=True)
    shown = trace.write(t, out / "trace.json", out / "trace.png", out / "trace-dag.svg")
    print(f"kwe trace: {len(t.records)} records ({t.overwritten} overwritten, {len(t.garbled)} garbled lines"
          f" skipped), kernel status {b.status}")
    print(f"kwe trace: {out / 'trace.json'} (open in https://ui.perfetto.dev or chrome://tracing), "
          f"{out / 'trace.png'}" + (f", {out / 'trace-dag.svg'}" if shown["dag"] else ""))
    if not shown["dag"]:                      # the rest is still worth having: only the DAG picture is skipped
        print("kwe trace: no Graphviz `dot`, so no trace-dag.svg: apt-get install graphviz", file=sys.stderr)
    for line in trace.stage_table(trace.stages(b.log)):
        print(line)
    return 0 if b.ok and not t.garbled else 1


def cmd_bench(a):
    if a.net_linux:                 # the HTTP bench's Linux reference alone: no KWE build needed
        from . import netbench
        return netbench.run_cli(quick=a.quick, output=a.output)
    from . import bench
    if not kbuild.build(quiet=True):
        return 1
    sys.path.insert(0, str(HOSTED))
    kvm = qemu.choose_kvm(a.kvm, "benchmarking")
    if kvm:
        check = qemu.boot("run=init init=hello", timeout=60, kvm=True)
        if not check.ok:
            print(f"kwe: a test boot under KVM failed (kernel status {check.status}, see README, "
                  "Known limits); benchmarking under TCG", file=sys.stderr)
            kvm = False
    return bench.main(quick=a.quick, kvm=kvm, output=a.output, timeout=a.timeout)


def cmd_gdb(a):
    from . import gdb
    if not kbuild.build(quiet=True, debug=a.debug):
        return 1
    return gdb.session(cmdline=a.cmdline, kvm=qemu.choose_kvm(a.kvm, "debugging"), build=build_dir(a.debug))


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


def cmd_wf(a):
    """A workflow file, checked here by the kernel's own parser, then run in
    one boot from a copy of the image that holds it (build/wf.img)."""
    from . import fs
    if not kbuild.build(quiet=True):
        return 1
    sys.path.insert(0, str(HOSTED))
    from kwe.common import wflang
    try:
        text = Path(a.file).read_bytes()
        wflang.py_parse(text)
    except OSError as e:
        sys.exit(f"kwe wf: {a.file}: {e.strerror}")
    except ValueError as e:
        sys.exit(f"{a.file}:{e}")
    image = BUILD / "wf.img"
    shutil.copyfile(IMAGE, image)
    fid = fs.put(image, text, ["type=workflow", f"name={Path(a.file).stem}"], "user")
    b = qemu.boot(f"run=init init=sh args=-c,wf,{a.what},{fid}", timeout=a.timeout, image=image,
                  kvm=qemu.choose_kvm(a.kvm))
    print(workflow_report(b.log), flush=True)
    print(f"kwe wf: kernel status {b.status} ({qemu.STATUS_NAMES.get(b.status, 'scenario-defined')})",
          file=sys.stderr)
    return b.status


def workflow_report(log):
    """sh's report of the run: from its first `wf`/`workflow` line to sh's exit."""
    lines = log.splitlines()
    first = next((i for i, l in enumerate(lines) if l.startswith(("wf", "workflow"))), len(lines))
    last = next((i for i, l in enumerate(lines) if i > first and l.startswith("proc: pid")), len(lines))
    return "\n".join(lines[first:last])


def seconds(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds")
    if not v > 0 or v != v or v == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} s: give a time above 0 seconds")
    return v


def positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    if v <= 0:
        raise argparse.ArgumentTypeError(f"{v}: give a number above 0")
    return v


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["fs"]:
        return cmd_fs(argv[1:])
    ap = argparse.ArgumentParser(prog="tools/kwe", description="Build, boot, test and debug KWE.")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("run", help="build and boot the kernel in QEMU: the shell in a terminal, else the demo; "
                                   "then any panic's or fault's addresses again, as .pyx lines")
    p.add_argument("--kvm", action="store_true", help="use KVM when /dev/kvm can run KWE (else TCG, saying why)")
    p.add_argument("--timeout", type=seconds, default=None, help="stop QEMU after S seconds")
    p.add_argument("--cmdline", default=None,
                   help=f'kernel command line, e.g. "run=selftest" (default: "{SHELL_CMDLINE}" in a terminal, '
                        'else the demo)')
    p.add_argument("--demo", action="store_true", help="the demo even in a terminal")
    p.add_argument("--net", action="store_true",
                   help="an e1000 on QEMU user networking (restrict=on), httpd and udpecho started, "
                        "httpd's port forwarded from 127.0.0.1 (the URL is printed)")
    p.add_argument("--input", metavar="FILE", default=None, help="the bytes run=crc32 checks")
    p.add_argument("--list", action="store_true", help="list the scenarios and programs, and exit")
    p.add_argument("--display", action="store_true",
                   help="QEMU's VGA screen and PS/2 keyboard in this terminal (curses) instead of the serial console")
    p.add_argument("--disk", metavar="FILE", default=None,
                   help="boot FILE and keep the guest's writes in it (plain run discards them); made as a "
                        "copy of build/kwe.img if missing, never touched by a rebuild, so it keeps the "
                        "kernel and programs it was made with")
    p.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    p.set_defaults(fn=cmd_run)

    p = sub.add_parser("build", help="build hosted modules, kernel.elf and kwe.img (--debug: at -Og, in build-debug/)")
    p.add_argument("--debug", action="store_true",
                   help="in build-debug/ at -Og: the same kernel, with locals and .pyx lines that gdb can follow")
    p.set_defaults(fn=cmd_build)

    p = sub.add_parser("test", help="build and run every test (arguments go to pytest)")
    p.add_argument("--asan", action="store_true",
                   help="the hosted tests against build-asan/ (ASan+UBSan) instead")
    p.add_argument("pytest_args", nargs=argparse.REMAINDER)
    p.set_defaults(fn=cmd_test)

    sub.add_parser("fs", help="TagFS images: mkfs info ls tags put get tag untag query fsck rm (see tools/kwe fs -h)")

    p = sub.add_parser("trace", help="boot with tracing on; write build/trace.json, build/trace.png and "
                                     "build/trace-dag.svg")
    p.add_argument("--cmdline", default=None, help='what to run (default "run=init init=wfdemo")')
    p.add_argument("--records", type=positive_int, default=65536, help="trace buffer size")
    p.add_argument("--timeout", type=seconds, default=120)
    p.add_argument("--kvm", action="store_true")
    p.add_argument("-o", "--output", default=None,
                   help="directory for trace.json, trace.png and trace-dag.svg (default build/)")
    p.set_defaults(fn=cmd_trace)

    p = sub.add_parser("bench", help="run every benchmark; one table and build/bench.json")
    p.add_argument("--quick", action="store_true", help="smaller sizes and fewer repetitions (~1 min)")
    p.add_argument("--kvm", action="store_true", help="use KVM when /dev/kvm works (real cycle figures)")
    p.add_argument("--timeout", type=seconds, default=300, help="limit for each QEMU boot")
    p.add_argument("-o", "--output", default=None, help="JSON file (default build/bench.json)")
    p.add_argument("--net-linux", action="store_true",
                   help="only the HTTP bench's reference: Linux + linux_httpd under the same QEMU/TCG, measured")
    p.set_defaults(fn=cmd_bench)

    p = sub.add_parser("wf", help="check a workflow file (docs/workflows.md) and run it in one boot")
    p.add_argument("file", help="the workflow file")
    p.add_argument("--show", dest="what", action="store_const", const="show", default="run",
                   help="print its DAG instead of running it")
    p.add_argument("--timeout", type=seconds, default=120)
    p.add_argument("--kvm", action="store_true")
    p.set_defaults(fn=cmd_wf)

    p = sub.add_parser("fuzz", help="every parser of user input, random and mutated inputs (under ASan)")
    p.add_argument("--target", choices=sorted(fuzz_targets()), default=None,
                   help="one target (default: all)")
    p.add_argument("--count", type=positive_int, default=1_000_000,
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

    p = sub.add_parser("gdb", help="boot paused under QEMU's GDB stub and attach gdb (--debug: the -Og build)")
    p.add_argument("--kvm", action="store_true")
    p.add_argument("--cmdline", default=None)
    p.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    p.set_defaults(fn=cmd_gdb)

    if not argv:
        ap.print_help()
        return 0
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
