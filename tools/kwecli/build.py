"""Configure (once) and compile the whole build: hosted modules, kernel, image."""
import shutil
import subprocess
import sys
import time

from .paths import BUILD, ROOT

PROGRAMS = ROOT / "pyx/user/programs"
PROGRAMS_SEEN = BUILD / ".kwe-programs"     # the programs the build was configured with


def meson():
    exe = shutil.which("meson")
    if not exe:
        sys.exit("kwe: meson not found (run through tools/kwe, which sets up .venv)")
    return exe


def programs():
    """The program names, one per line, as pyx/user/meson.build sees them."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("programs", ROOT / "tools/build/programs.py")
    listing = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(listing)
    return "\n".join(listing.names(PROGRAMS))


def configure():
    """meson setup the first time; again when a program was added or removed
    (meson does not watch directories)."""
    if (BUILD / "build.ninja").exists():
        if PROGRAMS_SEEN.exists() and PROGRAMS_SEEN.read_text() == programs():
            return
        args = ["--reconfigure"]
        print("kwe: the programs in pyx/user/programs changed; reconfiguring", file=sys.stderr)
    else:
        args = []
        print("kwe: configuring the build in build/ (meson)", file=sys.stderr)
    r = subprocess.run([meson(), "setup", *args, str(BUILD), str(ROOT)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.stdout.write(r.stdout)
        sys.exit("kwe: meson setup failed (above)")
    PROGRAMS_SEEN.write_text(programs())


def build(quiet=False):
    """Build everything; returns True on success (output shown on failure).
    A long build says how far it is, a line every few seconds."""
    configure()
    start = time.monotonic()
    p = subprocess.Popen([meson(), "compile", "-C", str(BUILD)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, last = [], start
    for line in p.stdout:
        out.append(line)
        now = time.monotonic()
        if line.startswith("[") and now - last >= 5:
            step = line.split("]", 1)[0] + "]"
            print(f"kwe: building {step} {now - start:.0f} s", file=sys.stderr)
            last = now
    if p.wait() != 0:
        sys.stdout.write("".join(out))
        return False
    if not quiet or time.monotonic() - start >= 5:
        print(f"kwe: build ok in {time.monotonic() - start:.0f} s (build/kernel.elf, build/kwe.img, "
              "hosted modules in build/pyx)", file=sys.stderr if quiet else sys.stdout)
    return True
