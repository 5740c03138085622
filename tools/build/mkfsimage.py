#!/usr/bin/env python3
"""Build step: the image's TagFS with every user program in it.

    mkfsimage.py --hosted BUILD/pyx --size 32M -o fs.img [--workflow F.wf]... PROGRAM.elf...

Runs the kernel's own TagFS code (the hosted build in BUILD/pyx); each
program is tagged type=program name=NAME crc32=XXXXXXXX, each workflow file
type=workflow name=NAME (checked by kwe.common.wflang first)."""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosted", required=True, help="the directory holding the hosted package kwe")
    ap.add_argument("--size", default="32M")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--workflow", action="append", default=[], help="a workflow file to put on it")
    ap.add_argument("programs", nargs="*")
    a = ap.parse_args()
    sys.path[:0] = [a.hosted, os.path.join(HERE, "..")]
    from kwecli import fs
    fs.build_image(a.output, a.size, a.programs, a.workflow)


if __name__ == "__main__":
    main()
