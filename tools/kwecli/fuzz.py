"""tools/kwe fuzz: every parser of user input, fed random and mutated inputs.

Seeded and reproducible: input i of target T with seed S is made from its own
PRNG, random.Random(f"T:S:i"), so any one input can be made again alone
(`--start i --count 1`).  A third of the inputs are random bytes, the rest
mutations of well-formed seeds (bit flips, boundary values, inserts,
deletions, splices).  Each target runs in a child process -- under the ASan +
UBSan build by default (`--no-asan`: the ordinary hosted build) -- which
writes how far it got, so a crash names the input that caused it.  After
each target the kernel heap is walked (heap.check()) and the hosted
accounts must be back at zero.

Why not atheris: its coverage needs clang's libFuzzer instrumentation, and
the hosted modules are built with gcc (no clang here).  Hypothesis makes
about a thousand examples a second, too slow for a million per parser; it
still drives the property tests in tests/hosted.
"""
import os
import random
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

from .paths import BUILD, ROOT

INTERESTING = [0, 1, 0x7F, 0x80, 0xFF]
CHECKPOINT_EVERY = 256


# ---- mutation ------------------------------------------------------------------------
def mutate(rng, data, seeds):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        i = rng.randrange(len(data) + 1)
        if op == 0 and data:
            data[min(i, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and data:
            data[min(i, len(data) - 1)] = rng.choice(INTERESTING)
        elif op == 2 and len(data) >= 2:
            j = min(i, len(data) - 2)
            data[j:j + 2] = struct.pack("<H", rng.choice([0, 1, 0xFFFF, 0x8000, rng.randrange(65536)]))
        elif op == 3:
            data[i:i] = rng.randbytes(rng.randint(1, 16))
        elif op == 4 and data:
            del data[i:i + rng.randint(1, 16)]
        elif op == 5:
            other = rng.choice(seeds)
            j = rng.randrange(len(other) + 1)
            data[i:] = other[j:]
        else:
            del data[i:]
    return bytes(data)


def make_input(rng, t):
    if rng.random() < 1 / 3 or not t.seeds:
        return rng.randbytes(rng.randrange(t.limit))
    return t.mutate(rng, mutate(rng, rng.choice(t.seeds), t.seeds))[:t.limit * 4]


# ---- targets: (seeds, limit on random input length, one input) -----------------------
class Target:
    def __init__(self):
        self.seeds, self.limit = [], 256

    def mutate(self, rng, data):
        """A target's own mutations, knowing its format (default: none)."""
        return data

    def done(self):
        """After the last input: anything the target must give back."""


class Rle(Target):
    def __init__(self):
        super().__init__()
        from kwe.common import operations
        self.ops = operations
        self.seeds = [operations.py_rle_encode(s) for s in
                      (b"a" * 300, b"abcabc" * 40, bytes(range(256)), b"", b"x" * 131)]

    def __call__(self, rng, data):
        try:
            self.ops.py_rle_decode(data, rng.choice([0, 1, 100, 1 << 16]))
        except ValueError:
            pass


class Elf(Target):
    def __init__(self):
        super().__init__()
        from kwe.tasks import elf
        self.elf = elf
        self.seeds = [p.read_bytes()[:65536] for p in sorted((BUILD / "pyx/user").glob("*.elf"))[:4]]
        self.limit = 4096

    def __call__(self, rng, data):
        self.elf.py_validate(data)


def graph_seeds():
    from kwecli import abi
    from kwecli.abi import OP_CRC32, OP_NOP, OP_RLE_DECODE, OP_SLEEP, OP_XOR
    g = abi.Graph()
    a = g.add(OP_NOP, input=b"seed data")
    b = g.add(OP_CRC32, input=a)
    c = g.add(OP_XOR, input=a, args=(0x5A, 1))
    g.add(OP_NOP, after=[b, c], input="parents")
    chain = abi.Graph()
    prev = chain.add(OP_RLE_DECODE, input=b"\x7f\x01")
    for _ in range(6):
        prev = chain.add(OP_CRC32, input=prev, retries=2, backoff_ms=1)
    timer = abi.Graph()
    timer.add(OP_SLEEP, args=(1,))
    return [g.encode(), chain.encode(), timer.encode()]


class WithProcess(Target):
    """A target that plays a process: a local one (kwe.events.guide), made
    anew every RECYCLE inputs so its user memory does not run out."""
    RECYCLE = 256

    def __init__(self):
        super().__init__()
        from engine import start
        release(start())                    # a fresh engine; its first process is not ours
        self.proc, self.uses = None, 0

    def process(self):
        from engine import Local
        if self.proc is None or self.uses == self.RECYCLE:
            release(self.proc)
            self.proc, self.uses = Local(event_ring=256, result_ring=4096, with_space=True), 0
        self.uses += 1
        return self.proc

    def done(self):
        release(self.proc)


class Graph(WithProcess):
    """Validation of every input; every eighth one that validates is also
    registered, run to the end and unregistered by a local process."""

    def __init__(self):
        super().__init__()
        from kwe.events import workflow
        self.workflow = workflow
        self.seeds = graph_seeds()

    def mutate(self, rng, data):
        """Half the time, one node's dependency range, input node or kind set
        to a small or boundary value: where the checks are."""
        nnodes = struct.unpack_from("<H", data, 4)[0] if len(data) >= 16 else 0
        if rng.randrange(2) or nnodes == 0 or len(data) < 16 + 64 * nnodes:
            return data
        at = 16 + 64 * rng.randrange(nnodes) + rng.choice([3, 12, 14, 16])      # kind, input, first, n
        v = rng.choice([0, 1, 2, nnodes - 1, nnodes, 0xFFFF, rng.randrange(8)])
        data = bytearray(data)
        if at % 16 == 3:
            data[at] = v & 0xFF
        else:
            struct.pack_into("<H", data, at, v & 0xFFFF)
        return bytes(data)

    def __call__(self, rng, data):
        from kwecli.abi import OP_WF_REGISTER, OP_WF_RUN, OP_WF_UNREGISTER
        if self.workflow.py_validate(data) != 0 or rng.randrange(8):
            return
        p = self.process()
        p.push(OP_WF_REGISTER, workflow_id=1, input_ptr=(p.buffer(data), len(data)))
        p.push(OP_WF_RUN, workflow_id=1)
        p.push(OP_WF_UNREGISTER, workflow_id=1)
        p.submit()
        settle_and_drain(p)


class Event(WithProcess):
    """Whole EventSlots, as a hostile process writes them into its EventRing."""

    def __init__(self):
        super().__init__()
        from kwecli import abi
        self.abi = abi
        self.limit = abi.SLOT_SIZE
        self.seeds = [abi.event(op, payload=b"payload", args=(3, 1, 0, 0))
                      for op in (abi.OP_NOP, abi.OP_CRC32, abi.OP_RLE_DECODE, abi.OP_XOR, abi.OP_SLEEP,
                                 abi.OP_MEM_ALLOC, abi.OP_TICKS, abi.OP_WF_RUN, abi.OP_KILL,
                                 abi.OP_CAPS_GET, abi.OP_CAPS_LIMIT, abi.OP_CHECKS)]
        self.seeds.append(abi.event(abi.OP_CRC32, input_ptr=(0x10000000, 64)))

    def __call__(self, rng, data):
        from kwe.events import guide
        p = self.process()
        slot = data[:self.abi.SLOT_SIZE].ljust(self.abi.SLOT_SIZE, b"\0")
        if struct.unpack_from("<H", slot, 12)[0] in (self.abi.OP_EXIT, self.abi.OP_SPAWN):
            slot = slot[:12] + b"\0\0" + slot[14:]        # a local process cannot end or spawn
        if rng.randrange(4) == 0:                          # a real user buffer to point at
            try:
                va = p.buffer(rng.randbytes(rng.randrange(1, 4096)))
            except MemoryError:                            # an OP_MEM_ALLOC before took the machine's RAM
                va = 0x10000000
            slot = slot[:self.abi.SLOT_HEADER] + struct.pack("<QQ", va, rng.randrange(8192)) + slot[self.abi.SLOT_HEADER + 16:]
        guide.py_push_event(p.pid, slot)
        p.submit()
        settle_and_drain(p)


class Query(Target):
    def __init__(self):
        super().__init__()
        from kwecli.hosted import new_volume
        from kwe.fs import tagfs_host
        self.errors = (tagfs_host.FSError, UnicodeError, ValueError)
        self.disk, self.vol = new_volume()
        for tags in ["type=text name=a", "type=text name=b lang=en", "type=bin"]:
            self.vol.create(tags)
        self.seeds = [b"type=text AND name=a", b"(type=text OR type=bin) AND NOT lang=en",
                      b"NOT (a OR (b AND (c OR d)))", b"name=a OR name=b OR name=c", b"((((x))))",
                      b"type=text and not lang=en Or name=b"]
        self.limit = 128

    def __call__(self, rng, data):
        try:
            self.vol.query(data.decode("latin-1"))
        except self.errors:
            pass


class Tag(Target):
    """The tag grammar (kwe.common.tags) on raw bytes: the query target's
    text is always UTF-8, this one's need not be."""
    def __init__(self):
        super().__init__()
        from kwe.common import tags
        self.tags = tags
        self.seeds = [b"type=text", b"a=b=c", "f\u00e4rg=r\u00f6d".encode(), b"name=init", b"and", b"x=",
                      b"\xf4\x8f\xbf\xbf=\xed\x9f\xbf", b"a\xc2\xa0b", b"k=" + b"v" * 116]
        self.limit = 160

    def __call__(self, rng, data):
        t = self.tags
        t.py_reason(t.py_code(data))
        t.py_operator(data), t.py_word_len(data), t.py_space_len(data)
        t.py_key_len(data), t.py_reserved(data)


class Wflang(WithProcess):
    """Workflow files (kwe.common.wflang): a mistake is a ValueError naming a
    line:column inside the text; what parses must format to text that parses
    to the same nodes, and lower to a graph the kernel accepts."""

    def __init__(self):
        super().__init__()
        from kwe.common import wflang
        from kwe.events import workflow
        self.wflang, self.workflow = wflang, workflow
        self.seeds = [p.read_bytes() for p in sorted((ROOT / "workflows").glob("*.wf"))]
        self.seeds.append(b'node a = xor data "\\x00\\n\\"" args 0xFF 1 retries 16 backoff 65535\n'
                          b'node b = crc32 from a after a\nnode c = nop file "type=x AND NOT y"')
        self.limit = 1024

    def __call__(self, rng, data):
        w = self.wflang
        try:
            nodes = w.py_parse(data)
        except ValueError as e:
            line, col = (int(x) for x in str(e).split(":", 2)[:2])
            assert 1 <= line <= data.count(b"\n") + 1 and col >= 1, (data, e)
            return
        text = w.py_format(data)
        assert w.py_format(text) == text, (data, text)
        assert [dict(n, line=0, col=0) for n in w.py_parse(text)] == [dict(n, line=0, col=0) for n in nodes]
        assert self.workflow.py_validate(w.py_lower(data, [1] * len(nodes))) == 0, data


class Http(Target):
    """HTTP request heads (kwe.common.http, which httpd and the Operations
    deck parse hostile bytes with): whatever parse answers stays inside the
    buffer, and a head it takes parses alone to the same request."""
    PIECES = [b"\r\n", b"\n", b"\r", b"\r\n\r\n", b":", b": ", b" ", b"\t", b",", b"?", b"%", b"/", b"\x00",
              b"Content-Length: ", b"Transfer-Encoding: chunked", b"Connection: close", b"keep-alive",
              b"Expect: 100-continue", b"HTTP/1.0", b"HTTP/1.1", b"HTTP/2.0", b"18446744073709551616", b"0"]

    def __init__(self):
        super().__init__()
        from kwe.common import http
        self.http = http
        self.seeds = [b"GET /files/17 HTTP/1.1\r\nHost: 10.0.2.15\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
                      b"PUT /files?name=a+b%21 HTTP/1.1\r\nContent-Length: 2048\r\nExpect: 100-continue\r\n\r\n",
                      b"\r\nHEAD / HTTP/1.0\nConnection: keep-alive, close\n\nGET / HTTP/1.1\r\n\r\n",
                      b"DELETE /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"]
        self.limit = 512

    def mutate(self, rng, data):
        """Header-ish bytes inserted or written over, where line and field breaks matter."""
        for _ in range(rng.randrange(3)):
            i, piece = rng.randrange(len(data) + 1), rng.choice(self.PIECES)
            data = data[:i] + piece + data[i + (len(piece) if rng.randrange(2) else 0):]
        return data

    def __call__(self, rng, data):
        if rng.randrange(8) == 0:
            data = data * rng.randint(2, 40)          # past HEAD_MAX and HEADERS_MAX
        r = self.http.py_parse(data)
        if isinstance(r, dict):
            assert 0 < r["head_len"] <= len(data), (data, r)
            assert self.http.py_parse(data[:r["head_len"]]) == r, data
            self.http.py_query_param(r["query"], b"name")
            self.http.py_path_id(r["path"], b"/files/")
        else:
            assert -5 <= r <= 0, (data, r)


class Disk(Target):
    """Damaged copies of real TagFS images whose every file's bytes and every
    query's answer are known (the oracle).  Accidental damage -- bit flips,
    byte runs, zeroed, duplicated and swapped blocks, truncation -- must give
    the oracle's answer or a clean error, and whatever a reader found damaged
    fsck must report too.  Hostile damage changes numbers inside metadata and
    makes the checksums right again: no checksum can tell that from a real
    disk, so it must only never crash, hang or go out of bounds."""
    scale = 0.1                             # an image is ~100 inputs of the other targets

    def __init__(self):
        super().__init__()
        from kwe.dev import blockdev
        from kwe.fs import tagfs_host
        from .tagfs_image import Image
        self.blockdev, self.tfs, self.Image = blockdev, tagfs_host, Image
        self.bases = [self.base(clean=True), self.base(clean=False)]

    def base(self, clean):
        """(image, files {id: bytes}, queries {query: ids}, interesting blocks)."""
        from .hosted import new_volume
        disk, v = new_volume(blocks=512, journal_blocks=64)
        files = {}
        for i, size in enumerate([0, 1, 100, 4096, 4097, 9000, 33000, 70000, 300, 12]):
            f = v.create(f"n={i} {('even', 'odd')[i % 2]} {'big' if size > 5000 else 'small'} all")
            files[f] = bytes((i * 31 + j * 7) & 0xFF for j in range(size))
            v.write(f, files[f])
        gone = v.create("doomed all")
        v.write(gone, b"z" * 20000)
        v.delete(gone)                      # freed blocks and nodes that still hold old bytes
        cut = list(files)[7]                # 70000 bytes: cut inside a chunk
        v.truncate(cut, 5000)
        files[cut] = files[cut][:5000]
        queries = ["all", "even AND big", "odd OR small", "all AND NOT big", "NOT even", "doomed", "n=3"]
        answers = {q: v.query(q) for q in queries}
        if clean:
            v.unmount()
        else:
            v.sync()                        # committed, never unmounted: mount replays the journal
        image = disk.image()
        regions = self.Image(image).regions()
        hot = sorted({b for r in regions.values() for b in r if len(r) < 100} | set(regions["journal"][:4]))
        return image, files, answers, hot

    def pick(self, rng, hot, nblocks):
        return rng.choice(hot) if rng.random() < 0.8 else rng.randrange(nblocks)

    def damage(self, rng, img, hot):
        """Accidental damage to img.data, in place; returns the new length."""
        nblocks, op = len(img.data) // 4096, rng.randrange(6)
        a, b = self.pick(rng, hot, nblocks), self.pick(rng, hot, nblocks)
        if op == 0:
            for _ in range(rng.randint(1, 8)):
                img.data[a * 4096 + rng.randrange(4096)] ^= 1 << rng.randrange(8)
        elif op == 1:
            at = a * 4096 + rng.randrange(4096 - 64)
            img.data[at:at + rng.randint(1, 64)] = rng.randbytes(64)[:rng.randint(1, 64)].ljust(1, b"\0")
        elif op == 2:
            img.put(a, bytes(4096))
        elif op == 3:
            img.put(b, img.block(a))
        elif op == 4:
            ba = img.block(a)
            img.put(a, img.block(b))
            img.put(b, ba)
        else:
            return rng.randrange(len(img.data))
        return len(img.data)

    def hostile(self, rng, img, hot):
        """A number inside a metadata block changed and the block resealed."""
        for _ in range(rng.randint(1, 3)):
            a = rng.choice(hot)
            width = rng.choice([2, 4, 8])
            at = rng.choice([rng.randrange(0, 64, width), rng.randrange(0, 4096 - 8, width)])
            v = rng.choice([0, 1, 2, 5, 0xFFFF, 0xFFFFFFFF, len(img.data) // 4096, len(img.data) // 4096 - 1,
                            1 << 40, rng.randrange(1 << 16)])
            img.data[a * 4096 + at:a * 4096 + at + width] = (v & ((1 << 8 * width) - 1)).to_bytes(width, "little")
            img.reseal(a)

    def damaged(self, rng, image, hot, evil):
        """A damaged copy of image (bytes), accidental or hostile."""
        img = self.Image(image)
        if evil:
            self.hostile(rng, img, hot)
            return bytes(img.data)
        return bytes(img.data[:self.damage(rng, img, hot)])

    def __call__(self, rng, data):
        image, files, answers, hot = rng.choice(self.bases)
        evil = rng.random() < 0.25
        try:
            v = self.tfs.Volume(self.blockdev.MemDisk(image=self.damaged(rng, image, hot, evil)))
        except self.tfs.FSError:
            return                              # refused at mount: clean
        failed = self.read_all(v, files, answers, check=not evil)
        problems = v.fsck()[0]
        assert evil or not failed or problems, f"readers found damage that fsck did not report ({failed})"
        self.write_some(v, rng)

    def read_all(self, v, files, answers, check):
        """Every file and query: the oracle's answer or FSError.  How many failed."""
        asks = [(f"file {f}", v.read, f, want) for f, want in files.items()]
        asks += [(f"query {q!r}", v.query, q, want) for q, want in answers.items()]
        failed = 0
        for what, ask, arg, want in asks:
            try:
                got = ask(arg)
            except self.tfs.FSError:
                failed += 1
                continue
            assert not check or got == want, f"{what}: a wrong answer ({str(got)[:80]}), the oracle's is {str(want)[:80]}"
        return failed

    def write_some(self, v, rng):
        """A damaged volume takes a write or refuses it; what it takes reads back."""
        try:
            f = v.create("new all")
            data = rng.randbytes(rng.choice([10, 5000, 40000]))
            v.write(f, data)
            assert v.read(f) == data
            v.delete(rng.choice(v.files()))
        except self.tfs.FSError:
            pass


def inet_sum(b):
    """The Internet checksum (RFC 1071) of b."""
    if len(b) % 2:
        b = bytes(b) + b"\0"
    s = sum(memoryview(bytes(b)).cast("H"))        # native order: swapped back below
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return struct.pack("=H", ~s & 0xFFFF)


def fix_checksums(frame):
    """An Ethernet/IPv4/TCP frame with its IP and TCP checksums right again,
    as far as its lengths allow: a mutation that only broke a checksum would
    reach nothing past it."""
    f = bytearray(frame)
    if len(f) < 34 or f[12:14] != b"\x08\x00":
        return bytes(f)
    ihl = (f[14] & 15) * 4
    if ihl < 20 or 14 + ihl > len(f):
        return bytes(f)
    f[24:26] = b"\0\0"
    f[24:26] = inet_sum(f[14:14 + ihl])
    end = min(len(f), 14 + int.from_bytes(f[16:18], "big"))
    if f[23] == 6 and end - 14 - ihl >= 18:
        seg = f[14 + ihl:end]
        seg[16:18] = b"\0\0"
        f[14 + ihl + 16:14 + ihl + 18] = inet_sum(f[26:34] + b"\0\x06" + len(seg).to_bytes(2, "big") + seg)
    return bytes(f)


class Tcp(Target):
    """Whole Ethernet frames into the network stack (kwe.net.netif.py_input).
    One input is a script -- up to 16 frames, each with what happens after it
    (a timer tick, 50 ticks, the application reading, writing or accepting) --
    run on a fresh stack that has a listener, an established connection with
    data in flight both ways and a connection being opened, so every input can
    be made again alone.  A third of the mutated frames keep their checksums
    right and a third are a seed mutated only from its TCP header on, so the
    mutations reach TCP's state machine; after each frame the connection table
    must be consistent (tcp.check)."""
    scale = 0.25                            # an input is up to 16 frames on a fresh stack
    FRAMES = 16
    ME, PEER = bytes([10, 0, 2, 15]), bytes([10, 0, 2, 2])
    ETH = bytes.fromhex("525400123456" "52550a000202" "0800")

    def __init__(self):
        super().__init__()
        self.limit = 1514
        self.frames = self.setup()
        self.seeds = [self.script([(0, f)]) for f in self.frames]
        self.seeds += [self.script([(4, self.frames[i]) for i in order])
                       for order in ([0, 1, 4, 2], [3, 0, 1], [6, 2, 2, 2], [7, 8], [9, 1], [4, 2, 2], [3, 4, 0])]

    def tcp(self, sport, dport, seq, ack, flags, data=b"", options=b"", wnd=65535):
        return self.wrap(struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                                     ((20 + len(options)) // 4) << 4, flags, wnd, 0, 0) + options + data)

    def wrap(self, segment):
        """A TCP segment (as it is) from the peer to us, in a frame with right checksums."""
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(segment), 1, 0x4000, 64, 6, 0, self.PEER, self.ME)
        return fix_checksums(self.ETH + ip + segment)

    @staticmethod
    def script(steps):
        return b"".join(len(f).to_bytes(2, "big") + bytes([act]) + f for act, f in steps)

    def steps(self, data):
        """A script's (action, frame) steps, read leniently: any bytes are some script."""
        out, i = [], 0
        while i + 3 <= len(data) and len(out) < self.FRAMES:
            n = int.from_bytes(data[i:i + 2], "big") % 1600
            out.append((data[i + 2], data[i + 3:i + 3 + n]))
            i += 3 + n
        return out

    def setup(self):
        """A fresh machine and stack in a known state; the frames that reach it."""
        from kwecli.hosted import fresh
        from kwe.base import cmdline
        from kwe.dev import pit
        from kwe.net import netif, socket, tcp
        self.pit, self.netif, self.socket, self.tcpm = pit, netif, socket, tcp
        cmdline.py_set_line(b"tcp_rcvbuf=4096 tcp_sndbuf=4096 tcp_msl=300 tcp_retries=3 "
                            b"tcp_syn_retries=2 tcp_synack_retries=1 arp_ttl=1000000000")
        fresh()
        pit.py_init(100)
        netif.py_init()
        socket.py_init(False)
        cmdline.py_set_line(b"")
        tcp.py_seed(7)
        netif.py_input(bytes.fromhex("ffffffffffff52550a0002020806" "0001080006040001" "52550a000202") +
                       self.PEER + bytes(6) + self.ME)
        self.l = socket.py_open(1, 2)
        socket.py_bind(1, self.l, 80)
        socket.py_listen(1, self.l, 4)
        netif.py_sent()
        netif.py_input(self.tcp(40000, 80, 1000, 0, 0x02, options=b"\x02\x04\x05\xb4"))
        iss = struct.unpack("!I", netif.py_sent()[-1][38:42])[0]
        netif.py_input(self.tcp(40000, 80, 1001, iss + 1, 0x10))
        self.k = socket.py_accept(1, self.l)[0]
        socket.py_tcp_send(1, self.k, b"s" * 3000)
        self.out = socket.py_open(1, 2)
        socket.py_connect(1, self.out, int.from_bytes(self.PEER, "big"), 7777)
        syn = netif.py_sent()[-1]
        oport, oiss = struct.unpack("!H", syn[34:36])[0], struct.unpack("!I", syn[38:42])[0]
        a, t = iss + 1, self.tcp
        return [t(40000, 80, 1001, a, 0x18, b"hello"), t(40000, 80, 1006, a + 1460, 0x10),
                t(40000, 80, 1001, a, 0x10), t(40000, 80, 1100, a, 0x18, b"later"),
                t(40000, 80, 1001, a, 0x11), t(40000, 80, 1001, a, 0x04), t(40000, 80, 1001, a, 0x10, wnd=0),
                t(40001, 80, 5, 0, 0x02, options=b"\x01\x03\x03\x07\x02\x04\x02\x18"),
                t(40000, 80, 999, a, 0x12), t(7777, oport, 9000, oiss + 1, 0x12, options=b"\x02\x04\x02\x00"),
                t(7777, oport, 9000, oiss + 1, 0x14), t(5, 9, 1, 0, 0x02)]

    def mutate(self, rng, data):
        """Each frame of the script: as the generic mutation left it, its
        checksums made right, or a seed frame mutated only from its TCP header on."""
        out = []
        segments = [f[34:] for f in self.frames]
        for act, f in self.steps(data):
            how = rng.randrange(4)
            if how == 1:
                f = fix_checksums(f)
            elif how == 2:
                f = self.wrap(mutate(rng, rng.choice(segments), segments)[:1480])
            elif how == 3:
                f = rng.choice(self.frames)
            out.append((act, f))
        return self.script(out)

    def __call__(self, rng, data):
        self.setup()
        for act, frame in self.steps(data):
            self.netif.py_input(frame)
            self.act(rng, act % 16)
            self.netif.py_sent()
            assert self.tcpm.py_check() == 0, "the TCP connection table is inconsistent"
        self.socket.py_close_all(1)
        assert self.tcpm.py_check() == 0, "the TCP connection table is inconsistent"

    def act(self, rng, act):
        if act in (0, 1):
            self.pit.py_tick()
            self.netif.py_poll()
        elif act == 2:
            for _ in range(50):
                self.pit.py_tick()
                self.netif.py_poll()
        elif act == 3:
            self.socket.py_tcp_recv(1, self.k, rng.choice([1, 100, 65536]))
        elif act == 4:
            self.socket.py_tcp_send(1, self.k, b"w" * rng.randrange(3000))
        elif act == 5:
            self.socket.py_accept(1, self.l)


TARGETS = {"rle": Rle, "elf": Elf, "graph": Graph, "event": Event, "query": Query, "tag": Tag, "wflang": Wflang,
           "disk": Disk, "tcp": Tcp, "http": Http}


def settle_and_drain(p, ticks=50):
    """Run the Guide and a few timer ticks; long sleeps are left in flight
    (ending the process releases them)."""
    from kwe.dev import pit
    from kwe.events import guide
    guide.py_run()
    for _ in range(ticks):
        if guide.py_in_flight() == 0:
            break
        pit.py_tick()
        guide.py_run()
    p.results()


def release(proc):
    from kwe.events import guide
    if proc is not None:
        guide.py_free_local(proc.pid)


# ---- running -------------------------------------------------------------------------
def run_target(name, seed, start, count, progress=None):
    """In this process: inputs start..start+count-1 of target `name`; then the
    heap walk and the accounts.  progress: a path the index is written to."""
    from kwe.mm import account, heap
    t = TARGETS[name]()
    fd = os.open(progress, os.O_WRONLY | os.O_CREAT | os.O_TRUNC) if progress else None
    for i in range(start, start + count):
        if fd is not None and (count <= CHECKPOINT_EVERY or i % CHECKPOINT_EVERY == 0):
            os.pwrite(fd, f"{i:<12}".encode(), 0)
        rng = random.Random(f"{name}:{seed}:{i}")
        t(rng, make_input(rng, t))
    t.done()
    bad = heap.py_check() + heap.py_stats()["corruptions"]
    used = account.py_used(-1)[0]
    assert bad == 0, f"{name}: the heap checks found {bad} problems"
    assert not any(u for r, u in enumerate(used) if r != account.RESOURCES["files"]), \
        f"{name}: accounts not back to zero: {used}"


def child_env(use_asan):
    env = dict(os.environ)
    path = [str(ROOT / "tools"), str(ROOT / "tests/hosted")]
    if use_asan:
        from . import asan
        env = asan.env()
        env["PYTHONPATH"] = os.pathsep.join(path + [env["PYTHONPATH"]])
    else:
        env["PYTHONPATH"] = os.pathsep.join([str(BUILD / "pyx")] + path)
    return env


def run_child(name, seed, start, count, use_asan, progress):
    code = (f"from kwecli.fuzz import run_target; "
            f"run_target({name!r}, {seed}, {start}, {count}, {str(progress)!r})")
    return subprocess.run([sys.executable, "-c", code], env=child_env(use_asan), cwd=ROOT,
                          capture_output=True, text=True)


def find_crash(name, seed, start, count, use_asan, progress):
    """Replay from the last checkpoint one input per child until one fails."""
    at = int(Path(progress).read_text() or start)
    for i in range(at, start + count):
        r = run_child(name, seed, i, 1, use_asan, progress)
        if r.returncode != 0:
            return i, r
    return None, None


def fuzz(name, seed, start, count, use_asan):
    count = max(1, int(count * getattr(TARGETS[name], "scale", 1)))
    with tempfile.TemporaryDirectory(prefix="kwe-fuzz-") as tmp:
        progress = Path(tmp) / "progress"
        r = run_child(name, seed, start, count, use_asan, progress)
        if r.returncode == 0:
            print(f"fuzz {name}: {count} inputs from {start} (seed {seed}): 0 crashes, 0 reports")
            return True
        i, r1 = find_crash(name, seed, start, count, use_asan, progress)
        where = f"input {i}" if i is not None else "after the last input (heap walk or accounts)"
        print(f"fuzz {name}: FAILED at {where} (seed {seed})\n"
              f"  again: tools/kwe fuzz --target {name} --seed {seed} --start {i or start} --count 1"
              f"{'' if use_asan else ' --no-asan'}")
        sys.stdout.write(((r1 or r).stdout + (r1 or r).stderr)[-6000:])
        return False


def boot(seed, count=10000):
    """The user program `fuzz` in the real kernel: True if the boot ended
    clean -- status 0, every page back, no account left, a sound heap."""
    from . import qemu
    b = qemu.boot(f"run=init init=fuzz args={seed},{count}", timeout=600)
    problems = qemu.kernel_problems(b.log)
    ok = b.ok and not problems and "kernel: every page came back" in b.log
    summary = [l for l in b.log.splitlines() if l.startswith("fuzz: seed")][-1:]
    print(f"fuzz boot seed {seed}: {'ok' if ok else 'FAILED'} {summary} {problems}")
    if not ok:
        print(f"  again: tools/kwe run --cmdline \"run=init init=fuzz args={seed},{count}\"")
        print(b.log[-4000:])
    return ok


FSCK_LINE = r"fsck: (\d+) files, (\d+) tags, (\d+) index blocks, (\d+) data blocks: (\d+) problems"


def damaged_boot_image(seed, path):
    """build/kwe.img with its TagFS damaged as the disk target damages images
    (seeded); returns (evil, the damaged region)."""
    import re  # noqa: F401  (FSCK_LINE's users)
    from .fs import locate
    from .paths import IMAGE
    from .tagfs_image import Image
    rng = random.Random(f"disk-boot:{seed}")
    data = IMAGE.read_bytes()
    start, length = locate(data)
    region = data[start:start + length]
    regions = Image(region).regions()
    hot = sorted({b for r in regions.values() for b in r if len(r) < 100})
    t = Disk.__new__(Disk)
    t.Image = Image
    evil = rng.random() < 0.25
    bad = t.damaged(rng, region, hot, evil)
    bad = bad.ljust(length, b"\0") if len(bad) < length else bad      # a boot disk keeps its size
    path.write_bytes(data[:start] + bad + data[start + length:])
    return evil, bad


def hosted_verdict(region):
    """What the hosted TagFS says of a region: None if it refuses to mount,
    else fsck's problem count.  (Here, in the fuzz command's own process, the
    ordinary hosted build: the targets' children have theirs.)"""
    if str(BUILD / "pyx") not in sys.path:
        sys.path.insert(0, str(BUILD / "pyx"))
    from kwe.dev import blockdev
    from kwe.fs import tagfs_host as tfs
    from .hosted import fresh
    fresh(ram=3 * len(region) + (64 << 20))
    try:
        return tfs.Volume(blockdev.MemDisk(image=region)).fsck()[0]
    except tfs.FSError:
        return None


def disk_boot(seed):
    """Boot the kernel on a damaged disk: it must end by itself, without a
    panic or a CPU fault, and its mount and fsck must agree with the hosted
    code's on the same bytes (parity).  True if all that holds."""
    import re
    from . import qemu
    with tempfile.TemporaryDirectory(prefix="kwe-disk-") as tmp:
        path = Path(tmp) / "kwe.img"
        evil, region = damaged_boot_image(seed, path)
        b = qemu.boot("run=fsck init=hello", timeout=120, image=path, snapshot=False)
    m = re.search(FSCK_LINE, b.log)
    kernel = None if "tagfs: mount refused" in b.log else (int(m.group(5)) if m else "no fsck line")
    hosted = hosted_verdict(region)
    ok = b.status in (0, 1) and not qemu.kernel_problems(b.log) and kernel == hosted
    print(f"fuzz disk boot {seed} ({'hostile' if evil else 'accidental'}): status {b.status}, kernel fsck "
          f"{kernel}, hosted fsck {hosted}: {'ok' if ok else 'FAILED'}")
    if not ok:
        print(b.log[-3000:])
    return ok


def main(a):
    from . import asan, build as kbuild
    if not kbuild.build(quiet=True):
        return 1
    if a.asan and not asan.build(quiet=True):
        return 1
    names = [a.target] if a.target else list(TARGETS)
    ok = all([fuzz(n, a.seed, a.start, a.count, a.asan) for n in names])
    ok = all([boot(a.seed + k) for k in range(a.boots)]) and ok
    if a.target in (None, "disk"):
        ok = all([disk_boot(a.seed * 1000 + k) for k in range(a.disk_boots)]) and ok
    return 0 if ok else 1
