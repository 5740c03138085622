"""QEMU paused under its GDB stub, with gdb attached to build/kernel.elf."""
import subprocess
import time

from . import qemu
from .paths import BUILD, KERNEL_ELF, ROOT

GDB_SCRIPT = ROOT / "tools" / "kwecli" / "gdb_kwe.py"


def start_qemu(port, cmdline=None, kvm=False, inputs=None, serial_log=None):
    """QEMU halted before the first instruction, waiting for gdb on port."""
    files = {}
    for name, data in (inputs or {}).items():
        path = BUILD / ("gdb-input-" + name.replace("/", "_"))
        path.write_bytes(data)
        files[name] = str(path)
    m = qemu.Machine(cmdline=cmdline, kvm=kvm, fw_files=files,
                     extra=["-S", "-gdb", f"tcp:127.0.0.1:{port}"])
    serial = f"file:{serial_log}" if serial_log else "null"
    return subprocess.Popen(m.command(serial=serial), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def init_commands(port):
    return ["set pagination off", "set confirm off", f"file {KERNEL_ELF}",
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


def batch(commands, cmdline=None, inputs=None, timeout=60):
    """Run gdb in batch mode against a fresh boot; returns gdb's output."""
    port = qemu.free_port()
    proc = start_qemu(port, cmdline=cmdline, inputs=inputs)
    try:
        if not wait_listening(port, proc):
            raise RuntimeError("QEMU's gdb stub did not come up: " + proc.stderr.read().decode())
        args = ["gdb", "-nx", "-batch"]
        for c in init_commands(port) + list(commands):
            args += ["-ex", c]
        r = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
        return r.stdout + r.stderr
    finally:
        proc.kill()
        proc.wait()


def session(cmdline=None, kvm=False):
    port = qemu.free_port()
    log = BUILD / "serial.log"
    proc = start_qemu(port, cmdline=cmdline, kvm=kvm, serial_log=log)
    gdbinit = BUILD / "gdbinit"
    gdbinit.write_text("\n".join(init_commands(port)) + "\n")
    print(f"kwe: QEMU paused, gdb stub on 127.0.0.1:{port}; serial output goes to {log}\n"
          "kwe: try `kbreak kmain`, `kbreak operations.crc32`, `continue`, `bt`")
    try:
        if not wait_listening(port, proc):
            print(proc.stderr.read().decode())
            return 1
        return subprocess.run(["gdb", "-nx", "-x", str(gdbinit)]).returncode
    finally:
        proc.kill()
        proc.wait()
