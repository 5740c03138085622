"""Parse the KTAP lines in-kernel self-tests print (pyx/kwe/debug/ktest.pyx)."""
import re
from dataclasses import dataclass


@dataclass
class Result:
    number: int
    name: str
    ok: bool


def parse(log):
    """Every "ok N name" / "not ok N name" line and the plan count (or None)."""
    results, plan = [], None
    for line in log.splitlines():
        m = re.match(r"^(not )?ok (\d+) (\S+)", line)
        if m:
            results.append(Result(int(m.group(2)), m.group(3), m.group(1) is None))
        m = re.match(r"^1\.\.(\d+)$", line)
        if m:
            plan = int(m.group(1))
    return results, plan
