"""Booting build/kwe.img in QEMU, for `kwe run` and for the tests.

The kernel ends every boot through QEMU's isa-debug-exit device, which makes
QEMU exit with (status << 1) | 1.  kernel_status() maps that back; the
values QEMU itself can produce get statuses of their own.
"""
import os
import re
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import symbolize
from .paths import BUILD, BUILD_DEBUG, IMAGE, image as image_of

STATUS_TIMEOUT = 124        # the harness killed QEMU
STATUS_NO_EXIT = 125        # QEMU ended without isa-debug-exit (reset, triple fault)
STATUS_NAMES = {0: "ok", 1: "failed", 2: "usage", 3: "panic", 4: "cpu-fault",
                126: "boot-failed", STATUS_TIMEOUT: "timeout", STATUS_NO_EXIT: "no-exit"}


def kernel_status(qemu_rc):
    if qemu_rc is None:
        return STATUS_TIMEOUT
    if qemu_rc > 0 and qemu_rc & 1:
        return qemu_rc >> 1
    return STATUS_NO_EXIT


# What the kernel prints when its own checks find something: an overwritten
# heap object, an account not back to zero at a process's end, a charge given
# back twice; and its heap walk at power-off.
KERNEL_PROBLEMS = ("heap: CORRUPT", "ended still holding", "it does not hold")
HEAP_WALK = re.compile(r"heap: walk at power-off: \d+ objects, \d+ bytes, (\d+) problems \((\d+) seen earlier\)")


def kernel_problems(log):
    """The problems the kernel reported in a boot's log (empty: none)."""
    found = [w for w in KERNEL_PROBLEMS if w in log]
    found += [m.group(0) for m in HEAP_WALK.finditer(log) if m.group(1) != "0" or m.group(2) != "0"]
    return found


def kvm_refusal(sys_module="/sys/module"):
    """Why KVM cannot run KWE here, or None when it can.  kvm_pvm (loaded,
    with neither kvm_intel nor kvm_amd) is a software hypervisor: it runs
    ring 0 through KVM's instruction emulator, which has no SSE and whose
    SYSCALL leaves CS/SS at the user's selectors, so KWE cannot boot there."""
    mods = Path(sys_module)
    if (mods / "kvm_pvm").exists() and not (mods / "kvm_intel").exists() and not (mods / "kvm_amd").exists():
        return ("/dev/kvm is kvm_pvm, a software hypervisor without VT-x/AMD-V (its instruction "
                "emulator has no SSE, and its SYSCALL leaves CS/SS at the user's selectors)")
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
    except OSError as e:
        return f"/dev/kvm cannot be opened ({e.strerror})"
    os.close(fd)
    return None


def kvm_usable():
    return kvm_refusal() is None


def choose_kvm(wanted, what="running"):
    """--kvm: KVM when it can run KWE, else TCG, saying why."""
    if not wanted:
        return False
    why = kvm_refusal()
    if why:
        import sys
        print(f"kwe: {why}; {what} under TCG instead", file=sys.stderr)
        return False
    return True


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LOOPBACK = "127.0.0.1"
NET_OPTIONS = ("-netdev", "-nic", "-net")
SOCKET_NETDEVS = ("dgram", "stream")   # sockets between QEMU and a test on this host
USER_KEYS = ("id", "restrict", "hostfwd", "ipv4", "ipv6")
ON = ("on", "yes", "true", "y")


def check_socket_netdev(value, params):
    """dgram/stream: every address an inet socket at 127.0.0.1."""
    for p in params:
        key, _, v = p.partition("=")
        if key.endswith(".type") and v != "inet":
            raise ValueError(f"-netdev {value}: {key}={v}, only inet sockets")
        if key.endswith("host") and v != LOOPBACK:
            raise ValueError(f"-netdev {value}: {key}={v} is not {LOOPBACK}")
        if key in ("addr", "localaddr", "connect", "listen", "udp", "mcast", "fd", "dst"):
            raise ValueError(f"-netdev {value}: {key}= is not allowed (use *.host={LOOPBACK})")
    if not [p for p in params if p.partition("=")[0].endswith("host")]:
        raise ValueError(f"-netdev {value}: names no host (say *.host={LOOPBACK})")


def check_user_netdev(value, params):
    """user: only restricted (restrict=on: the guest reaches neither the host
    nor anything beyond it), reached only by hostfwd rules bound to 127.0.0.1;
    no guestfwd, tftp, smb or any other option."""
    seen = dict(p.partition("=")[::2] for p in params)
    if seen.get("restrict") not in ON:
        raise ValueError(f"-netdev {value}: user networking only with restrict=on")
    for p in params:
        key, _, v = p.partition("=")
        if key not in USER_KEYS:
            raise ValueError(f"-netdev {value}: {key}= is not allowed with user networking")
        if key == "hostfwd":
            rule = v.split(":", 1)[1] if v.startswith(("tcp:", "udp:")) else v
            if rule.split(":", 1)[0] != LOOPBACK:
                raise ValueError(f"-netdev {value}: hostfwd must bind {LOOPBACK} (tcp:{LOOPBACK}:PORT-:PORT)")


def check_net(net):
    """Refuse network arguments that could reach past this host: only
    -netdev dgram/stream over inet sockets at 127.0.0.1, or user networking
    with restrict=on and host forwards bound to 127.0.0.1 (and -device lines
    naming such a netdev, and filter-dump captures of them); never open user
    networking, tap or a bridge."""
    args = list(net)
    if len(args) % 2:
        raise ValueError(f"network arguments come in option/value pairs: {args}")
    for opt, value in zip(args[::2], args[1::2]):
        if opt == "-device" or (opt == "-object" and value.startswith("filter-dump,")):
            continue                # filter-dump only writes what passes to a local file
        if opt != "-netdev":
            raise ValueError(f"{opt} {value}: only -netdev and -device in Machine.net")
        kind, *params = value.split(",")
        if kind in SOCKET_NETDEVS:
            check_socket_netdev(value, params)
        elif kind == "user":
            check_user_netdev(value, params)
        else:
            raise ValueError(f"-netdev {kind}: only {', '.join(SOCKET_NETDEVS)} on {LOOPBACK}, "
                             "or user with restrict=on")
    return args


@dataclass
class Machine:
    """One QEMU configuration.  fw_files maps fw_cfg names to local files.
    snapshot: the guest's writes go to a temporary overlay, not the image.
    net: the network, as QEMU arguments (-netdev dgram/stream at 127.0.0.1,
    or restricted user networking forwarded from 127.0.0.1, and the -device
    that uses it: check_net); None: no network at all.
    "-nic none" is always there: without it QEMU adds a user-mode NIC that
    reaches anywhere the host does."""
    image: Path | None = IMAGE
    cmdline: str | None = None
    kvm: bool = False
    memory: str = "256M"
    snapshot: bool = True
    fw_files: dict = field(default_factory=dict)
    extra: list = field(default_factory=list)
    pin: str | None = None          # taskset CPU list: the bench keeps QEMU on one core
    display: str = "none"           # QEMU's -display: "curses" shows the VGA screen and takes the keyboard
    net: list | None = None         # network arguments (check_net); None: none

    def command(self, serial="stdio"):
        cmd = ["taskset", "-c", self.pin] if self.pin else []
        cmd += ["qemu-system-x86_64", "-machine", "pc", "-m", self.memory]
        if self.image is not None:      # None: the guest comes by -kernel in extra (bench's Linux)
            cmd += ["-drive", f"file={str(self.image).replace(',', ',,')},format=raw,if=ide"
                    + (",snapshot=on" if self.snapshot else "")]
        cmd += ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
               "-display", self.display, "-serial", serial, "-no-reboot", "-monitor", "none"]
        cmd += ["-enable-kvm", "-cpu", "host"] if self.kvm else ["-cpu", "max"]
        if self.cmdline is not None:
            cmd += ["-fw_cfg", "name=opt/kwe/cmdline,string=" + self.cmdline.replace(",", ",,")]
        for name, path in self.fw_files.items():
            cmd += ["-fw_cfg", f"name={name},file={path}"]
        if any(a in NET_OPTIONS for a in self.extra):
            raise ValueError("network options go in Machine.net, not extra")
        cmd += ["-nic", "none"] + (check_net(self.net) if self.net else [])
        return cmd + list(self.extra)


@dataclass
class Boot:
    status: int         # kernel status, or STATUS_TIMEOUT / STATUS_NO_EXIT
    log: str            # serial output, \r removed, crash addresses named (named_crashes)
    stderr: str

    @property
    def ok(self):
        return self.status == 0

    def lines(self, prefix=""):
        return [l for l in self.log.splitlines() if l.startswith(prefix)]


def boot(cmdline=None, timeout=60, inputs=None, **machine):
    """Boot once, headless, and return what happened.

    inputs: fw_cfg name -> bytes, written to temporary files for QEMU.
    """
    with tempfile.TemporaryDirectory(prefix="kwe-boot-") as tmp:
        files = dict(machine.pop("fw_files", {}))
        for name, data in (inputs or {}).items():
            path = Path(tmp) / name.replace("/", "_")
            path.write_bytes(data)
            files[name] = str(path)
        m = Machine(cmdline=cmdline, fw_files=files, **machine)
        try:
            p = subprocess.run(m.command(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=timeout)
            rc, out, err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            rc, out, err = None, e.stdout or b"", e.stderr or b""
    decode = lambda b: b.decode("utf-8", "replace").replace("\r", "")
    return Boot(kernel_status(rc), named_crashes(decode(out), m.image), decode(err))


def named_crashes(log, image):
    """The log with a panic's or fault's addresses named as .pyx lines
    (symbolize.annotate), when the image is a build's own, whose ELFs match it."""
    for build in (BUILD, BUILD_DEBUG):
        if image is not None and Path(image).resolve() == image_of(build).resolve():
            return symbolize.annotate(log, build)
    return log


class Session:
    """A running QEMU the caller talks to while it runs: serial in and out,
    and the human monitor (sendkey, pmemsave, ...).  Always ends QEMU.

        with Session("run=echo count=2") as s:
            s.wait_for("echo: ready")
            s.send_serial(b"x")
            s.monitor("sendkey y")
            b = s.finish(timeout=30)
    """

    def __init__(self, cmdline=None, **machine):
        import threading
        self._tmp = tempfile.TemporaryDirectory(prefix="kwe-session-")
        self.monitor_path = os.path.join(self._tmp.name, "monitor.sock")
        m = Machine(cmdline=cmdline, **machine)
        self.image = m.image
        cmd = m.command()
        i = cmd.index("-monitor")
        cmd[i + 1] = f"unix:{self.monitor_path},server=on,wait=off"
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self._out = bytearray()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._mon = None

    def _read(self):
        for chunk in iter(lambda: self.proc.stdout.read1(4096), b""):
            with self._lock:
                self._out += chunk

    @property
    def log(self):
        with self._lock:
            return bytes(self._out).decode("utf-8", "replace").replace("\r", "")

    def wait_for(self, text, timeout=30):
        import time
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.log:
                return True
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise TimeoutError(f"{text!r} did not appear; serial so far:\n{self.log}")

    def send_serial(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def monitor(self, command, timeout=10):
        """Run an HMP command; returns its output."""
        import time
        if self._mon is None:
            end = time.monotonic() + timeout
            while True:
                try:
                    self._mon = socket.socket(socket.AF_UNIX)
                    self._mon.connect(self.monitor_path)
                    break
                except OSError:
                    self._mon.close()
                    self._mon = None
                    if time.monotonic() > end:
                        raise
                    time.sleep(0.05)
            self._mon.settimeout(timeout)
            self._until_prompt()
        self._mon.sendall(command.encode() + b"\n")
        out = self._until_prompt()
        # The monitor echoes the command as typed (with cursor codes) first.
        return out.split("\r\n", 1)[-1].removesuffix("(qemu) ").replace("\r", "")

    def _until_prompt(self):
        buf = b""
        while not buf.endswith(b"(qemu) "):
            chunk = self._mon.recv(4096)
            if not chunk:
                break
            buf += chunk
        return buf.decode("utf-8", "replace")

    def finish(self, timeout=60):
        """Wait for the kernel to power off (or kill QEMU at the timeout)."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
        self.close()
        self._reader.join(5)
        return Boot(kernel_status(rc), named_crashes(self.log, self.image),
                    self.proc.stderr.read().decode("utf-8", "replace"))

    def close(self):
        if self._mon is not None:
            self._mon.close()
            self._mon = None
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._tmp.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
