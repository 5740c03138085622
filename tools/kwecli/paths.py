"""Where things are: the checkout, the build directory and its outputs."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
KERNEL_ELF = BUILD / "kernel.elf"
IMAGE = BUILD / "kwe.img"
HOSTED = BUILD / "pyx"          # importable: the hosted package kwe lives here
