"""The safety audit's exploits (issue 11), each as the hostile user program
`attack` booted against the real kernel: the kernel survives, the attacker
gets its answer, and the heap walk at power-off finds nothing (conftest.boot
asserts that on every boot)."""
import re

import pytest

from kwecli import abi
from conftest import boot, kwe_fs
from kwecli import qemu


def test_nodes_sharing_one_dependency_entry_run_with_the_heap_intact():
    b = boot("run=init init=attack args=shared-deps", timeout=120)
    assert b.ok, b.log
    assert "attack shared-deps: register E_OK" in b.log
    assert "attack shared-deps: run E_OK: success done 4096 failed 0 cancelled 0" in b.log


def test_a_failing_chain_is_cancelled_without_exhausting_the_kernel_stack():
    b = boot("run=init init=attack args=chain-cancel", timeout=120)
    assert b.ok, b.log
    assert "done 0 failed 1 cancelled 4095" in b.log
    assert "E_BADDATA" in b.log


@pytest.mark.parametrize("kind,what", [("heap-overflow", "written past its end"),
                                       ("heap-uaf", "written after it was freed")])
def test_the_kernel_heap_walk_fails_a_boot_that_corrupted_it(kind, what):
    b = qemu.boot(f"run=fault fault={kind}", timeout=60)
    assert b.status == 1, b.log
    assert "heap: CORRUPT" in b.log and what in b.log
    assert "heap: walk at power-off" in b.log


def test_memory_held_by_sleeping_events_comes_back_when_the_process_ends():
    b = boot("run=init init=attack args=sleep-pin", timeout=120)
    assert "attack sleep-pin: submitted 16, exiting" in b.log
    assert b.ok and "kernel: every page came back" in b.log, b.log


def test_an_rle_decode_cannot_ask_more_than_max_output():
    b = boot("run=init init=attack args=rle-bomb", timeout=120)
    assert b.ok, b.log
    assert "attack rle-bomb: E_RANGE" in b.log
    b = boot("run=init init=attack args=rle-bomb max_output=300000000", timeout=120)
    assert "attack rle-bomb: E_NOMEM" in b.log or "attack rle-bomb: E_OK" in b.log, b.log


def test_children_per_parent_are_capped():
    b = boot("run=init init=spawner args=20,sleeper,50 quota_procs=8", timeout=120)
    assert "spawner: spawn 8 failed: E_QUOTA" in b.log, b.log
    assert "spawner: started 8 of 20" in b.log and "spawner: all 8 ended, 0 failed" in b.log
    assert "kernel: every page came back" in b.log


def test_memory_hogs_are_stopped_by_their_quotas_and_the_machine_keeps_going():
    """Eight processes each asking for all the memory they can get: each is
    held to its own quota, together they are held below all of RAM, the
    kernel keeps running and every page comes back."""
    b = boot("run=init init=spawner args=8,attack,mem-hog quota_pages=8192", timeout=180)
    got = [int(m) for m in re.findall(r"attack mem-hog: pid \d+ took (\d+) MiB, then E_(?:QUOTA|NOMEM)", b.log)]
    assert len(got) == 8, b.log
    assert max(got) <= 32 and sum(got) <= 256 * 3 // 4, got
    assert "spawner: all 8 ended, 0 failed" in b.log
    assert b.ok and "kernel: every page came back" in b.log, b.log


def test_a_process_that_never_reads_its_completions_costs_the_kernel_nothing():
    """Issue 11 #5: the kernel takes only the events it has ResultRing room
    for (2,048 here, of 64 x 256 offered) and holds nothing for the rest; a
    tail moved wrongly is reset (RING_CORRUPT) and costs only the liar."""
    b = boot("run=init init=attack args=result-hog", timeout=120)
    assert b.ok, b.log
    m = re.search(r"attack result-hog: never reading, (\d+) taken \(ring (\d+)\); tail ahead: (\d+) more; "
                  r"tail behind: (\d+) more; ring flags (\d+)", b.log)
    assert m, b.log
    first, ring, future, past, flags = map(int, m.groups())
    assert first == ring == 2048
    assert 0 < future <= ring and 0 < past <= ring and flags & abi.RING_CORRUPT
    assert "kernel: every page came back" in b.log


def test_a_flood_of_work_does_not_delay_another_processs_timer():
    """4,096 CRC32s of the same 1 MiB in one workflow (issue 11 #7) beside a
    process sleeping 10 ms twenty times: each sleep ends at most 20 ms late.
    (With guide_budget_us=0 wf_max_inflight=65536 -- no budget, no cap -- the
    worst was 22.7 s late.)"""
    b = boot("run=init init=attack args=crc-flood", timeout=120)
    assert b.ok, b.log
    late = int(re.search(r"attack timer-victim: 20 sleeps of 10 ms, the worst (\d+) us late", b.log).group(1))
    assert late <= 20000, b.log
    assert "the victim is done" in b.log and "kernel: every page came back" in b.log


def test_ten_thousand_random_and_mutated_events_leave_nothing_behind():
    """The in-kernel fuzz program, fixed seed (tools/kwe fuzz boots more)."""
    b = boot("run=init init=fuzz args=7,10000", timeout=300)
    assert b.ok, b.log
    assert re.search(r"fuzz: seed 7: 10000 events and 1000 graphs submitted, \d+ results read", b.log)
    assert "kernel: every page came back" in b.log


def program_disk(tmp_path, name, tags, data):
    """A private copy of the image with one more file put in by the host tool."""
    import shutil
    from kwecli.paths import IMAGE
    disk, payload = tmp_path / "kwe.img", tmp_path / name
    shutil.copy(IMAGE, disk)
    payload.write_bytes(data)
    kwe_fs("put", disk, payload, *tags)
    return disk


def hello_elf():
    from kwecli.paths import BUILD
    return (BUILD / "pyx/user/hello.elf").read_bytes()


def test_a_program_whose_content_is_not_its_crc32_tag_is_not_started(tmp_path):
    """issue 11 #4: programs.launch did not check crc32=."""
    disk = program_disk(tmp_path, "evil", ["type=program", "name=evil", "crc32=00000000"], hello_elf())
    b = boot("run=init init=evil", image=disk, snapshot=True)
    assert b.status == 1 and "cannot start 'evil': E_CORRUPT" in b.log, b.log


def test_two_programs_by_one_name_start_neither(tmp_path):
    """issue 11 #4: programs.launch took the first file the query matched."""
    import zlib
    data = hello_elf()
    disk = program_disk(tmp_path, "hello", ["type=program", "name=hello", f"crc32={zlib.crc32(data):08x}"], data)
    b = boot("run=init init=hello", image=disk, snapshot=True)
    assert b.status == 1 and "cannot start 'hello': E_AMBIGUOUS" in b.log, b.log
