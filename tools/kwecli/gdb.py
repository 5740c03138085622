"""QEMU paused under its GDB stub, with gdb attached to kernel.elf: build/'s,
or build-debug/'s (-Og, locals kept) for `tools/kwe gdb --debug`."""
import subprocess
import time

from . import qemu
from .paths import BUILD, ROOT, image, kernel_elf

GDB_SCRIPT = ROOT / "tools" / "kwecli" / "gdb_kwe.py"


def start_qemu(port, cmdline=None, kvm=False, inputs=None, serial_log=None, build=BUILD):
    """QEMU halted before the first instruction, waiting for gdb on port."""
    files = {}
    for name, data in (inputs or {}).items():
        path = build / ("gdb-input-" + name.replace("/", "_"))
        path.write_bytes(data)
        files[name] = str(path)
    m = qemu.Machine(image=image(build), cmdline=cmdline, kvm=kvm, fw_files=files,
                     extra=["-S", "-gdb", f"tcp:127.0.0.1:{port}"])
    serial = f"file:{serial_log}" if serial_log else "null"
    return subprocess.Popen(m.command(serial=serial), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def init_commands(port, build=BUILD):
    return ["set pagination off", "set confirm off", f"file {kernel_elf(build)}",
            f"directory {ROOT / 'pyx'}", f"source {GDB_SCRIPT}", f"target remote 127.0.0.1:{port}"]


def wait_listening(port, proc, timeout=10):
    import socket
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


def batch(commands, cmdline=None, inputs=None, timeout=60, build=BUILD):
    """Run gdb in batch mode against a fresh boot; returns gdb's output."""
    port = qemu.free_port()
    proc = start_qemu(port, cmdline=cmdline, inputs=inputs, build=build)
    try:
        if not wait_listening(port, proc):
            raise RuntimeError("QEMU's gdb stub did not come up: " + proc.stderr.read().decode())
        args = ["gdb", "-nx", "-batch"]
        for c in init_commands(port, build) + list(commands):
            args += ["-ex", c]
        r = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
        return r.stdout + r.stderr
    finally:
        proc.kill()
        proc.wait()


def session(cmdline=None, kvm=False, build=BUILD):
    port = qemu.free_port()
    log = build / "serial.log"
    proc = start_qemu(port, cmdline=cmdline, kvm=kvm, serial_log=log, build=build)
    gdbinit = build / "gdbinit"
    gdbinit.write_text("\n".join(init_commands(port, build)) + "\n")
    print(f"kwe: QEMU paused, gdb stub on 127.0.0.1:{port}, gdb on {kernel_elf(build)}; "
          f"serial output goes to {log}\n"
          "kwe: try `kbreak kmain`, `kbreak operations.crc32`, `continue`, `bt`"
          + (", `info locals`" if build != BUILD else ""))
    try:
        if not wait_listening(port, proc):
            print(proc.stderr.read().decode())
            return 1
        return subprocess.run(["gdb", "-nx", "-x", str(gdbinit)]).returncode
    finally:
        proc.kill()
        proc.wait()
