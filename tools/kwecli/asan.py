"""The hosted sanitizer build, build-asan/: the hosted modules (kernel code,
hal_sim and Cython's own glue) compiled with ASan and UBSan (meson
-Dsanitize=true; no kernel or image there), and the environment a Python
needs to load them.

The simulated RAM is one mmap ASan knows nothing about; the allocators that
carve it up poison what is free (runtime/sanitize.h), so kernel code running
hosted that strays into free memory is reported at the access.

CPython is not built with ASan, so the sanitizer runtimes must be loaded
before anything else (LD_PRELOAD), and leak checking is off: CPython keeps
memory until exit by design."""
import functools
import json
import os
import subprocess
import sys
from pathlib import Path

from .build import meson
from .paths import BUILD_ASAN, HOSTED, HOSTED_ASAN, ROOT

# abort_on_error: a report ends the process with SIGABRT, which no test can
# mistake for an ordinary failure exit.  UBSan reports already abort
# (-fno-sanitize-recover); print_stacktrace says where.
ASAN_OPTIONS = "detect_leaks=0:abort_on_error=1:halt_on_error=1"
UBSAN_OPTIONS = "print_stacktrace=1:halt_on_error=1:abort_on_error=1"


def configure():
    if (BUILD_ASAN / "build.ninja").exists():
        # a module added since: regenerate first, so that modules() knows it
        subprocess.run([str(Path(sys.executable).parent / "ninja"), "-C", str(BUILD_ASAN), "build.ninja"],
                       check=True, stdout=subprocess.DEVNULL)
        return
    subprocess.run([meson(), "setup", str(BUILD_ASAN), str(ROOT), "-Dsanitize=true"],
                   check=True, stdout=subprocess.DEVNULL)


def modules():
    """{dotted name: (hosted .pyx, meson target)} of every hosted module, as
    build-asan's introspection names them (hal's source is hal_sim.pyx)."""
    found = {}
    targets = json.loads((BUILD_ASAN / "meson-info" / "intro-targets.json").read_text())
    for t in targets:
        cmd = t["target_sources"][0].get("compiler", [])
        if t["type"] == "custom" and "--module-name" in cmd:
            found.setdefault(cmd[cmd.index("--module-name") + 1], [None, None])[0] = \
                t["target_sources"][0]["sources"][0]
        elif t["type"] == "shared module":
            rel = Path(t["filename"][0]).relative_to(BUILD_ASAN.resolve())
            dotted = ".".join(rel.parts[1:-1] + (rel.name.split(".")[0],))
            found.setdefault(dotted, [None, None])[1] = str(rel)
    return {name: tuple(v) for name, v in found.items() if None not in v}


def imported_with(roots):
    """The meson targets of `roots` and of every module they cimport,
    transitively: what importing them loads (a superset does no harm)."""
    if str(ROOT / "tools" / "build") not in sys.path:
        sys.path.insert(0, str(ROOT / "tools" / "build"))
    import cimports
    known, todo, seen = modules(), list(roots), set()
    while todo:
        name = todo.pop()
        if name in seen or name not in known:
            continue
        seen.add(name)
        todo += cimports.cimported_modules(Path(known[name][0]).read_text(), str(ROOT / "pyx"))
    return sorted(known[name][1] for name in seen)


def build(only=(), quiet=False):
    """Configure (once) and compile build-asan -- all of it, or only the
    modules `only` (dotted names) and what they import, which is much
    quicker from cold; returns True on success."""
    configure()
    targets = imported_with(only) if only else []
    r = subprocess.run([meson(), "compile", "-C", str(BUILD_ASAN), *targets],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.stdout.write(r.stdout)
        return False
    if not quiet:
        print(f"kwe: sanitizer build ok (hosted modules in {HOSTED_ASAN.relative_to(ROOT)})")
    return True


def compiler():
    """The C compiler build-asan was configured with: its runtimes must match."""
    info = BUILD_ASAN / "meson-info" / "intro-compilers.json"
    if info.exists():
        return json.loads(info.read_text())["host"]["c"]["exelist"]
    return [os.environ.get("CC", "cc")]


@functools.cache
def runtimes():
    """ASan's and UBSan's shared runtime libraries (absolute paths)."""
    found = []
    for lib in ("libasan.so", "libubsan.so"):
        out = subprocess.run([*compiler(), f"-print-file-name={lib}"], capture_output=True,
                             text=True, check=True).stdout.strip()
        if not os.path.isabs(out):
            sys.exit(f"kwe: the compiler has no {lib} (install libasan/libubsan)")
        found.append(os.path.realpath(out))
    return found


def env(base=None):
    """An environment in which Python imports build-asan's kwe under the sanitizers."""
    e = dict(os.environ if base is None else base)
    preload = [p for p in e.get("LD_PRELOAD", "").split(":") if p]
    e["LD_PRELOAD"] = ":".join(runtimes() + preload)
    for name, ours in (("ASAN_OPTIONS", ASAN_OPTIONS), ("UBSAN_OPTIONS", UBSAN_OPTIONS)):
        e[name] = ":".join(filter(None, [ours, e.get(name)]))     # the caller's win
    e["PYTHONMALLOC"] = "malloc"      # Python's objects in ASan's heap too, not in pymalloc arenas
    # build-asan's kwe, never the ordinary build's that tools/kwe test puts on the path
    inherited = [p for p in e.get("PYTHONPATH", "").split(os.pathsep)
                 if p and Path(p).resolve() != HOSTED.resolve()]
    e["PYTHONPATH"] = os.pathsep.join([str(HOSTED_ASAN), str(ROOT / "tools"), *inherited])
    return e


def python(args, **kw):
    """Run Python with `args` under the sanitizers (subprocess.run's keywords)."""
    return subprocess.run([sys.executable, *args], env=env(), cwd=kw.pop("cwd", ROOT), **kw)


def names_a_path(arg):
    return not arg.startswith("-") and (ROOT / arg.split("::")[0]).exists()


def test(pytest_args):
    """pytest under the sanitizers: tests/hosted unless the arguments name tests."""
    if not build(quiet=True):
        return 1
    where = [] if any(names_a_path(a) for a in pytest_args) else ["tests/hosted"]
    # A report is written to fd 2 and then the process aborts: pytest's fd
    # capture would swallow it with the test's other output.
    return python(["-m", "pytest", "--capture=sys", *where, *pytest_args]).returncode
