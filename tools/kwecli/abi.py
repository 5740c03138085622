"""The ABI from Python: constants (read from pyx/kwe/common/abi.pxd, the one
definition), event and result slots, workflow graphs, and a reference RLE
written from the format's documentation (docs/abi.md), not from the kernel.
"""
import importlib.util
import struct
from dataclasses import dataclass

from .paths import ROOT

_spec = importlib.util.spec_from_file_location("abi_header", ROOT / "tools/build/abi_header.py")
_header = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_header)
_text = (ROOT / "pyx/kwe/common/abi.pxd").read_text()
_consts, _, _ = _header.parse(_text)
C = {}
for _name, _value in _consts:
    C[_name] = C[_value] if _value in C else int(_value, 0)
globals().update(C)
# code -> (name, meaning): the same table the kernel prints from (build/kwe_errors.h).
ERRORS = {value: (name, meaning)
          for name, value, meaning in _header.errors(_text)}


def error_text(code):
    """'E_NOENT: no such file, tag, program or workflow', as the kernel's %e prints it."""
    if code not in ERRORS:
        return f"unknown error {code}"
    return "%s: %s" % ERRORS[code]

EVENT_HEADER = struct.Struct("<QIHH8sB3xI4Q")                    # 64 bytes
COMPLETION = struct.Struct("<QQiIHHHBB")                          # 32 bytes
GRAPH_HEADER = struct.Struct("<IHHII")                           # 16 bytes
NODE = struct.Struct("<HBB8sHHHBBHHII4Q")                         # 64 bytes
PROC_INFO = struct.Struct("<IIII3Q24s")                             # 64 bytes, OP_PS
SYS_STAT = struct.Struct("<10Q5QQQ4Q")                              # OP_SYSSTAT
NET_STAT = struct.Struct("<6sBxIIII9Q32Q")                          # OP_NET_STAT


def default_route(opcode):
    deck = opcode >> 8
    return [DECK_EXECUTION] if deck == DECK_EXECUTION else [deck, DECK_EXECUTION]


def event(opcode, *, event_id=1, workflow_id=0, route=None, flags=0, payload=b"",
          args=(0, 0, 0, 0), route_len=None, payload_len=None, input_ptr=None):
    """One 576-byte EventSlot.  input_ptr=(address, length): input by pointer."""
    if input_ptr is not None:
        flags |= EVF_INPUT_PTR
        payload, payload_len = struct.pack("<QQ", *input_ptr), 0
    route = default_route(opcode) if route is None else list(route)
    args = tuple(args) + (0,) * (4 - len(args))
    head = EVENT_HEADER.pack(event_id, workflow_id, opcode, flags, bytes(route).ljust(8, b"\0"),
                             len(route) if route_len is None else route_len,
                             len(payload) if payload_len is None else payload_len, *args)
    return head + payload.ljust(PAYLOAD_MAX, b"\0")[:PAYLOAD_MAX]


@dataclass
class Result:
    """One Completion; output: the bytes the kernel wrote to the event's
    output buffer (filled in by whoever reads that buffer)."""
    event_id: int
    value: int
    status: int
    length: int
    opcode: int
    flags: int
    node: int
    deck: int
    attempts: int
    output: bytes = b""

    @property
    def counts(self):
        """A run summary's (done, failed, cancelled)."""
        return self.value & 0xFFFF, (self.value >> 16) & 0xFFFF, (self.value >> 32) & 0xFFFF


def result(slot):
    return Result(*COMPLETION.unpack_from(slot))


class Graph:
    """A workflow graph in the wire format of OP_WF_REGISTER."""

    def __init__(self):
        self.nodes, self.data = [], b""

    def add(self, opcode, *, after=(), input=None, args=(), retries=0, backoff_ms=0,
            emit=True, route=None, flags=0, out=None):
        """input: None, bytes (graph data), an int (that node's output) or "parents";
        out: (address, capacity) of a buffer for the node's output."""
        deps = list(after)
        args = tuple(args) + (0,) * (2 - len(args)) if out is not None else tuple(args)
        if out is not None:
            args, flags = args[:2] + tuple(out), flags | NODE_OUTPUT_PTR
        kind, src, off, n = INPUT_NONE, 0, 0, 0
        if isinstance(input, bytes):
            kind, off, n = INPUT_DATA, len(self.data), len(input)
            self.data += input
        elif isinstance(input, int):
            kind, src = INPUT_NODE, input
            if input not in deps:
                deps.append(input)
        elif input == "parents":
            kind = INPUT_PARENTS
        self.nodes.append(dict(opcode=opcode, route=default_route(opcode) if route is None else list(route),
                               kind=kind, src=src, deps=deps, retries=retries, backoff=backoff_ms,
                               flags=flags | (NODE_EMIT if emit else 0), off=off, n=n,
                               args=tuple(args) + (0,) * (4 - len(args))))
        return len(self.nodes) - 1

    def encode(self):
        deps, nodes = [], b""
        for nd in self.nodes:
            nodes += NODE.pack(nd["opcode"], len(nd["route"]), nd["kind"], bytes(nd["route"]).ljust(8, b"\0"),
                               nd["src"], len(deps), len(nd["deps"]), nd["retries"], nd["flags"],
                               nd["backoff"], 0, nd["off"], nd["n"], *nd["args"])
            deps += nd["deps"]
        return (GRAPH_HEADER.pack(GRAPH_MAGIC, len(self.nodes), len(deps), len(self.data), 0)
                + nodes + struct.pack(f"<{len(deps)}H", *deps) + self.data)


def rle_encode(data):
    """The documented RLE, greedily: runs of 3..130 equal bytes become
    (count + 125, byte); everything else goes in literal blocks of up to 128
    bytes (count - 1, bytes...)."""
    out, literal, i = bytearray(), bytearray(), 0

    def flush():
        if literal:
            out.append(len(literal) - 1)
            out.extend(literal)
            literal.clear()
    while i < len(data):
        run = 1
        while i + run < len(data) and run < 130 and data[i + run] == data[i]:
            run += 1
        if run >= 3:
            flush()
            out += bytes([run + 125, data[i]])
            i += run
        else:
            literal.append(data[i])
            i += 1
            if len(literal) == 128:
                flush()
    flush()
    return bytes(out)


def rle_decode(data):
    out, i = bytearray(), 0
    while i < len(data):
        c = data[i]
        i += 1
        if c < 128:
            if i + c + 1 > len(data):
                raise ValueError("truncated literal")
            out += data[i:i + c + 1]
            i += c + 1
        else:
            if i >= len(data):
                raise ValueError("truncated run")
            out += bytes([data[i]]) * (c - 125)
            i += 1
    return bytes(out)
