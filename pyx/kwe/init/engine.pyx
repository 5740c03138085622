# See engine.pxd.
from libc.stdint cimport uint32_t, uint64_t
from kwe.common cimport abi, kstr
from kwe.events cimport guide, workflow, results
from kwe.tasks cimport proc, caps
from kwe.decks cimport tty, deck_exec, deck_ops, deck_hw, deck_storage, deck_net
from kwe.dev cimport pit
from kwe.mm cimport kmap, kstack
from kwe.fs cimport rootfs
from kwe.base cimport cmdline, checks
from kwe.base.console cimport kprintf
from kwe.debug cimport stages

cdef bint deferred() noexcept nogil:
    cdef bint more_frames
    tty.poll()
    more_frames = deck_net.poll()
    guide.run()
    rootfs.maybe_commit()
    return guide.pending() or more_frames

cdef void choose_crc() noexcept nogil:
    """crc=table|clmul|auto on the command line: how the Operations deck computes CRC32."""
    cdef char how[8]
    cdef int mode = deck_ops.CRC_AUTO
    cdef const char* name = b"slicing-by-8"
    if cmdline.get(b"crc", how, sizeof(how)) >= 0:
        if kstr.equal(how, b"table"):
            mode = deck_ops.CRC_TABLE
        elif kstr.equal(how, b"clmul"):
            mode = deck_ops.CRC_CLMUL
        elif not kstr.equal(how, b"auto"):
            kprintf(b"ops: crc=%s is not table, clmul or auto; timing both\n", <uint64_t>how)
    if deck_ops.choose_crc(mode):
        name = b"PCLMULQDQ folding"
    kprintf(b"ops: CRC32 by %s\n", <uint64_t>name)

cdef void init(uint64_t idle_stack_top) noexcept nogil:
    checks.init()
    stages.init()
    caps.init()
    guide.init()
    guide.set_deck(abi.DECK_EXECUTION, deck_exec.handle)
    guide.set_deck(abi.DECK_OPERATIONS, deck_ops.handle)
    guide.set_deck(abi.DECK_HARDWARE, deck_hw.handle)
    guide.set_deck(abi.DECK_STORAGE, deck_storage.handle)
    guide.set_deck(abi.DECK_NETWORK, deck_net.handle)
    workflow.init()
    tty.init()
    deck_storage.init()
    deck_net.init()
    proc.init(idle_stack_top)
    deck_exec.init()
    proc.set_deferred_work(deferred)
    choose_crc()

def py_init(uint32_t hz=100):
    """Hosted: a fresh engine on the (freshly reset) simulated machine."""
    pit.reset()
    pit.init(hz)
    kmap.reset()
    kstack.reset()
    init(0)
