"""What the shell stands on, hosted: the console's input and who owns it
(kwe.decks.tty), the process list, system statistics, tracing on and off,
and who may kill whom."""
import pytest

from engine import Local, settle, start
from kwe.decks import tty
from kwe.dev import input as kinput
from kwe.events import guide
from kwecli import abi
from kwecli.abi import *          # noqa: F403
from test_caps import capset, unpack
from kwe.tasks import caps

SERIAL, KEYBOARD = 0, 1


def typed(data, source=SERIAL):
    kinput.py_push(source, data)
    tty.py_poll()
    guide.py_run()


def read_event(p, cap=64):
    """Submit an OP_CONSOLE_READ without waiting; its event id."""
    va, _ = p.out_buffer()
    eid = p.push(OP_CONSOLE_READ, flags=EVF_OUTPUT_PTR, args=(cap, 0, va, cap))
    assert p.submit() == 1
    guide.py_run()
    return eid, va


@pytest.fixture
def p():
    p = start()
    kinput.py_drain(SERIAL)
    kinput.py_drain(KEYBOARD)
    return p


def test_a_read_waits_for_typing_and_takes_what_is_there(p):
    eid, va = read_event(p, cap=4)
    assert p.results() == [] and tty.py_owner() == p.pid     # the first reader takes the console
    typed(b"hello")
    (r,) = p.results()
    assert (r.event_id, r.status, r.value) == (eid, 0, 4) and p.read(va, 4) == b"hell"
    r = p.call(OP_CONSOLE_READ, args=(64,))
    assert r.status == 0 and r.output == b"o"                # the rest stayed for the next read


def test_both_sources_reach_the_reader(p):
    typed(b"a", SERIAL)
    typed(b"b", KEYBOARD)
    assert p.call(OP_CONSOLE_READ, args=(64,)).output == b"ab"


@pytest.mark.parametrize("cap", [0, 4097, 2**64 - 1])
def test_a_read_size_out_of_range_is_refused(p, cap):
    assert p.call(OP_CONSOLE_READ, args=(cap,)).status == E_RANGE


def test_only_the_owner_reads_another_waits(p):
    typed(b"x")
    assert p.call(OP_CONSOLE_READ, args=(8,)).output == b"x"
    q = Local()
    eid, va = read_event(q)
    typed(b"for p")
    assert q.results() == []                                 # not q's console: it waits
    assert p.call(OP_CONSOLE_READ, args=(8,), now=True).output == b"for p"
    assert q.call(OP_CONSOLE_GIVE, args=(q.pid,), now=True).status == E_PERM      # q cannot take it
    assert q.call(OP_CONSOLE_GIVE, args=(p.pid,), now=True).status == E_PERM      # nor give p's away
    assert p.call(OP_CONSOLE_GIVE, args=(q.pid,), now=True).status == E_PERM      # q is not p's descendant
    assert p.call(OP_CONSOLE_GIVE, args=(999999,), now=True).status == E_NOENT
    assert p.call(OP_CONSOLE_GIVE, args=(2**64 - 1,), now=True).status == E_NOENT
    assert tty.py_owner() == p.pid and q.results() == []
    tty.py_drop_process(q.pid)                               # q ends: its waiting read goes
    assert guide.py_in_flight() == 0


def test_ctrl_c_to_an_owner_that_took_the_console_is_a_byte(p):
    typed(b"a\x03b")
    assert p.call(OP_CONSOLE_READ, args=(8,)).output == b"a\x03b"


def test_a_full_buffer_leaves_input_in_the_device_queue(p):
    typed(b"z" * 5000)                      # the device queue holds 4096, the tty buffer 4096
    got = b""
    while len(got) < 4096:
        r = p.call(OP_CONSOLE_READ, args=(4096,))
        assert r.status == 0
        got += r.output
    assert got == b"z" * 4096


def test_process_list_and_system_statistics(p):
    q = Local()
    r = p.call(OP_PS)
    assert r.status == 0 and r.value == len(r.output) // PROC_INFO.size >= 2
    rows = {f[0]: f for f in PROC_INFO.iter_unpack(r.output)}
    assert p.pid in rows and q.pid in rows
    s = SYS_STAT.unpack(p.call(OP_SYSSTAT).output)
    ticks, hz, total, free, heap, procs, inflight, runs, wfs, processed = s[:10]
    deck_steps = s[10:15]
    assert hz == 100 and total >= free > 0 and procs >= 0 and inflight >= 1     # the SYSSTAT itself
    assert deck_steps[DECK_EXECUTION] > 0 and processed == sum(deck_steps)
    p.call(OP_CRC32, payload=b"x")
    later = SYS_STAT.unpack(p.call(OP_SYSSTAT).output)[10:15]
    assert later[DECK_OPERATIONS] == deck_steps[DECK_OPERATIONS] + 1


def test_tracing_switches_on_and_off_with_cap_system_only(p):
    from kwe.debug import trace
    assert p.call(OP_TRACE, args=(TRACE_ON,)).status == 0
    s = SYS_STAT.unpack(p.call(OP_SYSSTAT).output)
    assert s[16] == 1                                        # tracing
    assert p.call(OP_TRACE, args=(TRACE_OFF,)).value == 1    # it was on
    assert p.call(OP_TRACE, args=(9,)).status == E_INVAL
    flags, files, ops = unpack(caps.py_all())
    assert p.call(OP_CAPS_LIMIT, payload=capset(0, files, ops)).status == 0
    assert p.call(OP_TRACE, args=(TRACE_ON,)).status == E_PERM
    trace.py_stop()


def test_kill_needs_a_descendant_or_cap_system(p):
    q = Local()
    assert p.call(OP_KILL, args=(999999,)).status == E_NOENT
    assert p.call(OP_KILL, args=(2**40,)).status == E_NOENT
    assert p.call(OP_KILL, args=(p.pid,)).status == E_PERM   # yourself: OP_EXIT is the way
    flags, files, ops = unpack(caps.py_all())
    assert p.call(OP_CAPS_LIMIT, payload=capset(0, files, ops)).status == 0
    assert p.call(OP_KILL, args=(q.pid,)).status == E_PERM   # not its child, no CAP_SYSTEM
