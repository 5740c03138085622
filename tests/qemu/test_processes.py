"""Issue 4 in the booted kernel: ring-3 Cython programs, preemption,
fault isolation, 1,000 live processes, every page back at the end."""
import re

import pytest

from conftest import boot


def exits(log):
    """{pid: status} from the kernel's "proc: pid N (name) exited with status S" lines."""
    return {int(p): int(s) for p, s in re.findall(r"proc: pid (\d+) \(\w+\) exited with status (-?\d+)", log)}


def assert_clean_end(b):
    assert "kernel: every page came back" in b.log, b.log
    m = re.search(r"free pages (\d+) before init, (\d+) after; heap (\d+) bytes in (\d+) slab pages "
                  r"before, (\d+) in (\d+) after", b.log)
    before, after, bytes0, slabs0, bytes1, slabs1 = map(int, m.groups())
    assert bytes0 == bytes1 and before + slabs0 == after + slabs1


def test_demo_init_runs_programs_and_ends_cleanly():
    b = boot("run=init")
    assert b.ok, b.log
    assert "hello from pid 2 (hello), args 'from init'" in b.log
    assert "init: 5 children ended, 0 failed" in b.log
    assert all(s == 0 for s in exits(b.log).values())
    assert_clean_end(b)


def test_eight_processes_interleave_under_preemption():
    b = boot("run=init init=multi args=8,counter,5,30", timeout=120)
    assert b.ok, b.log
    marks = re.findall(r"\b([A-H])(\d)\b", b.log)
    assert len(marks) == 40 and {l for l, _ in marks} == set("ABCDEFGH")
    # each counter prints in order...
    for letter in "ABCDEFGH":
        assert [int(i) for l, i in marks if l == letter] == [0, 1, 2, 3, 4]
    # ...and none of them never yields, yet they take turns: every counter
    # printed its first mark before any counter printed its last
    firsts = [marks.index((l, "0")) for l in "ABCDEFGH"]
    lasts = [marks.index((l, "4")) for l in "ABCDEFGH"]
    assert max(firsts) < min(lasts), marks
    assert_clean_end(b)


def test_a_cpu_hog_does_not_starve_the_others():
    b = boot("run=init init=parallel args=hog,3000;counter,A,4,20;counter,B,4,20", timeout=120)
    assert b.ok, b.log
    order = re.findall(r"parallel: pid (\d+) ended", b.log)
    hog = re.search(r"started 'hog 3000' as pid (\d+)", b.log).group(1)
    assert order[-1] == hog, "the counters finished while the hog kept spinning"
    assert b.log.index("counter A done") < b.log.index("hog done")
    assert b.log.index("counter B done") < b.log.index("hog done")


def test_a_thousand_live_processes():
    b = boot("run=init init=spawner args=1000,sleeper,5000", timeout=300, memory="512M")
    assert b.ok, b.log
    assert "spawner: started 1000 of 1000 'sleeper 5000'" in b.log
    assert "spawner: all 1000 ended, 0 failed" in b.log
    peak = int(re.search(r"peak (\d+) live", b.log).group(1))
    assert peak >= 1001                                    # the spawner and its 1000 children
    assert_clean_end(b)


@pytest.mark.parametrize("kind,vector,name", [
    ("pf", 14, "#PF page fault"), ("gp", 13, "#GP general protection"),
    ("divide", 0, "#DE divide error"), ("ud", 6, "#UD invalid opcode"),
    ("kernel", 14, "#PF page fault"),
])
def test_ring3_faults_kill_only_that_process(kind, vector, name):
    b = boot(f"run=init init=parallel args=fault,{kind};counter,Z,5,20;hello", timeout=120)
    assert b.ok, b.log                                      # the kernel and the others went on
    faulty = int(re.search(rf"started 'fault {kind}' as pid (\d+)", b.log).group(1))
    assert re.search(rf"proc: pid {faulty} \(fault\) killed: {name} at rip=0x0000000000400", b.log)
    if kind == "kernel":
        assert "address 0xffffffff80100000" in b.log
    statuses = exits(b.log)
    assert statuses[faulty] == 128 + vector
    assert [s for p, s in statuses.items() if p != faulty] == [0, 0, 0]   # counter, hello, parallel
    assert "counter Z done" in b.log and "fault: still alive?" not in b.log
    assert_clean_end(b)


def test_malformed_events_and_bad_pointers_get_error_results():
    b = boot("run=init init=malformed")
    assert b.ok, b.log
    lines = [l for l in b.log.splitlines() if l.startswith("malformed: ") and "->" in l]
    assert len(lines) >= 20 and all(l.endswith(" ok") for l in lines), "\n".join(lines)
    assert "input pointer into the kernel -> E_FAULT (want E_FAULT) ok" in b.log
    assert re.search(r"malformed: (\d+) of \1 cases as expected", b.log)


def test_a_program_that_is_not_there():
    b = boot("run=init init=no-such-program")
    assert b.status == 1 and "cannot start 'no-such-program': E_NOENT: no such file" in b.log


def test_nt_and_ac_from_ring3_stay_out_of_the_kernel():
    # Issue 11: SYSCALL let a user NT into the kernel, whose next iretq (into
    # the counter, preempted or new) then raised #GP in ring 0.
    b = boot("run=init init=parallel args=counter,Z,5,20;rflags,40", timeout=120)
    assert b.ok, b.log
    assert "rflags: 40 calls with NT and AC set, 0 came back without them" in b.log
    assert "counter Z done" in b.log and "KWE CPU EXCEPTION" not in b.log
    assert all(s == 0 for s in exits(b.log).values())
    assert_clean_end(b)


UMIP_KINDS = ("sgdt", "sidt", "sldt", "smsw", "str")


def test_umip_instructions_kill_the_process_that_runs_them():
    # Issue 11: with UMIP on, ring 3 cannot read where the GDT, IDT, LDT and
    # TSS are, nor CR0's low bits: each of these is a #GP that ends only it.
    b = boot("run=init init=parallel args=" + ";".join(f"fault,{k}" for k in UMIP_KINDS)
             + ";counter,Z,3,10", timeout=120)
    assert b.ok, b.log
    statuses = exits(b.log)
    for kind in UMIP_KINDS:
        pid = int(re.search(rf"started 'fault {kind}' as pid (\d+)", b.log).group(1))
        assert re.search(rf"proc: pid {pid} \(fault\) killed: #GP general protection at rip=0x0000000000400",
                         b.log), kind
        assert statuses[pid] == 128 + 13, kind
    assert "fault: still alive?" not in b.log and "counter Z done" in b.log
    assert_clean_end(b)


def test_a_spawn_refused_half_way_leaves_the_live_count_right():
    # Issue 11: a spawn that failed at UserInfo ended the half-built process
    # with kill() before it was counted, so the live count went one too low
    # (the kernel thought everything had ended while malformed still ran).
    b = boot("run=init init=malformed")
    assert b.ok, b.log
    assert "spawn with more args than UserInfo holds -> E_TOOBIG (want E_TOOBIG) ok" in b.log
    assert list(exits(b.log).values()) == [0]              # no exit for the child never made
    assert re.search(r"all processes ended \(init status 0\); peak 1 live", b.log), b.log
    assert_clean_end(b)
