"""Where things are: the checkout, the build directory and its outputs."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
KERNEL_ELF = BUILD / "kernel.elf"
IMAGE = BUILD / "kwe.img"
HOSTED = BUILD / "pyx"          # importable: the hosted package kwe lives here
BUILD_ASAN = ROOT / "build-asan"  # hosted modules only, under ASan+UBSan (kwecli.asan)
HOSTED_ASAN = BUILD_ASAN / "pyx"
