#!/usr/bin/env python3
"""The kernel's stack budget, checked on gcc's call graph.

    stackcheck.py [--max-frame BYTES] [--max-depth BYTES] [--allow NAME]...
                  [-o REPORT [--depfile DEP]] OBJECT_OR_THIN_ARCHIVE...

A kernel stack is 16 KiB with a guard page below it; nothing grows it.  So
the kernel may not recurse (the depth would depend on the data, not the
code) and no single frame may take a large part of the stack.  gcc writes,
with -fcallgraph-info=su, one VCG file per object (foo.c.o -> foo.c.ci)
holding each function's frame size and the calls it makes after
optimisation.  This joins them into one call graph and fails on:

  - a cycle (direct or mutual recursion), printed as the chain of calls;
  - a frame larger than --max-frame, or one gcc cannot bound (alloca, VLA);
  - with --max-depth, a call chain whose frames add up to more than that.

Calls through function pointers show up as calls to `__indirect_call` and
cannot be followed: the functions they reach count as entry points, so a
cycle that passes through a pointer is not seen, and the deepest chain is a
lower bound across such calls.

A frame is what gcc's -fstack-usage counts: locals, saved registers and
the return address.  Objects that are not compiled C (foo.S.o) have no call
graph and are skipped; a thin archive (foo.a) stands for its objects.
--allow NAME accepts a recursion whose functions are all named so, while
it is being removed elsewhere; the report names it every time.
"""
import argparse
import os
import re
import sys
from dataclasses import dataclass, field

INDIRECT = "__indirect_call"
NODE = re.compile(r'^node: \{ title: "([^"]*)" label: "([^"]*)"')
EDGE = re.compile(r'^edge: \{ sourcename: "([^"]*)" targetname: "([^"]*)"(?: label: "([^"]*)")?')
# "4072 bytes (static)", "48 bytes (dynamic,bounded)", "32 bytes (dynamic)".
FRAME = re.compile(r"(\d+) bytes \(([a-z,]+)\)")


@dataclass
class Function:
    key: str                        # unique in the program (static ones carry their file)
    name: str                       # the C symbol, clones keep their suffix (.part.0)
    where: str = ""                 # file:line:col of the definition
    frame: int | None = None        # bytes incl. return address; None: not defined here
    bounded: bool = True            # False: alloca or a VLA gcc cannot bound
    calls: dict = field(default_factory=dict)   # callee key -> call site
    indirect: bool = False          # calls through a function pointer


# ---- reading gcc's .ci files -------------------------------------------------

def ci_path(obj):
    """gcc names the call graph after the object minus its last suffix."""
    return obj[:-2] + ".ci" if obj.endswith(".o") else obj


def is_c_object(obj):
    return obj.endswith(".c.o") or obj.endswith(".ci")


def node_key(title, unit):
    # gcc qualifies static functions as "file:name"; C names have no ':'.
    # The unit is added too, in case two sources share a file name.
    return f"{unit}|{title}" if ":" in title else title


def read_ci(path, graph):
    with open(path) as f:
        for line in f:
            if m := NODE.match(line):
                add_node(graph, node_key(m[1], path), m[2])
            elif m := EDGE.match(line):
                add_edge(graph, node_key(m[1], path), node_key(m[2], path), m[3] or "")


def add_node(graph, key, label):
    parts = label.split("\\n")
    fn = graph.setdefault(key, Function(key, parts[0]))
    fn.name = parts[0]                  # an edge may have named it by its title first
    if len(parts) >= 3 and (m := FRAME.match(parts[2])):
        fn.where = parts[1]
        fn.frame = int(m[1])
        fn.bounded = m[2] != "dynamic"


def add_edge(graph, src, dst, site):
    caller = graph.setdefault(src, Function(src, src))
    if dst.endswith(INDIRECT):
        caller.indirect = True
    else:
        caller.calls.setdefault(dst, site)
        graph.setdefault(dst, Function(dst, dst))


def archive_members(path):
    """The objects of a thin archive (meson's kind for a library it does not
    install), which stores their paths instead of their contents."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(b"!<thin>\n"):
        sys.exit(f"stackcheck: {path} is not a thin archive: pass the objects instead")
    pos, long_names, members = 8, b"", []
    while pos + 60 <= len(data):
        name, size = data[pos:pos + 16].decode().rstrip(), int(data[pos + 48:pos + 58])
        pos += 60
        if name in ("/", "/SYM64/", "//"):     # the symbol and name tables are stored
            if name == "//":
                long_names = data[pos:pos + size]
            pos += size + (size & 1)
            continue
        if m := re.match(r"/(\d+)", name):      # "/OFFSET": a long name, ended by "/\n"
            start = int(m[1])
            name = long_names[start:long_names.index(b"/\n", start)].decode()
        members.append(os.path.join(os.path.dirname(path), name.removesuffix("/")))
    return members


def objects_of(inputs):
    objs = []
    for path in inputs:
        objs += archive_members(path) if path.endswith(".a") else [path]
    return objs


def load(inputs):
    graph = {}
    cis = [ci_path(o) for o in objects_of(inputs) if is_c_object(o)]
    for path in cis:
        try:
            read_ci(path, graph)
        except FileNotFoundError:
            sys.exit(f"stackcheck: {path} missing: is the kernel C compiled with"
                     " -fcallgraph-info=su?")
    return graph, cis


# ---- what is in the kernel -----------------------------------------------------

PYTHON_API = re.compile(r"_?Py[A-Z_]")


def hosted_only(graph):
    """Functions that call CPython's C API, directly or through other calls.
    kernel.elf links no libpython and has no undefined symbols (tests/test_build.py),
    so none of these can be in it: they are Cython's glue for the hosted module
    (argument conversion, module init), compiled for the kernel too and dropped
    by --gc-sections.  Everything else compiled is checked, used or not."""
    callers = {}
    for v, fn in graph.items():
        for w in fn.calls:
            callers.setdefault(w, []).append(v)
    todo = [k for k, f in graph.items() if f.frame is None and PYTHON_API.match(f.name)]
    seen = set(todo)
    while todo:
        for v in callers.get(todo.pop(), []):
            if v not in seen:
                seen.add(v)
                todo.append(v)
    return seen


def without(graph, drop):
    for k in drop:
        del graph[k]
    for fn in graph.values():
        fn.calls = {w: site for w, site in fn.calls.items() if w not in drop}
    return graph


# ---- names -------------------------------------------------------------------

def demangle(name):
    """__pyx_f_3kwe_6events_8workflow_cancel_descendants -> kwe.events.workflow.cancel_descendants

    Cython writes each part of the qualified name as its length and the part;
    what follows the last part is the function's own name.  Anything else
    (C functions, Cython's helpers) is shown as it is."""
    base, dot, suffix = name.partition(".")
    if not base.startswith("__pyx_f_"):
        return name
    rest, parts = base[len("__pyx_f_"):], []
    while m := re.match(r"(\d+)", rest):
        n = int(m[1])
        start = len(m[1])
        parts.append(rest[start:start + n])
        rest = rest[start + n:].removeprefix("_")
    return ".".join(parts + [rest]) + dot + suffix


def matches(fn, names):
    """Is fn named in names, by its C name or its Python one (clones too)?"""
    base = fn.name.partition(".")[0]
    return base in names or demangle(base) in names


# ---- the checks --------------------------------------------------------------

def strongly_connected(graph):
    """Tarjan's algorithm with an explicit stack (the checker does not
    recurse either: a long call chain would hit Python's limit)."""
    index, low, on_stack, stack, sccs = {}, {}, set(), [], []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root].calls))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    sccs.append(pop_component(stack, on_stack, v))
            elif w not in index:
                index[w] = low[w] = len(index)
                stack.append(w)
                on_stack.add(w)
                work.append((w, iter(graph[w].calls)))
            elif w in on_stack:
                low[v] = min(low[v], index[w])
    return sccs


def pop_component(stack, on_stack, v):
    comp = []
    while True:
        w = stack.pop()
        on_stack.discard(w)
        comp.append(w)
        if w == v:
            return comp


def cycles(graph):
    """Every strongly connected component with a cycle in it."""
    return [c for c in strongly_connected(graph)
            if len(c) > 1 or c[0] in graph[c[0]].calls]


def one_cycle(graph, comp):
    """A shortest chain of calls from the component's first member back to
    itself (breadth first), to show in the message."""
    members, start = set(comp), min(comp)
    prev, frontier = {}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in graph[v].calls:
                if w == start:
                    return chain(prev, v, start)
                if w in members and w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return [start, start]


def chain(prev, last, start):
    path = [last]
    while path[-1] != start:
        path.append(prev[path[-1]])
    return path[::-1] + [start]


def big_frames(graph, limit):
    return sorted((f for f in graph.values() if f.frame is not None
                   and (f.frame > limit or not f.bounded)), key=lambda f: -f.frame)


def chain_costs(graph, ignore):
    """For each function, the costliest call chain from it: (bytes, next call).
    Longest paths by frame size over the call graph without the edges in
    `ignore` (allowed cycles); Tarjan's components come callees first, so each
    function is done after what it calls."""
    cost, best_next = {}, {}
    for comp in strongly_connected(graph):
        for v in comp:
            fn = graph[v]
            callees = [w for w in fn.calls if (v, w) not in ignore and w in cost]
            top = max(callees, key=lambda w: cost[w], default=None)
            cost[v] = (fn.frame or 0) + (cost[top] if top else 0)
            best_next[v] = top
    return cost, best_next


def deepest(graph, ignore):
    """The costliest chain of all, as (bytes, [functions]), and the entry
    points (functions nothing calls directly) by their costliest chain."""
    cost, best_next = chain_costs(graph, ignore)
    called = {w for fn in graph.values() for w in fn.calls}
    entries = sorted((v for v in cost if v not in called), key=lambda v: -cost[v])
    path = entries[:1]
    while path and best_next[path[-1]]:
        path.append(best_next[path[-1]])
    return (cost[path[0]] if path else 0), path, [(v, cost[v]) for v in entries]


# ---- the report --------------------------------------------------------------

def show(graph, key):
    fn = graph[key]
    return demangle(fn.name) + (f" ({fn.where})" if fn.where else "")


def check(graph, max_frame, max_depth, allow):
    """Returns (errors, notes): lines for the report."""
    errors, notes, ignore = [], [], set()
    for comp in cycles(graph):
        path = one_cycle(graph, comp)
        text = " -> ".join(demangle(graph[k].name) for k in path)
        if all(matches(graph[k], allow) for k in comp):
            notes.append(f"allowed recursion (--allow): {text}")
            ignore |= {(v, w) for v in comp for w in graph[v].calls if w in comp}
        else:
            errors.append(f"recursion: {text}")
            errors += [f"    {show(graph, k)}" for k in path[:-1]]
    for fn in big_frames(graph, max_frame):
        kind = "unbounded frame (alloca or a variable-length array)" if not fn.bounded \
            else f"frame of {fn.frame} bytes > {max_frame}"
        errors.append(f"{kind}: {show(graph, fn.key)}")
    depth, path, entries = deepest(graph, ignore)
    notes.append(f"deepest call chain: {depth} bytes: " +
                 " -> ".join(f"{demangle(graph[k].name)} {graph[k].frame or 0}" for k in path))
    notes.append("deepest entry points (called by nothing, or only through pointers): " +
                 ", ".join(f"{demangle(graph[k].name)} {n}" for k, n in entries[:8]))
    if max_depth and depth > max_depth:
        errors.append(f"call chain of {depth} bytes > {max_depth}: see the deepest chain below")
    return errors, notes


def largest(graph, n=10):
    fns = sorted((f for f in graph.values() if f.frame), key=lambda f: -f.frame)[:n]
    return [f"  {f.frame:6d}  {show(graph, f.key)}" for f in fns]


def summary(graph, cis, glue):
    defined = sum(f.frame is not None for f in graph.values())
    pointers = sum(f.indirect for f in graph.values())
    return [f"{len(cis)} call graphs: {defined} functions checked, {glue} left out as"
            " hosted-only (they call CPython)",
            f"{pointers} functions call through pointers (those calls are not followed)"]


def write_depfile(path, target, cis):
    with open(path, "w") as f:
        f.write(target + ": " + " \\\n  ".join(cis) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max-frame", type=int, default=2048)
    ap.add_argument("--max-depth", type=int, default=0, help="0: report only")
    ap.add_argument("--allow", action="append", default=[])
    ap.add_argument("-o", dest="report")
    ap.add_argument("--depfile")
    ap.add_argument("objects", nargs="+")
    a = ap.parse_args(argv)
    graph, cis = load(a.objects)
    glue = hosted_only(graph)
    graph = without(graph, glue)
    errors, notes = check(graph, a.max_frame, a.max_depth, set(a.allow))
    lines = summary(graph, cis, len(glue)) + notes + ["largest frames:"] + largest(graph)
    if errors:
        print("stackcheck: the kernel's stack use is not bounded:", file=sys.stderr)
        print("\n".join(errors + lines), file=sys.stderr)
        if a.report and os.path.exists(a.report):
            os.remove(a.report)             # no report of a pass that did not happen
        return 1
    if a.report:
        with open(a.report, "w") as f:
            f.write("\n".join(lines) + "\n")
        if a.depfile:
            write_depfile(a.depfile, a.report, cis)
    return 0


if __name__ == "__main__":
    sys.exit(main())
