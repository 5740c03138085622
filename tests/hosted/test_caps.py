"""Capabilities (kwe.tasks.caps) hosted: the set algebra, reserved tags, and
the Guide and the workflow engine refusing an opcode a process gave up --
as a direct event and as a workflow node."""
import struct

from hypothesis import given, strategies as st

from engine import start
from kwe.tasks import caps
from kwecli import abi
from kwecli.abi import *          # noqa: F403

CAPSET = struct.Struct("<QQ5QQ")        # abi.CapSet: flags, files, ops[5], reserved


def capset(flags=0, files=0, ops=(0,) * 5):
    return CAPSET.pack(flags, files, *ops, 0)


def unpack(b):
    f = CAPSET.unpack(b)
    return f[0], f[1], f[2:7]


def without(opcode, base=None):
    flags, files, ops = unpack(base or caps.py_all())
    ops = list(ops)
    ops[opcode >> 8] &= ~(1 << (opcode & 63))
    return capset(flags, files, ops)


def test_init_holds_everything():
    flags, files, ops = unpack(caps.py_all())
    assert flags & CAP_SYSTEM and files == 0x1F1F1F1F1F1F1F1F and set(ops) == {2**64 - 1}


def test_reserved_tags_are_exactly_the_three():
    for tags in (b"type=program", b"name=x", b"crc32=1234", b"a b name=", b"x\0 crc32=1"[:1] + b" crc32=1"):
        assert caps.py_reserved(tags), tags
    for tags in (b"type=programs", b"type=text", b"myname=x", b"crc32", b"names=x", b"", b"   "):
        assert not caps.py_reserved(tags), tags


@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))
def test_a_process_can_only_give_rights_up(files, ops1, flags):
    p = start()
    limit = capset(flags, files, (ops1,) * 5)
    assert p.call(OP_CAPS_LIMIT, payload=limit).status == 0
    got = unpack(p.call(OP_CAPS_GET).output)
    assert got[0] == flags & CAP_SYSTEM and got[1] == files & 0x1F1F1F1F1F1F1F1F
    assert p.call(OP_CAPS_LIMIT, payload=caps.py_all()).status == 0           # asking back: nothing
    assert unpack(p.call(OP_CAPS_GET).output) == got


def test_an_opcode_given_up_is_refused_as_an_event_and_as_a_node():
    p = start()
    denied = caps.py_denials()
    assert p.call(OP_CAPS_LIMIT, payload=without(OP_CRC32)).status == 0
    assert p.call(OP_CRC32, payload=b"x").status == E_PERM
    assert p.call(OP_DJB2, payload=b"x").status == 0
    g = abi.Graph()
    g.add(OP_DJB2, input=b"a")
    g.add(OP_CRC32, input=b"b")
    assert p.call(OP_WF_REGISTER, workflow_id=1, payload=g.encode()).status == E_PERM
    assert caps.py_denials() == denied + 2


def test_exit_and_the_caps_ops_are_never_refused():
    p = start()
    assert p.call(OP_CAPS_LIMIT, payload=capset()).status == 0                 # gives up everything
    assert p.call(OP_NOP).status == E_PERM
    assert p.call(OP_CAPS_GET).status == 0
    assert p.call(OP_CAPS_LIMIT, payload=b"short").status == E_INVAL


STAGES = struct.Struct("<8Q8Q")        # abi.StageCounters: cycles, entries per STAGE_*


def test_stage_counters_need_cap_system_and_count_each_stage():
    p = start()
    on = p.call(OP_STAGES, args=(STAGES_ON,))
    assert on.status == 0 and len(on.output) == STAGES.size
    assert p.call(OP_CRC32, payload=b"123456789").status == 0
    got = STAGES.unpack(p.call(OP_STAGES, args=(STAGES_OFF,)).output)
    cycles, entries = got[:NSTAGES], got[NSTAGES:]
    for stage in (STAGE_RING, STAGE_ROUTE, STAGE_DECK, STAGE_COMPLETE):
        assert entries[stage] > 0, stage
    assert entries[STAGE_ENGINE] == 0                       # no workflow ran
    later = STAGES.unpack(p.call(OP_STAGES, args=(STAGES_READ,)).output)
    assert later == got                                     # off: nothing more is counted
    assert p.call(OP_STAGES, args=(7,)).status == E_INVAL
    flags, files, ops = unpack(caps.py_all())
    assert p.call(OP_CAPS_LIMIT, payload=capset(0, files, ops)).status == 0
    assert p.call(OP_STAGES, args=(STAGES_READ,)).status == E_PERM
