"""A fresh engine on the simulated machine, and a local process to talk to it."""
from kwe.init import engine
from kwe.events import guide
from kwe.dev import pit
from kwecli import abi
from memory import fresh


class Local:
    """The process side of a local (never running) process's rings."""
    OUT_CAP = 1 << 16           # call()'s output buffer

    def __init__(self, event_ring=256, result_ring=256, with_space=True):
        self.pid = guide.py_local_process(event_ring, result_ring, with_space)
        self.space = with_space
        self.next_id = 0
        self.out_va = None

    def out_buffer(self, cap=None):
        """(address, capacity) of a user buffer for outputs, made once."""
        if self.out_va is None:
            self.out_va = self.buffer(bytes(self.OUT_CAP))
        return self.out_va, self.OUT_CAP if cap is None else cap

    def push(self, opcode, **kw):
        self.next_id += 1
        kw.setdefault("event_id", self.next_id)
        assert guide.py_push_event(self.pid, abi.event(opcode, **kw)), "EventRing full"
        return kw["event_id"]

    def submit(self):
        return guide.py_submit(self.pid)

    def results(self):
        out = []
        while (slot := guide.py_pop_result(self.pid)) is not None:
            out.append(abi.result(slot))
        return out

    def call(self, opcode, now=False, **kw):
        """One event through the Guide; its result, with .output read from the
        output buffer call() names (unless the event names its own).  now: do
        not let timers run first (other results are kept in self.others)."""
        va = None
        if self.space and not kw.get("flags", 0) & abi.EVF_OUTPUT_PTR:
            va, cap = self.out_buffer()
            kw["flags"] = kw.get("flags", 0) | abi.EVF_OUTPUT_PTR
            kw["args"] = (tuple(kw.get("args", ())) + (0, 0))[:2] + (va, cap)
        event_id = self.push(opcode, **kw)
        assert self.submit() == 1
        if not now:
            settle()
        out = self.results()
        mine = [r for r in out if r.event_id == event_id]
        self.others = [r for r in out if r.event_id != event_id]
        assert len(mine) == 1, out
        if va is not None and mine[0].length:
            mine[0].output = self.read(va, min(mine[0].length, self.OUT_CAP))
        return mine[0]

    def buffer(self, data):
        return guide.py_user_buffer(self.pid, data)

    def read(self, va, n):
        return guide.py_user_read(self.pid, va, n)


def start(**kw):
    fresh()
    engine.py_init()
    return Local(**kw)


def settle(max_ticks=10000):
    """Let timers fire until nothing is in flight; returns the ticks it took."""
    guide.py_run()
    for t in range(max_ticks):
        if guide.py_in_flight() == 0:
            return t
        pit.py_tick()
        guide.py_run()
    raise AssertionError("events still in flight")
