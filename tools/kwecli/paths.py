"""Where things are: the checkout, the build directories and their outputs."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
KERNEL_ELF = BUILD / "kernel.elf"
IMAGE = BUILD / "kwe.img"
HOSTED = BUILD / "pyx"          # importable: the hosted package kwe lives here
BUILD_ASAN = ROOT / "build-asan"  # hosted modules only, under ASan+UBSan (kwecli.asan)
HOSTED_ASAN = BUILD_ASAN / "pyx"
# The same kernel, programs and image at -Og (kwecli.build, --debug): its
# own directory, so that switching costs no rebuild of either.
BUILD_DEBUG = ROOT / "build-debug"


def build_dir(debug=False):
    return BUILD_DEBUG if debug else BUILD


def kernel_elf(build=BUILD):
    return build / "kernel.elf"


def image(build=BUILD):
    return build / "kwe.img"


def user_elf(name, build=BUILD):
    """A user program's ELF, with its symbols (the image holds the same file)."""
    return build / "pyx" / "user" / f"{name}.elf"
