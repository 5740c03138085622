"""Capabilities and file labels (issue 11 #7) in the booted kernel: a confined
process tries what the safety audit did to the system's files, each as a
direct event and as a workflow node (the `sandbox` program)."""
import math
import re

from conftest import boot
from kwecli import abi
from test_attacks import hello_elf, program_disk

EXPECTED = {
    # system files, read-only to the sandbox: by the label, whatever the tags
    "write init": "E_PERM", "truncate init": "E_PERM", "delete init": "E_PERM",
    "tag init": "E_PERM", "untag init name=": "E_PERM",
    "node delete init": "E_PERM", "node truncate init": "E_PERM", "node tag init": "E_PERM",
    "node untag init name=": "E_PERM", "node create type=program": "E_PERM", "node create a system file": "E_PERM",
    # creating system files or reserved tags needs CAP_SYSTEM
    "create type=program": "E_PERM", "create a system file": "E_PERM", "create of no class": "E_RANGE",
    "tag own name=": "E_PERM", "node tag own crc32=": "E_PERM",
    # its own files: everything
    "create a user file": "E_OK", "tag own color=red": "E_OK", "write own": "E_OK", "delete own": "E_OK",
    # after giving up reading system files: they are not there for it
    "stat init": "E_PERM", "open init": "E_PERM", "node stat init": "E_PERM",
    "get init": "E_PERM", "node get init": "E_PERM",
    # after giving up OP_CRC32: refused as an event and as a node; others still work
    "crc32": "E_PERM", "node crc32": "E_PERM", "djb2": "E_OK",
}


def test_a_confined_process_cannot_touch_the_systems_files():
    b = boot("run=init init=sandbox", timeout=120)
    assert b.ok, b.log
    got = dict(re.findall(r"^sandbox: (.+?) got (E_\w+)", b.log, re.M))
    assert got == EXPECTED, b.log
    assert "sandbox: query type=program finds 0" in b.log           # left out, not refused
    parent = re.search(r"sandbox: parent: flags (\w+) files (\w+) ops1 (\w+); child (\d+)", b.log)
    child = re.search(r"sandbox child: flags (\w+) files (\w+) ops1 (\w+)", b.log)
    assert parent and child and int(parent.group(4)) > 0
    assert child.groups() == parent.groups()[:3]                    # asked for everything, got ours
    assert int(parent.group(1), 16) & abi.CAP_SYSTEM == 0
    assert "kernel: every page came back" in b.log


def test_refusals_are_logged_at_a_bounded_rate():
    b = boot("run=init init=sandbox args=flood,3000 caps_log_per_s=3", timeout=120)
    assert b.ok, b.log
    m = re.search(r"sandbox flood: (\d+) of (\d+) refused in (\d+) ms", b.log)
    assert m and m.group(1) == m.group(2) == "3000", b.log
    lines = len(re.findall(r"^caps: pid \d+ refused", b.log, re.M))
    assert 1 <= lines <= 3 * (math.ceil(int(m.group(3)) / 1000) + 1), (lines, m.group(3))


def test_a_program_file_without_the_system_label_is_not_started(tmp_path):
    """Tags can be forged by whoever may tag; the label only by the kernel."""
    import zlib
    data = hello_elf()
    disk = program_disk(tmp_path, "plain", ["type=program", "name=plain", f"crc32={zlib.crc32(data):08x}",
                                            "--class", "user"], data)
    b = boot("run=init init=plain", image=disk, snapshot=True)
    assert b.status == 1 and "cannot start 'plain': E_PERM" in b.log, b.log
