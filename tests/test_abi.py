"""The ABI has one definition (abi.pxd); the generated C header agrees with
what Cython compiles, field by field."""
import subprocess

from kwe.common import abi as kabi
from kwecli import abi
from kwecli.paths import BUILD


def test_generated_header_matches_cython_layout(tmp_path):
    layout = kabi.layout()
    lines = ['#include <stdio.h>', '#include <stddef.h>', f'#include "{BUILD}/kwe_abi.h"', "int main(void) {"]
    for struct, (size, fields) in layout.items():
        lines.append(f'printf("{struct} %zu\\n", sizeof(struct kwe_{struct}));')
        for f in fields:
            lines.append(f'printf("{struct}.{f} %zu\\n", offsetof(struct kwe_{struct}, {f}));')
    lines.append("return 0; }")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines))
    subprocess.run(["gcc", "-o", tmp_path / "layout", src], check=True)
    out = subprocess.run([tmp_path / "layout"], capture_output=True, text=True, check=True).stdout
    got = dict(line.split() for line in out.splitlines())
    for struct, (size, fields) in layout.items():
        assert int(got[struct]) == size, struct
        for f, off in fields.items():
            assert int(got[f"{struct}.{f}"]) == off, f"{struct}.{f}"


def test_sizes_are_the_documented_ones():
    layout = kabi.layout()
    assert layout["EventHeader"][0] == 64
    assert layout["EventSlot"][0] == abi.SLOT_SIZE == 576
    assert layout["Completion"][0] == abi.COMPLETION_SIZE == 32
    assert layout["RingHeader"][0] == abi.RING_HEADER_SIZE
    assert layout["RingHeader"][1]["tail"] - layout["RingHeader"][1]["head"] >= 64   # own cache lines
    assert abi.EVENT_HEADER.size == 64 and abi.COMPLETION.size == 32                     # the Python view too
    assert layout["ProcInfo"][0] == abi.PROC_INFO.size == 64
    assert layout["SysStat"][0] == abi.SYS_STAT.size
    assert layout["NetStat"][0] == abi.NET_STAT.size
    assert layout["NetStat"][1]["rx_frames"] == 24 and layout["NetStat"][1]["drops"] == 24 + 9 * 8
