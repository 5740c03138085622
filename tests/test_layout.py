"""The tree shows the architecture: the kernel's parts in the one declared
order (pyx/kwe/meson.build), every module in its part's folder, no cimport
from a lower part to a higher one, user programs on `common` only, and the
README's layout tables naming paths that exist."""
import ast
import re
import sys

from kwecli.paths import ROOT

sys.path.insert(0, str(ROOT / "tools" / "build"))
import cimports  # noqa: E402

PYX = ROOT / "pyx"
KWE = PYX / "kwe"


def declared_parts():
    """[(part, {module: [kernel source, hosted source]})], bottom first."""
    text = (KWE / "meson.build").read_text()
    block = text[text.index("kernel_parts = ["):]
    parts = []
    for m in re.finditer(r"\['(\w+)', \{(.*?)\}\]", block, re.S):
        modules = {name: ast.literal_eval(srcs)
                   for name, srcs in re.findall(r"'(\w+)':\s*(\[[^\]]*\])", m.group(2))}
        parts.append((m.group(1), modules))
    return parts


PARTS = declared_parts()
RANK = {part: i for i, (part, _) in enumerate(PARTS)}


def sources(folder):
    return sorted(p for p in folder.rglob("*") if p.suffix in (".pyx", ".pxd"))


def kwe_cimports(path):
    """(part, module) of every kwe module the file cimports."""
    found = []
    for dotted in cimports.cimported_modules(path.read_text(), str(PYX)):
        names = dotted.split(".")
        if names[0] == "kwe":
            assert len(names) == 3, f"{path}: cimports {dotted}, not kwe.PART.MODULE"
            found.append((names[1], names[2]))
    return found


def test_parts_are_declared_once_in_order():
    names = [p for p, _ in PARTS]
    assert names[0] == "common" and names[-1] == "init", names
    assert len(names) == len(set(names)) >= 10
    folders = sorted(p.name for p in KWE.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert folders == sorted(names)


def test_every_module_lives_in_its_part_folder():
    for part, modules in PARTS:
        expected = {src for srcs in modules.values() for src in srcs if src}
        expected |= {name + ".pxd" for name in modules if (KWE / part / (name + ".pxd")).exists()}
        found = {p.name for p in sources(KWE / part)}
        assert found == expected, f"{part}: files {sorted(found ^ expected)} not declared"
        assert not set(modules) & {m for p, ms in PARTS if p != part for m in ms}


def test_each_part_says_what_it_owns_and_may_use():
    for part, _ in PARTS:
        doc = ast.get_docstring(ast.parse((KWE / part / "__init__.py").read_text())) or ""
        assert doc.startswith(part + ":") and "May use" in doc, part


def test_no_part_cimports_a_higher_one():
    bad = []
    for part, _ in PARTS:
        for path in sources(KWE / part):
            for other, module in kwe_cimports(path):
                assert other in RANK, f"{path}: unknown part {other}"
                assert (KWE / other / (module + ".pxd")).exists(), f"{path}: kwe.{other}.{module}"
                if RANK[other] > RANK[part]:
                    bad.append(f"{path.relative_to(ROOT)} ({part}) cimports kwe.{other}.{module}")
    assert not bad, "\n".join(bad)


def test_user_programs_use_only_common():
    paths = sources(PYX / "user")
    assert len(paths) > 10
    bad = [f"{p.relative_to(ROOT)} cimports kwe.{part}.{m}"
           for p in paths for part, m in kwe_cimports(p) if part != "common"]
    assert not bad, "\n".join(bad)


def test_the_layering_check_sees_a_violation(tmp_path):
    # The check above must be able to fail: a common module naming a higher part.
    probe = tmp_path / "probe.pyx"
    probe.write_text("from kwe.mm cimport (heap,\n    vmm)\ncimport kwe.events.guide\n")
    found = [tuple(d.split(".")[1:]) for d in cimports.cimported_modules(probe.read_text(), str(PYX))]
    assert found == [("mm", "heap"), ("mm", "vmm"), ("events", "guide")]
    assert all(RANK[p] > RANK["common"] for p, _ in found)


def readme_layout_paths():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Layout"):]
    section = section[:section.index("\n## ", 1)]
    paths = []
    for line in section.splitlines():
        if line.startswith("| `"):
            paths += re.findall(r"`([\w./-]+)`", line.split("|")[1])
    return paths


def test_readme_layout_names_paths_that_exist():
    paths = readme_layout_paths()
    assert len(paths) >= 20
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, missing


def test_readme_lists_every_part():
    named = set(readme_layout_paths())
    assert {f"pyx/kwe/{part}/" for part, _ in PARTS} <= named


def test_architecture_doc_draws_and_describes_every_part():
    dot = (ROOT / "docs/architecture.dot").read_text()
    doc = (ROOT / "docs/architecture.md").read_text()
    svg = (ROOT / "docs/architecture.svg").read_text()
    for part, modules in PARTS:
        assert re.search(rf"^\s*{part}\s*\[", dot, re.M), f"{part} not a node in architecture.dot"
        assert f"### `{part}` — `pyx/kwe/{part}/`" in doc, part
        assert f"pyx/kwe/{part}" in svg, f"architecture.svg is older than the .dot ({part})"
        for module in modules:
            assert module in dot, f"{module} of {part} missing from architecture.dot"
