#!/usr/bin/env python3
"""Cython -> C for both builds of a KWE module.

    cy2c.py --mode hosted|kernel --module-name kwe.NAME -I PYX_DIR IN.pyx OUT.c

hosted: plain Cython output, an ordinary extension module.

kernel: the same output, made linkable without Python.  Cython connects
modules through PyCapsules: a module that cimports a cdef function gets a
static function *pointer* that module import fills in, and the defining
module keeps the function static.  The kernel never imports modules, so this
pass turns each imported pointer into an extern declaration and gives each
exported function external linkage; calls become direct calls and the linker
resolves them.  It also refuses what cannot work without module import:
module-level initializers of cdef variables, cimported module variables, and
a module variable that a function shadows with a local (a missing `global`).
"""
import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cimports  # noqa: E402

DIRECTIVES = ["boundscheck=False", "wraparound=False", "cdivision=True",
              "initializedcheck=False", "nonecheck=False", "embedsignature=False"]


def run_cython(module, include, src, out):
    cmd = [sys.executable, "-m", "cython", "-3", "--line-directives",
           "--module-name", module, "-I", include, "-o", out, os.path.abspath(src)]
    for d in DIRECTIVES:
        cmd += ["-X", d]
    subprocess.run(cmd, check=True)


IMPORTED = re.compile(r"^static (.+?)\(\*(__pyx_f_\w+)\)\((.*)\); /\*proto\*/$", re.M)
EXPORTED = re.compile(r"\(void \(\*\)\(void\)\)&(__pyx_f_\w+)")


def module_exec_body(src):
    m = re.search(r"^static \w+ int __pyx_pymod_exec_\w+\(PyObject \*\w+\)$", src, re.M)
    if not m:
        sys.exit("cy2c: cannot find the module exec function (Cython version changed?)")
    end = src.find("\n}\n", m.end())
    return src[m.end():end]


def shadowed_module_variables(src, module):
    """Module variables that a function also has as a local: an assignment
    without `global` makes one, and the module's variable never changes."""
    prefix = "".join(f"{len(part)}{part}_" for part in module.split("."))
    module_vars = set(re.findall(r"^static [^(;=]*\b__pyx_v_%s(\w+)\b" % re.escape(prefix), src, re.M))
    # (with --line-directives the declaration's ";" follows a #line line)
    local_vars = set(re.findall(r"^[ \t]+(?:CYTHON_UNUSED )?[\w ]+?[ *]__pyx_v_(\w+)(?:\[[^]]*\])*\s*(?:#line .*\n\s*)?;",
                                src, re.M))
    return sorted(module_vars & local_vars)


def kernelize(src, name, module):
    problems = []
    for var in shadowed_module_variables(src, module):
        problems.append(f"{var} is a module variable and a function's local; say `global {var}`"
                        " where the module's is meant, or rename the local")
    if re.search(r"^static \S.*\*__pyx_vp_\w+;", src, re.M):
        problems.append("cimports a module variable; share state through functions instead")
    # "= 0" and "= NULL" match the cleared .bss; anything else would be lost.
    for var in sorted(set(re.findall(r"^\s*(__pyx_v_\w+) = (?!0;|NULL;)", module_exec_body(src), re.M))):
        problems.append(f"module-level initializer of {var} would never run in the kernel;"
                        " leave it zero and set it in an init function")
    if problems:
        sys.exit("\n".join(f"{name}: {p}" for p in problems))
    src = IMPORTED.sub(r"\1\2(\3); /*proto: direct call in the kernel*/", src)
    for fn in set(EXPORTED.findall(src)):
        src = re.sub(r"^static ((?:CYTHON_INLINE )?[^;=(]*\b%s\()" % fn, r"\1", src, flags=re.M)
    return src


def write_depfile(module, include, src, out):
    """OUT.dep for ninja: every .pxd and include the module reads, found by
    cimports (not Cython's --depfile, which misses `from pkg cimport a, b`),
    and the build scripts themselves."""
    here = os.path.dirname(os.path.abspath(__file__))
    deps = cimports.dependencies(os.path.abspath(src), os.path.abspath(include), module)
    deps += [os.path.join(here, "cy2c.py"), os.path.join(here, "cimports.py")]
    with open(out + ".dep", "w") as f:
        f.write(out + ": " + " \\\n  ".join(deps) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["hosted", "kernel"], required=True)
    ap.add_argument("--module-name", required=True)
    ap.add_argument("-I", dest="include", required=True)
    ap.add_argument("src")
    ap.add_argument("out")
    a = ap.parse_args()
    run_cython(a.module_name, a.include, a.src, a.out)
    write_depfile(a.module_name, a.include, a.src, a.out)
    if a.mode == "kernel":
        with open(a.out) as f:
            text = f.read()
        with open(a.out, "w") as f:
            f.write(kernelize(text, a.src, a.module_name))


if __name__ == "__main__":
    main()
