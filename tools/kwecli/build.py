"""Configure (once) and compile the whole build: hosted modules, kernel, image."""
import shutil
import subprocess
import sys

from .paths import BUILD, ROOT


def meson():
    exe = shutil.which("meson")
    if not exe:
        sys.exit("kwe: meson not found (run through tools/kwe, which sets up .venv)")
    return exe


def configure():
    if (BUILD / "build.ninja").exists():
        return
    subprocess.run([meson(), "setup", str(BUILD), str(ROOT)], check=True,
                   stdout=subprocess.DEVNULL)


def build(quiet=False):
    """Build everything; returns True on success (output shown on failure)."""
    configure()
    r = subprocess.run([meson(), "compile", "-C", str(BUILD)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.stdout.write(r.stdout)
        return False
    if not quiet:
        print("kwe: build ok (build/kernel.elf, build/kwe.img, hosted modules in build/pyx)")
    return True
