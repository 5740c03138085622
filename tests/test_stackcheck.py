"""tools/build/stackcheck.py can fail the build: tiny C files compiled with the
kernel's own gcc flags (from the build's compile_commands.json) with a
recursion, a mutual recursion across two files, a huge frame -- each reported,
exit status 1 -- and a clean input that passes."""
import json
import shlex
import subprocess
import sys

import pytest

from kwecli.paths import BUILD, ROOT

STACKCHECK = ROOT / "tools" / "build" / "stackcheck.py"
sys.path.insert(0, str(STACKCHECK.parent))
import stackcheck  # noqa: E402

SOURCES = {
    "clean.c": """
        __attribute__((noinline)) static int twice(int x) { return 2 * x; }
        __attribute__((noinline)) int leaf(int x) { return x + 1; }
        int entry(int x) { return twice(leaf(x)) + leaf(x + 1); }
    """,
    # Work after the call: no optimisation can make this one a loop.
    "walk.c": """
        struct node { struct node *l, *r; int v; };
        void visit(int v);
        void walk(struct node *n) { if (!n) return; walk(n->l); visit(n->v); walk(n->r); }
    """,
    # A tail call: gcc makes it a loop unless sibling calls are off (stack_c_args).
    "tail.c": """
        static int last(const int *p, int n) { if (n <= 1) return p[0]; return last(p + 1, n - 1); }
        int get_last(const int *p, int n) { return last(p, n); }
    """,
    "ping.c": "int pong(int n); int ping(int n) { return n ? pong(n - 1) + 1 : 0; }",
    "pong.c": "int ping(int n); int pong(int n) { return n ? ping(n - 1) * 3 : 1; }",
    "big.c": """
        void use(volatile char *p);
        void big(void) { volatile char buf[4096]; buf[0] = 1; use(buf); }
    """,
    # Calls CPython: hosted-only glue, never in kernel.elf, so not checked.
    "glue.c": """
        long PyLong_AsLong(void *o);
        long glue(void *o, int n) { return n ? glue(o, n - 1) * 2 + PyLong_AsLong(o) : 0; }
    """,
}


def kernel_cc():
    """The command line the build compiles a kernel module with, minus its
    input, output and dependency files."""
    commands = json.loads((BUILD / "compile_commands.json").read_text())
    entry = next(c for c in commands if c["output"].startswith("libkwekernel.a.p/")
                 and c["output"].endswith(".kernel.c.o"))
    args, keep, skip = shlex.split(entry["command"]), [], False
    for a in args:
        if skip:
            skip = False
        elif a in ("-o", "-c", "-MF", "-MQ"):
            skip = True
        elif a != "-MD":
            keep.append(a)
    return keep


@pytest.fixture(scope="module")
def objects(tmp_path_factory):
    """name.c -> name.c.o (with name.c.ci beside it), compiled from BUILD like the kernel."""
    tmp = tmp_path_factory.mktemp("stackcheck")
    cc, out = kernel_cc(), {}
    assert "-fcallgraph-info=su" in cc and "-fno-optimize-sibling-calls" in cc
    jobs = []
    for name, text in SOURCES.items():
        (tmp / name).write_text(text)
        out[name] = str(tmp / (name + ".o"))
        jobs.append(subprocess.Popen(cc + ["-c", str(tmp / name), "-o", out[name]], cwd=BUILD))
    assert all(j.wait() == 0 for j in jobs)
    return out


def check(objects, *names, args=()):
    r = subprocess.run([sys.executable, str(STACKCHECK), *args, *(objects[n] for n in names)],
                       capture_output=True, text=True)
    return r.returncode, r.stderr


def test_clean_input_passes(objects):
    assert check(objects, "clean.c") == (0, "")


def test_direct_recursion_fails(objects):
    status, err = check(objects, "clean.c", "walk.c")
    assert status == 1
    assert "recursion: walk -> walk" in err


def test_tail_recursion_is_not_hidden_by_the_optimiser(objects):
    status, err = check(objects, "tail.c")
    assert status == 1
    assert "recursion: last -> last" in err


def test_mutual_recursion_across_files_fails(objects):
    status, err = check(objects, "ping.c", "pong.c")
    assert status == 1
    assert "recursion: ping -> pong -> ping" in err
    assert "ping.c" in err and "pong.c" in err            # where each one is


def test_huge_frame_fails(objects):
    status, err = check(objects, "big.c")
    assert status == 1
    assert "bytes > 2048: big" in err
    assert check(objects, "big.c", args=["--max-frame", "8192"])[0] == 0


def test_deep_chain_fails_only_with_a_depth_bound(objects):
    status, err = check(objects, "clean.c", args=["--max-depth", "20"])
    assert status == 1 and "deepest call chain: 24 bytes: entry 16 -> " in err   # a leaf: 8
    assert check(objects, "clean.c", args=["--max-depth", "4096"])[0] == 0


def test_allow_accepts_only_the_named_cycle(objects):
    assert check(objects, "ping.c", "pong.c", args=["--allow", "ping", "--allow", "pong"])[0] == 0
    assert check(objects, "ping.c", "pong.c", "walk.c", args=["--allow", "ping", "--allow", "pong"])[0] == 1


def test_functions_that_call_cpython_are_left_out(objects):
    assert check(objects, "glue.c")[0] == 0


def test_objects_are_read_from_thin_archives(objects, tmp_path):
    lib = tmp_path / "lib.a"
    subprocess.run(["ar", "csrDT", str(lib), objects["walk.c"], objects["clean.c"]], check=True)
    assert sorted(stackcheck.archive_members(str(lib))) == sorted([objects["walk.c"], objects["clean.c"]])
    r = subprocess.run([sys.executable, str(STACKCHECK), str(lib)], capture_output=True, text=True)
    assert r.returncode == 1 and "recursion: walk -> walk" in r.stderr


def test_cython_names_are_shown_as_python_names():
    assert stackcheck.demangle("__pyx_f_3kwe_6events_8workflow_cancel_descendants") == \
        "kwe.events.workflow.cancel_descendants"
    assert stackcheck.demangle("__pyx_f_3kwe_2fs_4fsck_walk_node.isra.0") == "kwe.fs.fsck.walk_node.isra.0"
    assert stackcheck.demangle("memcpy") == "memcpy"


def test_the_kernel_is_not_linked_without_the_check():
    ninja = (BUILD / "build.ninja").read_text()
    link = next(line for line in ninja.splitlines() if line.startswith("build kernel.elf:"))
    assert "stackcheck.txt" in link.partition("|")[2]
    assert "deepest call chain" in (BUILD / "stackcheck.txt").read_text()
