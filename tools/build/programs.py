"""The user programs: every NAME.pyx next to the file given (pyx/user/programs/),
printed as names, one per line, sorted.  Used by pyx/user/meson.build at
configure time and by tools/kwe build to notice a program added or removed."""
import sys
from pathlib import Path


def names(directory):
    return sorted(p.stem for p in Path(directory).glob("*.pyx"))


if __name__ == "__main__":
    found = names(Path(sys.argv[1]).parent)
    bad = [n for n in found if not n.isidentifier()]
    if bad:
        sys.exit(f"pyx/user/programs: {', '.join(n + '.pyx' for n in bad)}: a program's file name is its "
                 "module's name, so it must be a Python identifier (letters, digits, _)")
    print("\n".join(found))
