"""Configure (once) and compile the whole build: hosted modules, kernel, image."""
import shutil
import subprocess
import sys
import time

from .paths import BUILD_DEBUG, ROOT, build_dir

PROGRAMS = ROOT / "pyx/user/programs"
PROGRAMS_SEEN = ".kwe-programs"     # in a build directory: the programs it was configured with
# The debug build (build-debug/): -Og, which keeps locals and follows the
# .pyx lines in gdb; -g comes with the default buildtype (debugoptimized).
# Everything else -- flags, checks, layout -- is meson.build's, as in build/.
DEBUG_OPTIONS = ["-Doptimization=g"]


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


def setup_options(build):
    return DEBUG_OPTIONS if build == BUILD_DEBUG else []


def configure(build):
    """meson setup the first time; again when a program was added or removed
    (meson does not watch directories)."""
    seen = build / PROGRAMS_SEEN
    if (build / "build.ninja").exists():
        if seen.exists() and seen.read_text() == programs():
            return
        args = ["--reconfigure"]
        print("kwe: the programs in pyx/user/programs changed; reconfiguring", file=sys.stderr)
    else:
        args = setup_options(build)
        print(f"kwe: configuring the build in {build.name}/ (meson{' ' if args else ''}{' '.join(args)})",
              file=sys.stderr)
    r = subprocess.run([meson(), "setup", *args, str(build), str(ROOT)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.stdout.write(r.stdout)
        sys.exit("kwe: meson setup failed (above)")
    seen.write_text(programs())


def build(quiet=False, debug=False):
    """Build everything (in build-debug/ at -Og if debug); returns True on
    success (output shown on failure).  A long build says how far it is, a
    line every few seconds."""
    build = build_dir(debug)
    configure(build)
    start = time.monotonic()
    p = subprocess.Popen([meson(), "compile", "-C", str(build)],
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
        d = build.name
        print(f"kwe: build ok in {time.monotonic() - start:.0f} s ({d}/kernel.elf, {d}/kwe.img, "
              f"hosted modules in {d}/pyx)", file=sys.stderr if quiet else sys.stdout)
    return True
