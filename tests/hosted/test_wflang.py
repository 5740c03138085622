"""The workflow language (kwe.common.wflang, docs/workflows.md): the shipped
files, every mistake with its exact line:column message, text -> nodes ->
text round trips over random workflows, and the lowered graphs: the same
bytes as wfdemo's builder makes, accepted by the kernel's checker, and run
by the hosted engine to the values Python computes."""
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from engine import Local, settle, start
from kwe.common import wflang
from kwe.events import guide, workflow
from kwecli import abi
from kwecli.abi import *          # noqa: F403

ROOT = Path(__file__).resolve().parents[2]
DEMOS = {p.stem: p.read_bytes() for p in sorted((ROOT / "workflows").glob("*.wf"))}
TEXT = b"KWE fan-out/fan-in: " + b"a" * 24 + b" " + b"b" * 12 + b" 0123456789 " + b"c" * 30 + b"!"
C = wflang.py_constants()


def error(text):
    with pytest.raises(ValueError) as e:
        wflang.py_parse(text)
    return str(e.value)


def plain(nodes):
    """Nodes without where they were written."""
    return [dict(n, line=0, col=0) for n in nodes]


def test_the_demo_files_ship_and_read():
    assert set(DEMOS) == {"fanout", "retry", "failure"}
    fan = wflang.py_parse(DEMOS["fanout"])
    assert [n["name"] for n in fan] == ["split", "rle", "crc", "xor", "combine", "final", "timer"]
    assert fan[0]["data"] == TEXT and fan[3]["args"] == [0x5A3C, 2]
    assert fan[4]["input"] == "from" and fan[4]["parents"] == [1, 2, 3]
    assert (fan[0]["line"], fan[0]["col"]) == (4, 1)


# ---- mistakes: where and what ------------------------------------------------------------------
MISTAKES = [
    (b"", "1:1: no nodes: a workflow is lines of `node NAME = OPERATION ...`"),
    (b"# only a comment\n", "2:1: no nodes: a workflow is lines of `node NAME = OPERATION ...`"),
    (b"nod a = nop", "1:1: expected 'node', found 'nod'"),
    (b"node", "1:5: expected the node's name after 'node', found the end of the text"),
    (b"node from = nop", "1:6: expected the node's name after 'node', found 'from'"),
    (b"node a nop", "1:8: expected '=' after the node's name, found 'nop'"),
    (b"node a = crc33", "1:10: 'crc33' is not an operation (docs/workflows.md lists them)"),
    (b"node a = nop\nnode a = crc32", "2:6: node 'a' is defined already, at line 1"),
    (b"node a = crc32 from b\nnode b = nop", "1:21: 'b' is not a node defined above (a node names only earlier ones)"),
    (b"node a = crc32 from a", "1:21: node 'a' cannot wait for itself"),
    (b"node a = nop\nnode b = nop from a a", "2:21: 'a' is named twice"),
    (b"node a = nop\nnode b = nop after a from a", "2:27: 'a' is named twice"),
    (b"node a = nop from", "1:18: expected a node name, found the end of the text"),
    (b'node a = nop data "x" from a', "1:23: node 'a' has an input already (data, from and file: one of them)"),
    (b'node a = nop data "x" file "q"', "1:23: node 'a' has an input already (data, from and file: one of them)"),
    (b"node a = nop data 12", "1:19: expected a string in quotes, found '12'"),
    (b'node a = nop data "abc', "1:19: the string is not closed"),
    (b'node a = nop data "ab\nc"', "1:19: the string is not closed on its line (write a newline as \\n)"),
    (b'node a = nop data "a\\qb"', "1:21: bad escape (\\n \\t \\r \\0 \\\\ \\\" and \\xHH are known)"),
    (b'node a = nop data "\\x4g"', "1:20: bad escape (\\n \\t \\r \\0 \\\\ \\\" and \\xHH are known)"),
    (b'node a = nop file ""', "1:21: an empty query matches no file"),
    (b"node a = nop args", "1:18: expected a number, found the end of the text"),
    (b"node a = nop args 0x", "1:19: '0x' is not a number (decimal, or hex as 0x1F)"),
    (b"node a = nop args 18446744073709551616", "1:19: '18446744073709551616' is not a number (decimal, or hex as 0x1F)"),
    (b"node a = nop args 1 args 2", "1:21: node 'a' has args already"),
    (b"node a = nop args 1 2 3", "1:23: expected a clause or the next node, found '3'"),
    (b"node a = flaky retries 17", "1:24: 17 is more than 16"),
    (b"node a = flaky retries 1 backoff 65536", "1:34: 65536 is more than 65535"),
    (b"node a = flaky retries 1 retries 2", "1:26: node 'a' has retries already"),
    (b"node a = flaky backoff 3", "1:16: 'backoff' comes after `retries N`"),
    (b"node a = nop quickly", "1:14: 'quickly' is not a clause (data, file, from, after, args, retries)"),
    (b"node a = nop =", "1:14: expected a clause or the next node, found '='"),
    (b"node a = nop ;", "1:14: unexpected character ';'"),
    (b"node a = nop \x01", "1:14: unexpected byte 0x01"),
    (b"node a = nop\r\n\tnode b = nop \xc3\xa9", "2:15: unexpected byte 0xc3"),
    (b"node " + b"n" * 32 + b" = nop", "1:6: a name is at most 31 bytes"),
    (b"node a = nop\nnode b = nop\nnode c = nop\nnode d = nop from a b after c", "4:1: node 'd': `after` beside a `from` of "
     "several nodes (their input is every parent's output)"),
]


@pytest.mark.parametrize("text, message", MISTAKES)
def test_a_mistake_says_where_and_what(text, message):
    assert error(text) == message


def test_limits_of_the_reader_are_its_callers():
    with pytest.raises(ValueError, match=r"^1:27: more than 2 nodes \(this reader's limit\)$"):
        wflang.py_parse(b"node a = nop node b = nop node c = nop", cap=2)
    with pytest.raises(ValueError, match=r"^1:19: more than 3 bytes of strings"):
        wflang.py_parse(b'node a = nop data "abcd"', data_cap=3)
    many = b"".join(b"node p%d = nop\n" % i for i in range(17))
    with pytest.raises(ValueError, match=r"^18:\d+: more than 16 parents"):
        wflang.py_parse(many + b"node x = nop after " + b" ".join(b"p%d" % i for i in range(17)))


def test_names_the_kernel_reads_the_same():
    """Every operation the language names is the ABI's OP_ of that name, and
    the retry limit is the kernel's."""
    ops = wflang.py_ops()
    assert len(ops) == len(set(ops.values())) >= 20
    for name, code in ops.items():
        assert getattr(abi, "OP_" + name.upper()) == code, name
    start()
    ok = wflang.py_lower(b"node a = flaky retries %d" % C["WFL_RETRIES_MAX"])
    assert workflow.py_validate(ok) == 0
    too_many = bytearray(ok)
    too_many[16 + 18] = C["WFL_RETRIES_MAX"] + 1          # NodeDesc.max_retries
    assert workflow.py_validate(bytes(too_many)) == E_RANGE


# ---- round trips ----------------------------------------------------------------------------------
def test_the_canonical_text_is_one_node_per_line():
    text = b'node a=xor data "a\\"b\\\\c\\n\\x00\\t\\xff" "more" args 0x10000 7 # key\nnode  b = crc32  after a retries 0 backoff 5'
    assert wflang.py_format(text) == (b'node a = xor data "a\\"b\\\\c\\n\\x00\\t\\xffmore" args 0x10000 7\n'
                                      b"node b = crc32 after a retries 0 backoff 5\n")
    for t in DEMOS.values():
        canon = wflang.py_format(t)
        assert wflang.py_format(canon) == canon
        assert plain(wflang.py_parse(canon)) == plain(wflang.py_parse(t))


NAMES = st.from_regex(r"[a-z_][a-z0-9_-]{0,30}", fullmatch=True).filter(
    lambda s: s not in {"node", "data", "from", "after", "file", "args", "retries", "backoff"})
OPS = st.sampled_from(sorted(wflang.py_ops()))
BLANK = st.sampled_from([" ", "  ", "\t", "\n", " # note\n", "\r\n "])


@st.composite
def workflows(draw):
    """(text written with free spacing, comments and number styles; the nodes it means)."""
    names = draw(st.lists(NAMES, min_size=1, max_size=12, unique=True))
    text, nodes = [], []
    for i, name in enumerate(names):
        n = dict(name=name, op=draw(OPS), input="none", data=b"", parents=[], after=[], args=[],
                 retries=0, backoff=0)
        sp = lambda: draw(BLANK)      # noqa: E731
        words = [f"node{sp()}{name}{sp()}={sp()}{n['op']}"]
        kind = draw(st.sampled_from(["none", "data", "file"] + ["from"] * (i > 0)))
        if kind in ("data", "file"):
            n["input"], n["data"] = kind, draw(st.binary(min_size=kind == "file", max_size=40))
            words.append(f"{kind}{sp()}" + quote(n["data"]))
        elif kind == "from":
            n["input"] = "from"
            n["parents"] = draw(st.lists(st.integers(0, i - 1), min_size=1, max_size=4, unique=True))
            words.append("from " + " ".join(names[k] for k in n["parents"]))
        rest = [k for k in range(i) if k not in n["parents"]]
        if rest and len(n["parents"]) <= 1 and draw(st.booleans()):
            n["after"] = draw(st.lists(st.sampled_from(rest), min_size=1, max_size=3, unique=True))
            words.append("after " + " ".join(names[k] for k in n["after"]))
        if draw(st.booleans()):
            n["args"] = draw(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=2))
            words.append("args " + " ".join(draw(st.sampled_from([str(a), hex(a)])) for a in n["args"]))
        if draw(st.booleans()):
            n["retries"], n["backoff"] = draw(st.integers(0, 16)), draw(st.integers(0, 65535))
            words.append(f"retries {n['retries']} backoff {n['backoff']}")
        draw(st.randoms()).shuffle(words_tail := words[1:])
        text.append(sp().join([words[0]] + words_tail))
        nodes.append(n)
    return "\n".join(text).encode(), nodes


def quote(data):
    out = []
    for b in data:
        if b in b'"\\':
            out.append("\\" + chr(b))
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append(f"\\x{b:02X}" if b % 2 else {10: "\\n", 9: "\\t", 13: "\\r", 0: "\\0"}.get(b, f"\\x{b:02x}"))
    return '"' + "".join(out) + '"'


def meaning(nodes):
    keep = ("name", "op", "input", "data", "parents", "after", "args", "retries", "backoff")
    return [{k: n[k] for k in keep} for n in nodes]


@settings(max_examples=300, deadline=None)
@given(workflows())
def test_text_to_nodes_to_text_round_trips(case):
    text, nodes = case
    assert meaning(wflang.py_parse(text)) == nodes
    canon = wflang.py_format(text)
    assert wflang.py_format(canon) == canon
    assert meaning(wflang.py_parse(canon)) == nodes


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | workflows().map(lambda c: c[0]).flatmap(
    lambda t: st.integers(0, len(t)).map(lambda i: t[:i] + b"\x00" + t[i + 1:])))
def test_any_bytes_give_nodes_or_an_error_inside_the_text(data):
    try:
        wflang.py_parse(data)
    except ValueError as e:
        line, col, _ = str(e).split(":", 2)
        lines = data.split(b"\n")
        assert 1 <= int(line) <= len(lines) and 1 <= int(col) <= len(lines[int(line) - 1]) + 1, e


# ---- lowered: the graph wfdemo builds, run to Python's values ------------------------------------------
def wfdemo_graphs():
    """pyx/user/programs/wfdemo.pyx's three graphs, built the same way
    (kwecli.abi.Graph is the wire format wf.pyx writes), without its output buffers."""
    fan = abi.Graph()
    split = fan.add(OP_NOP, input=TEXT)
    parts = [fan.add(OP_RLE_ENCODE, input=split), fan.add(OP_CRC32, input=split),
             fan.add(OP_XOR, input=split, args=(0x5A3C, 2))]
    combine = fan.add(OP_NOP, after=parts, input="parents")
    fan.add(OP_CRC32, input=combine)
    fan.add(OP_SLEEP, args=(40,))
    retry = abi.Graph()
    flaky = retry.add(OP_FLAKY, args=(2,), retries=3, backoff_ms=10)
    retry.add(OP_CRC32, input=b"after the retries", after=[flaky])
    fail = abi.Graph()
    ok = fail.add(OP_CRC32, input=b"independent")
    bad = fail.add(OP_RLE_DECODE, input=b"\x7f\x01")
    child = fail.add(OP_CRC32, input=bad)
    fail.add(OP_XOR, input=child, args=(1, 1))
    fail.add(OP_DJB2, input=ok)
    fail.add(OP_FLAKY, args=(5,), retries=2, backoff_ms=5)
    return {"fanout": fan, "retry": retry, "failure": fail}


@pytest.mark.parametrize("name", ["fanout", "retry", "failure"])
def test_a_demo_file_lowers_to_wfdemos_graph_byte_for_byte(name):
    assert wflang.py_lower(DEMOS[name]) == wfdemo_graphs()[name].encode()


def run(text, file_ids=()):
    p = Local()
    blob = wflang.py_lower(text, file_ids)
    assert p.call(OP_WF_REGISTER, workflow_id=5, input_ptr=(p.buffer(blob), len(blob))).status == E_OK
    p.push(OP_WF_RUN, workflow_id=5)
    p.submit()
    settle()
    out = p.results()
    return {r.node: r for r in out if r.flags & RF_NODE}, [r for r in out if not r.flags & RF_NODE][0]


def test_fanout_runs_to_pythons_values():
    start()
    nodes, summary = run(DEMOS["fanout"])
    rle = abi.rle_encode(TEXT)
    x = bytes(c ^ (0x5A3C).to_bytes(2, "little")[i % 2] for i, c in enumerate(TEXT))
    combined = rle + struct.pack("<I", zlib.crc32(TEXT)) + x
    assert nodes[2].value == zlib.crc32(TEXT) and nodes[5].value == zlib.crc32(combined)
    assert [nodes[i].length for i in range(5)] == [len(TEXT), len(rle), 4, len(x), len(combined)]
    assert (summary.status, summary.value) == (E_OK, 7)


def test_a_file_input_reads_the_file_it_was_resolved_to():
    """`file "QUERY"` becomes an OP_FS_GET node after the named ones; with no
    filesystem mounted hosted, its failure cancels the node that needs it."""
    start()
    text = b'node a = crc32 file "name=x"\nnode b = crc32 data "y"'
    blob = wflang.py_lower(text, [42])
    nnodes = struct.unpack_from("<H", blob, 4)[0]
    assert nnodes == 3
    fs_get = struct.unpack_from("<H", blob, 16 + 2 * 64)[0]
    assert fs_get == OP_FS_GET and struct.unpack_from("<Q", blob, 16 + 2 * 64 + 32)[0] == 42
    nodes, summary = run(text, [42])
    assert nodes[0].status == E_CANCELLED and nodes[1].value == zlib.crc32(b"y")
    assert summary.status != E_OK and summary.node == 2
