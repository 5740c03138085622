"""What a Cython source cimports and includes, read from the text itself.

Cython's own depfile (3.3.1) leaves out the modules named in
`from pkg cimport a, b`, so a changed a.pxd did not rebuild its users.  This
scanner reads every form -- `cimport a.b [as c], d`, `from a.b cimport x, y`
(x and y are modules when x.pxd exists), parenthesized and continued lines,
`include "f.pxi"` -- and follows .pxd files to the .pxd files they cimport.
cy2c writes the depfile from it; tests/test_layout.py checks the layering
with the same reading.
"""
import os
import re

STATEMENT = re.compile(
    r"^[ \t]*(?:from[ \t]+(?P<pkg>[\w.]+)[ \t]+cimport[ \t]+(?P<names>\([^)]*\)|[^\n]*)"
    r"|cimport[ \t]+(?P<mods>[^\n]*)"
    r"|include[ \t]+(?P<q>['\"])(?P<inc>[^'\"]+)(?P=q))", re.M)


def _logical(text):
    """Strip comments and join backslash-continued lines."""
    text = re.sub(r"#[^\n]*", "", text)
    return text.replace("\\\n", " ")


def _names(field):
    field = field.strip().strip("()")
    return [n.split()[0] for n in field.replace("\n", " ").split(",") if n.strip()]


def statements(text):
    """(kind, name) pairs: ('module', 'a.b'), ('from', ('a.b', 'x')), ('include', 'f.pxi')."""
    out = []
    for m in STATEMENT.finditer(_logical(text)):
        if m["pkg"]:
            out += [("from", (m["pkg"], n)) for n in _names(m["names"])]
        elif m["mods"]:
            out += [("module", n) for n in _names(m["mods"])]
        else:
            out.append(("include", m["inc"]))
    return out


def pxd_of(module, include):
    """The .pxd of a dotted module under the include directory, or None."""
    path = os.path.join(include, *module.split(".")) + ".pxd"
    return path if os.path.exists(path) else None


def cimported_modules(text, include):
    """Dotted names of the modules (with a .pxd in the tree) a source cimports."""
    return _modules(statements(text), include)


def _modules(parsed, include):
    found = []
    for kind, what in parsed:
        if kind == "module":
            found.append(what)
        elif kind == "from":
            pkg, name = what
            found.append(pkg + "." + name if pxd_of(pkg + "." + name, include) else pkg)
    return [m for m in dict.fromkeys(found) if pxd_of(m, include)]


def _direct(path, include):
    with open(path) as f:
        text = f.read()
    parsed = statements(text)
    deps = [pxd_of(m, include) for m in _modules(parsed, include)]
    here = os.path.dirname(path)
    deps += [os.path.join(here, inc) for kind, inc in parsed if kind == "include"]
    return deps


def dependencies(src, include, module=None):
    """Every file a change to which changes what Cython makes of src: the
    module's own .pxd (by its dotted name: hal_sim.pyx is kwe.base.hal), and
    the closure of cimported .pxd files and includes."""
    own = pxd_of(module, include) if module else None
    own = own or os.path.splitext(src)[0] + ".pxd"
    todo = [src] + ([own] if os.path.exists(own) else [])
    seen = set(todo)
    while todo:
        for dep in _direct(todo.pop(), include):
            if dep not in seen and os.path.exists(dep):
                seen.add(dep)
                todo.append(dep)
    seen.discard(src)
    return sorted(os.path.abspath(p) for p in seen)
