"""The shell, booted: over the serial console as a program drives it, in a
terminal (a pty read through a VT100 emulator) as a person sees it, and on
the VGA screen with the PS/2 keyboard."""
import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest

from conftest import assert_heap_sound
from kwecli import qemu
from kwecli.paths import ROOT

SHELL = "run=init args=shell"
PROMPT = "kwe> "


class Serial:
    """Type at the shell over COM1 and wait for what it answers."""

    def __init__(self, session):
        self.s = session
        self.seen = 0

    def type(self, text, until="\n" + PROMPT, timeout=30):
        """Send text; the output since, up to the next `until` after it (a
        prompt on a line of its own: a redrawn line starts with one too)."""
        start = len(self.s.log)
        self.s.send_serial(text.encode())
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            log = self.s.log
            i = log.find(until, start + 1)
            if i >= 0:
                return log[start:i]
            time.sleep(0.02)
        raise TimeoutError(f"{until!r} after {text!r}; serial:\n{self.s.log[-3000:]}")


@pytest.fixture
def sh():
    with qemu.Session(SHELL) as s:
        s.wait_for(PROMPT, timeout=60)
        yield Serial(s)


def test_builtins_list_and_describe_the_system(sh):
    out = sh.type("help\r")
    assert "ps " in out and "poweroff" in out
    programs = re.search(r"^programs:(.*)$", out, re.M)[1].split()
    assert {"sh", "init", "hello", "wfdemo", "hog"} <= set(programs)
    ps = sh.type("ps\r")
    rows = {m[3]: m for m in re.findall(r"^\s*(\d+)\s+(\d+) ([RBZ]).* (\w+)( \(console\))?$", ps, re.M)}
    assert rows["sh"][4] == " (console)" and rows["sh"][1] == rows["init"][0] == "1"
    stat = sh.type("stat\r")
    assert re.search(r"memory: \d+ of \d+ KiB free", stat) and "console: pid " + rows["sh"][0] in stat
    assert re.search(r"deck steps: \d+ in all; execution \d+ operations \d+ hardware [1-9]", stat)
    assert re.search(r"up \d+\.\d{3} s \(\d+ ticks at 100 Hz\)", sh.type("uptime\r"))


def test_files_put_ls_cat_tag_rm(sh):
    sh.type("put note lang=en\r", until="> ")
    sh.type("first line\r", until="> ")
    sh.type("second\r", until="> ")
    out = sh.type(".\r")
    fid = re.search(r"file (\d+): 18 bytes", out)[1]
    assert re.search(rf"^\s*{fid}\s+18  note lang=en$", sh.type("ls note\r"), re.M)
    assert sh.type(f"cat {fid}\r").endswith("first line\nsecond")
    sh.type(f"tag {fid} starred\r")
    assert fid in sh.type("ls starred AND note\r")
    sh.type(f"untag {fid} starred\r")
    assert "E_NOENT" in sh.type("ls starred\r") or fid not in sh.type("ls starred\r")
    sh.type(f"rm {fid}\r")
    assert "E_NOENT" in sh.type(f"cat {fid}\r")
    assert "give a file id" in sh.type("cat nonsense\r")


def test_programs_foreground_background_and_errors(sh):
    out = sh.type("hello a b\r")
    assert "hello from pid" in out and "args 'a b'" in out
    out = sh.type("hello bg &\r")
    pid = re.search(r"\[(\d+)\] started", out)[1]
    sh.type("wait\r")
    assert f"[{pid}] done" in sh.s.log                       # before or during the wait
    out = sh.type("nosuch x\r")
    assert "sh: nosuch: E_NOENT" in out and "help lists the programs" in out
    assert "E_PERM" in sh.type("kill 1\r")                   # init: an ancestor of the shell
    assert "give a pid" in sh.type("kill\r")


def test_ctrl_c_ends_the_foreground_job_only(sh):
    out = sh.type("counter 2 &\r")
    bg = re.search(r"\[(\d+)\] started", out)[1]
    sh.type("hog 60000\r", until="hog: spinning")
    out = sh.type("\x03")
    assert "^C" in out and "hog done" not in out
    ps = sh.type("ps\r")
    assert "hog" not in ps and "sh (console)" in ps
    sh.type("wait\r", timeout=60)
    assert f"[{bg}] done" in sh.s.log


def test_workflow_files_listed_shown_run_and_written(sh):
    listed = sh.type("wf list\r")
    assert re.search(r"^\s*\d+  type=workflow name=fanout$", listed, re.M), listed
    shown = sh.type("wf show failure\r")
    assert "  child        crc32        <- bad -> grandchild" in shown, shown
    assert "  hopeless     flaky        args 5 retries 2 backoff 5 ms" in shown, shown
    out = sh.type("wf run failure\r")
    assert re.search(r"^  child        E_CANCELLED  attempts 0 +\d+ ms  value 0x0  no output$", out, re.M), out
    assert "wf failure: E_BADDATA: malformed input data; 2 done, 2 failed, 2 cancelled" in out, out
    assert "first failure: node bad" in out
    sh.type("put type=workflow name=mine\r", until="> ")
    sh.type('node a = nop data "hi there"\r', until="> ")
    sh.type("node b = djb2 from a\r", until="> ")
    sh.type(".\r")
    mine = sh.type("wf run mine\r")
    assert re.search(r'^  a +E_OK +attempts 1 +\d+ ms  value 0x0  "hi there" \(8 bytes\)$', mine, re.M), mine
    assert "wf mine: E_OK: success; 2 done, 0 failed, 0 cancelled" in mine, mine
    sh.type("put type=workflow name=broken\r", until="> ")
    sh.type("node b = djb2 from z\r", until="> ")
    sh.type(".\r")
    bad = sh.type("wf run broken\r")
    assert "wf: broken:1:20: 'z' is not a node defined above (a node names only earlier ones)" in bad, bad
    assert "no file matches `type=workflow AND name=nosuch`" in sh.type("wf run nosuch\r")
    assert "run NAME|ID, show NAME|ID or list" in sh.type("wf frobnicate\r")


def test_trace_on_off_and_poweroff(sh):
    assert "trace: on" in sh.type("trace on\r")
    assert "tracing on" in sh.type("stat\r")
    sh.type("hello traced\r")
    assert "trace: off" in sh.type("trace off\r")
    sh.s.send_serial(b"poweroff\r")
    b = sh.s.finish(timeout=60)
    assert b.ok, b.log[-3000:]
    assert "TRACE-BEGIN" in b.log and "every page came back" in b.log
    assert_heap_sound(b.log)


def test_line_editing_history_and_completion_over_serial(sh):
    out = sh.type("hxllo\x1b[D\x1b[D\x1b[D\x7fe\r")              # left x3, backspace, e
    assert "hello from pid" in out
    out = sh.type("\x1b[A\r")                                   # up: the same again
    assert "hello from pid" in out
    out = sh.type("upt\t\r")                                     # Tab: the one match
    assert re.search(r"up \d+\.\d{3} s", out)
    out = sh.type("he\t\t", until="kwe> hel")                    # two matches: listed
    assert "help  hello" in out
    sh.type("\x15\r")                                           # Ctrl-U: nothing left to run


# ---- as a person sees it --------------------------------------------------------------------
class Terminal:
    """tools/kwe run in a pty, its screen kept by pyte."""

    def __init__(self, args=()):
        import pyte
        self.screen = pyte.Screen(100, 40)
        self.stream = pyte.ByteStream(self.screen)
        self.master, slave = pty.openpty()
        env = dict(os.environ, TERM="xterm")
        self.proc = subprocess.Popen([sys.executable, "-m", "kwecli", "run", *args], cwd=ROOT, env=env,
                                     stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                                     start_new_session=True)
        os.close(slave)

    def pump(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            r, _, _ = select.select([self.master], [], [], 0.05)
            if r:
                try:
                    self.stream.feed(os.read(self.master, 65536))
                except OSError:
                    return

    def text(self):
        return "\n".join(line.rstrip() for line in self.screen.display)

    def last_line(self):
        lines = [l for l in self.text().splitlines() if l.strip()]
        return lines[-1] if lines else ""

    def wait_for(self, pattern, timeout=60, last=False):
        """pattern on the screen (last: on its last line, where the cursor is)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.pump(0.1)
            if re.search(pattern, self.last_line() if last else self.text(), re.M):
                return
            if self.proc.poll() is not None:
                self.pump(0.5)
                break
        raise TimeoutError(f"{pattern!r} not on the screen:\n{self.text()}")

    def type(self, data):
        for ch in data:
            os.write(self.master, ch.encode())
            self.pump(0.03)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        os.close(self.master)


def test_the_shell_in_a_terminal():
    t = Terminal(["--timeout", "120"])
    try:
        t.wait_for(r"^kwe>$", timeout=90, last=True)
        t.type("hxllo from the pty\x1b[H\x1b[C\x1b[C\x7fe\r")    # Home, right, right, backspace, e (Ctrl-A is QEMU's)
        t.wait_for(r"^kwe> hello from the pty\nhello from pid \d+ \(hello\), args 'from the pty'$")
        t.wait_for(r"^kwe>$", last=True)
        t.type("\x1b[A")                                          # up: the line comes back
        t.wait_for(r"^kwe> hello from the pty$", last=True)
        t.type("\x15wf run retry\r")                              # Ctrl-U, then a workflow file
        t.wait_for(r"^wf retry: E_OK: success; 2 done, 0 failed, 0 cancelled in \d+ ms$")
        t.wait_for(r"^kwe>$", last=True)
        t.type("\x15hog 60000\r")                                 # Ctrl-U, then a long job
        t.wait_for(r"^hog: spinning for 60000 ms$")
        t.type("\x03")                                            # Ctrl-C reaches the guest
        t.wait_for(r"^\^C\nkwe>$")
        t.type("poweroff\r")
        assert t.proc.wait(timeout=60) == 0
        t.pump(0.5)
        assert "kernel status 0 (ok)" in t.text()
    finally:
        t.close()


def test_the_shell_on_vga_and_the_keyboard(tmp_path):
    dump = tmp_path / "vga.bin"
    with qemu.Session(SHELL) as s:
        s.wait_for(PROMPT, timeout=60)
        for key in ("p", "s", "ret"):
            s.monitor(f"sendkey {key}")
        s.wait_for("(console)", timeout=30)
        for key in ("h", "e", "l", "l", "x", "o", "left", "backspace", "up", "down", "ret"):
            s.monitor(f"sendkey {key}")
        s.wait_for("hello from pid", timeout=30)
        time.sleep(0.5)
        s.monitor(f'pmemsave 0xb8000 4000 "{dump}"')
        s.send_serial(b"poweroff\r")
        b = s.finish(timeout=60)
    assert b.ok, b.log[-2000:]
    cells = dump.read_bytes()
    screen = [bytes(cells[r * 160:(r + 1) * 160:2]).decode("ascii", "replace").rstrip() for r in range(25)]
    assert any(line.startswith("kwe> ps") for line in screen), screen
    assert any("PID  PPID" in line for line in screen) and any("sh (console)" in line for line in screen)
    assert "kwe> hello" in screen, screen        # the x went, and down brought the line back from history
