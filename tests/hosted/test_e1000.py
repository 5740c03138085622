"""The e1000 driver (kwe.dev.e1000) against the simulated 82540EM of the
hosted machine (hal_sim.pyx): found on PCI, its registers mapped through
the kernel's page tables, both rings in simulated RAM by DMA."""
import pytest
from hypothesis import given, settings, HealthCheck, strategies as st

from kwe.base import cmdline, hal
from kwe.dev import e1000, irq, pci
from kwe.arch import traps
from kwe.mm import heap, kmap, pmm, vmm
from memory import fresh

MAC = bytes.fromhex("525400123456")
PEER = bytes.fromhex("02aabbccddee")
BROADCAST = b"\xff" * 6
IRQ = 11
OK, ABSENT, NOMEM, BADCONF, FULL, RANGE, DOWN = 0, -1, -2, -3, -6, -7, -8
BAR0 = 0xFEBC0000
# registers
RCTL, TCTL, TIPG, IMS = 0x100, 0x400, 0x410, 0xD0
RDBAL, RDBAH, RDLEN, RDH, RDT = 0x2800, 0x2804, 0x2808, 0x2810, 0x2818
TDBAL, TDBAH, TDLEN, TDH, TDT = 0x3800, 0x3804, 0x3808, 0x3810, 0x3818
MTA, RAL0, RAH0 = 0x5200, 0x5400, 0x5404
MAP_WRITE, MAP_GLOBAL, MAP_NOCACHE = 0x01, 0x10, 0x20          # vmm.pxd
EV_LINK, EV_RX_OVERRUN, EV_RX = 0x04, 0x40, 0x80


def bring_up(line=b"", card=True, **attach):
    """A fresh machine, the card attached (unless card=False), PCI scanned, init()."""
    fresh()
    kmap.py_reset()
    cmdline.py_set_line(line)
    irq.py_init()
    e1000.py_reset()
    if card:
        hal.e1000_attach(**({"mac": MAC} | attach))
    pci.py_scan()
    return e1000.py_init()


@pytest.fixture
def nic():
    assert bring_up() == OK
    yield
    e1000.py_reset()


@pytest.fixture
def small():
    """Rings of 8 descriptors: wrap-around and a full ring come quickly."""
    assert bring_up(b"e1000_rx=8 e1000_tx=8") == OK
    yield
    e1000.py_reset()


def frame(n, dst=MAC, src=PEER, fill=0):
    body = bytes((fill + i) & 0xFF for i in range(max(0, n - 14)))
    return (dst + src + b"\x88\xb5" + body)[:n]


def deliver_irqs():
    """Take the card's interrupt as the CPU would, while it asserts INTA#."""
    n = 0
    while hal.e1000_irq() and n < 4:
        traps.py_trap(32 + IRQ)
        n += 1
    return n


def arrive(f, **kw):
    r = hal.e1000_receive(f, **kw)
    deliver_irqs()
    return r


def reg(off):
    return hal.e1000_register(off)


def test_init_programs_the_card(nic):
    rings = e1000.py_rings()
    assert e1000.py_present() and e1000.py_mac() == MAC and e1000.py_link_up()
    assert e1000.py_irq_line() == IRQ and (rings["rx"], rings["tx"]) == (256, 256)
    assert reg(RCTL) == 0x2 | 0x8000 | 0x4000000          # EN, BAM, SECRC, BSIZE 2048 (00)
    assert reg(TCTL) == 0x2 | 0x8 | 0x0F << 4 | 0x40 << 12
    assert reg(TIPG) == 10 | 8 << 10 | 6 << 20
    assert (reg(RDBAH) << 32 | reg(RDBAL), reg(RDLEN), reg(RDH), reg(RDT)) == (rings["rx_ring"], 256 * 16, 0, 255)
    assert (reg(TDBAH) << 32 | reg(TDBAL), reg(TDLEN), reg(TDH), reg(TDT)) == (rings["tx_ring"], 256 * 16, 0, 0)
    assert reg(IMS) == 0x80 | 0x40 | 0x10 | 0x04          # RXT0, RXO, RXDMT0, LSC
    assert reg(RAL0) == int.from_bytes(MAC[:4], "little")
    assert reg(RAH0) == int.from_bytes(MAC[4:], "little") | 1 << 31
    assert all(reg(MTA + 4 * i) == 0 for i in range(128))  # reset leaves it; the driver clears it
    # Each receive descriptor points at its own 2048-byte buffer in RAM.
    ring = hal.read_phys(rings["rx_ring"], 256 * 16)
    assert [int.from_bytes(ring[16 * i:16 * i + 8], "little") for i in range(256)] == \
        [rings["rx_buf"] + 2048 * i for i in range(256)]
    assert rings["rx_buf"] + 256 * 2048 <= hal.ram_bytes()
    assert pci.py_command(pci.py_find_class(0x02)) & 0x6 == 0x6   # memory decoding, bus master


def test_registers_are_mapped_uncached_in_kmap(nic):
    va = e1000.py_rings()["regs"]
    assert va >= 0xFFFFC00000000000
    for page in range(32):
        pa, flags = vmm.py_translate(0, va + 4096 * page)
        assert pa == BAR0 + 4096 * page
        assert flags & (MAP_WRITE | MAP_NOCACHE | MAP_GLOBAL) == MAP_WRITE | MAP_NOCACHE | MAP_GLOBAL
    m = hal.mmio_counters()
    assert (m["faults"], m["cached"], m["unclaimed"]) == (0, 0, 0)


def test_the_simulated_mmu_sees_a_cached_missing_or_read_only_mapping(nic):
    # The checks above mean something only if the machine can fail them.
    va = 0xFFFFC00000000000 + (1 << 30)
    assert vmm.py_map(0, va, BAR0, MAP_WRITE) == 0                  # cacheable
    assert vmm.py_map(0, va + 4096, BAR0 + 4096, MAP_NOCACHE) == 0  # read-only
    assert hal.mmio_read(va + 8) & 0x2                             # STATUS.LU, but ...
    assert hal.mmio_counters()["cached"] == 1
    hal.mmio_write(va + 4096, 0)
    assert hal.mmio_read(va + 8192) == 0xFFFFFFFF                 # not mapped at all
    m = hal.mmio_counters()
    assert m["faults"] == 2 and m["last_fault"] == va + 8192


def test_mac_from_the_eeprom_when_reset_leaves_ral_empty():
    assert bring_up(mac=bytes.fromhex("525400fedcba"), mac_in_ral=False) == OK
    assert e1000.py_mac() == bytes.fromhex("525400fedcba")
    assert reg(RAH0) >> 31 == 1                             # written back, valid
    assert arrive(frame(64, dst=bytes.fromhex("525400fedcba"))) == 1


def test_frames_round_trip_both_rings_byte_for_byte(nic):
    sent = [frame(n, dst=PEER, src=MAC, fill=n) for n in (14, 60, 61, 1000, 1514)]
    for f in sent:
        assert e1000.py_transmit(f) == OK
    assert hal.e1000_transmitted() == sent
    wire = [frame(n, fill=n) for n in (60, 61, 777, 1514)] + [frame(100, dst=BROADCAST)]
    for f in wire:
        assert arrive(f) == 1
    got = [e1000.py_receive() for _ in wire]
    assert got == wire and e1000.py_receive() is None
    s = e1000.py_stats()
    assert (s["tx_frames"], s["tx_bytes"]) == (5, sum(map(len, sent)))
    assert (s["rx_frames"], s["rx_bytes"]) == (5, sum(map(len, wire)))
    assert (s["hw_tx_good"], s["hw_rx_good"], s["rx_drops"]) == (5, 5, 0)
    assert hal.e1000_counters()["dma_faults"] == 0


def test_a_short_frame_arrives_padded_as_on_the_wire(nic):
    assert arrive(frame(20)) == 1
    assert e1000.py_receive() == frame(20) + bytes(40)


def test_filtered_frames_never_reach_the_ring(nic):
    assert arrive(frame(64, dst=bytes.fromhex("525400000001"))) == 0     # someone else's
    assert arrive(frame(64, dst=bytes.fromhex("01005e000001"))) == 0     # multicast, table clear
    assert e1000.py_receive() is None and not e1000.py_rx_ready()


def test_rx_ring_wraps_around(small):
    for i in range(50):
        f = frame(60 + i, fill=i)
        assert arrive(f) == 1
        assert e1000.py_receive() == f
    for rnd in range(5):                                   # a full ring's worth (7) each time
        batch = [frame(100 + 7 * rnd + k, fill=k) for k in range(7)]
        assert [arrive(f) for f in batch] == [1] * 7
        assert [e1000.py_receive() for _ in batch] == batch
    assert e1000.py_stats()["rx_frames"] == 85


def test_tx_ring_wraps_around(small):
    for i in range(40):
        f = frame(200 + i, dst=PEER, src=MAC, fill=i)
        assert e1000.py_transmit(f) == OK
        assert hal.e1000_transmitted() == [f]
    assert e1000.py_stats()["tx_frames"] == 40


def test_rx_overflow_is_counted_and_recovers(small):
    batch = [frame(64, fill=k) for k in range(7)]
    assert [arrive(f) for f in batch] == [1] * 7             # 8 descriptors, 7 the card's
    assert arrive(frame(64, fill=99)) == -1                  # none free: the card drops it
    s = e1000.py_stats()
    assert s["rx_overruns"] == 1 and hal.e1000_counters()["missed"] == 1
    assert [e1000.py_receive() for _ in batch] == batch      # nothing already in the ring lost
    assert arrive(frame(64, fill=5)) == 1                    # descriptors back: receiving again
    assert e1000.py_receive() == frame(64, fill=5)


def test_bad_descriptors_are_dropped_counted_never_passed_on(nic):
    good = frame(80, fill=1)
    assert arrive(frame(1600), long_ok=True) == 1           # one descriptor, too long
    assert arrive(frame(3000), long_ok=True) == 1           # two descriptors: no EOP on the first
    assert arrive(frame(5000), long_ok=True) == 1           # three
    assert arrive(frame(90, fill=2), errors=0x01) == 1      # CRC error
    assert arrive(frame(90, fill=3), errors=0x80) == 1      # RX data error
    assert arrive(good) == 1
    assert e1000.py_receive() == good                       # the first good frame, after the bad ones
    assert e1000.py_receive() is None
    s = e1000.py_stats()
    assert (s["rx_oversize"], s["rx_fragments"], s["rx_errors"]) == (1, 2, 2)
    assert s["rx_drops"] == 5 and s["rx_frames"] == 1
    assert e1000.py_rings()["rx_next"] == 1 + 2 + 3 + 1 + 1 + 1   # every descriptor went back
    assert reg(RDT) == 8


def test_a_frame_longer_than_the_callers_buffer_is_dropped(nic):
    assert arrive(frame(500)) == 1 and arrive(frame(60)) == 1
    assert e1000.py_receive(cap=100) == frame(60)
    assert e1000.py_stats()["rx_oversize"] == 1


def test_tx_full_is_reported_and_counted(small):
    hal.e1000_hold_tx(True)                                 # the card does not get to them
    queued = [frame(64, dst=PEER, src=MAC, fill=k) for k in range(7)]
    assert [e1000.py_transmit(f) for f in queued] == [OK] * 7
    assert e1000.py_transmit(frame(64, dst=PEER, src=MAC)) == FULL
    assert e1000.py_stats()["tx_full"] == 1 and e1000.py_stats()["tx_frames"] == 0
    hal.e1000_hold_tx(False)
    assert hal.e1000_transmitted() == queued
    assert e1000.py_transmit(frame(64, dst=PEER, src=MAC, fill=9)) == OK
    assert e1000.py_stats()["tx_frames"] == 8


@pytest.mark.parametrize("n,want", [(0, RANGE), (13, RANGE), (14, OK), (1514, OK), (1515, RANGE), (4000, RANGE)])
def test_transmit_length_limits(nic, n, want):
    assert e1000.py_transmit(frame(n, dst=PEER, src=MAC)) == want


def test_interrupts_are_acknowledged_and_recorded(nic):
    assert e1000.py_take_events() == 0
    lines_before = irq.py_count(IRQ)
    assert hal.e1000_receive(frame(64)) == 1
    assert hal.e1000_irq()                                  # ICR & IMS: the line is up
    assert e1000.py_rx_ready()
    assert deliver_irqs() == 1                               # one read of ICR lowers it
    assert not hal.e1000_irq()
    assert e1000.py_interrupts() == 1 and irq.py_count(IRQ) == lines_before + 1
    assert e1000.py_take_events() & EV_RX and e1000.py_take_events() == 0
    assert e1000.py_receive() == frame(64) and not e1000.py_rx_ready()


def test_an_interrupt_that_is_not_the_cards_is_ignored(nic):
    traps.py_trap(32 + IRQ)                                 # a shared line, ICR empty
    assert e1000.py_interrupts() == 0 and e1000.py_take_events() == 0


def test_link_down_and_up(nic):
    hal.e1000_set_link(False)
    assert deliver_irqs() == 1
    assert not e1000.py_link_up()
    assert e1000.py_take_events() & EV_LINK and e1000.py_stats()["link_changes"] == 1
    assert arrive(frame(64)) == 0 and e1000.py_receive() is None
    assert e1000.py_transmit(frame(64, dst=PEER, src=MAC)) == OK
    assert hal.e1000_transmitted() == [] and hal.e1000_counters()["tx_lost"] == 1
    hal.e1000_set_link(True)
    deliver_irqs()
    assert e1000.py_link_up() and e1000.py_stats()["link_changes"] == 2
    assert arrive(frame(64)) == 1 and e1000.py_receive() == frame(64)


def test_no_card_is_absent_not_an_error():
    assert bring_up(card=False) == ABSENT
    assert e1000.py_error_name(ABSENT) == "no network card"
    assert not e1000.py_present() and not e1000.py_link_up() and e1000.py_mac() == bytes(6)
    assert e1000.py_transmit(frame(64)) == DOWN and e1000.py_receive() is None
    assert not e1000.py_rx_ready() and e1000.py_rings()["rx"] == 0


@pytest.mark.parametrize("line,key", [(b"e1000_rx=12", "e1000_rx"), (b"e1000_rx=0", "e1000_rx"),
                                      (b"e1000_rx=4104", "e1000_rx"), (b"e1000_tx=abc", "e1000_tx"),
                                      (b"e1000_tx=", "e1000_tx"), (b"e1000_rx=64 e1000_tx=-8", "e1000_tx")])
def test_bad_ring_sizes_are_refused_by_name(line, key):
    before = fresh()
    assert bring_up(line) == BADCONF
    out = hal.serial_output().decode()
    assert f"e1000: {key}=" in out and "refused" in out and "multiple of 8" in out
    assert not e1000.py_present() and pmm.py_stats()["free_pages"] == before


def test_ring_sizes_from_the_command_line():
    assert bring_up(b"e1000_rx=64 e1000_tx=1024") == OK
    r = e1000.py_rings()
    assert (r["rx"], r["tx"], reg(RDLEN), reg(TDLEN), reg(RDT)) == (64, 1024, 64 * 16, 1024 * 16, 63)


def test_no_memory_for_the_rings_leaves_nothing_behind():
    before = fresh()
    assert bring_up(b"e1000_rx=4096 e1000_tx=4096") == NOMEM   # 16 MiB of buffers in 16 MiB of RAM
    assert not e1000.py_present()
    heap.py_trim()                                               # KMAP's bookkeeping used a slab
    assert pmm.py_stats()["free_pages"] == before                # every page back
    assert vmm.py_translate(0, 0xFFFFC00000000000) is None        # the registers unmapped
    assert kmap.py_state()[0] == 0                               # and their KMAP range given back
    assert pci.py_command(pci.py_find_class(0x02)) & 0x4 == 0    # no bus mastering left on


def test_error_names_are_distinct():
    names = [e1000.py_error_name(e) for e in range(0, -9, -1)]
    assert len(set(names)) == 9 and e1000.py_error_name(-99) == "unknown e1000 error"


# ---- the rings as a property: whatever goes in comes out, in order ------------------
frames_in = st.lists(st.integers(60, 1514), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=frames_in, batches=st.lists(st.integers(1, 7), min_size=1, max_size=40),
       seed=st.integers(0, 255))
def test_any_frames_through_the_rx_ring_come_out_as_they_went_in(sizes, batches, seed):
    assert bring_up(b"e1000_rx=8 e1000_tx=8") == OK
    wire = [frame(n, dst=BROADCAST if (n + seed) % 5 == 0 else MAC, fill=seed + i) for i, n in enumerate(sizes)]
    got, at, b = [], 0, 0
    while at < len(wire):                   # batches of up to 7: never more than the card holds
        take = batches[b % len(batches)]
        b += 1
        for f in wire[at:at + take]:
            assert arrive(f) == 1
        while (g := e1000.py_receive()) is not None:
            got.append(g)
        at += take
    assert got == wire
    s = e1000.py_stats()
    assert (s["rx_frames"], s["rx_bytes"], s["rx_drops"]) == (len(wire), sum(sizes), 0)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(14, 1514), min_size=1, max_size=40),
       holds=st.lists(st.booleans(), min_size=1, max_size=40), seed=st.integers(0, 255))
def test_any_frames_through_the_tx_ring_go_out_as_they_were_sent(sizes, holds, seed):
    assert bring_up(b"e1000_rx=8 e1000_tx=8") == OK
    sent, out, full = [], [], 0
    for i, n in enumerate(sizes):
        hal.e1000_hold_tx(holds[i % len(holds)])            # the card sometimes lags behind
        f = frame(n, dst=PEER, src=MAC, fill=seed + i)
        r = e1000.py_transmit(f)
        if r == FULL:
            full += 1
            hal.e1000_hold_tx(False)
            r = e1000.py_transmit(f)
        assert r == OK
        sent.append(f)
        out += hal.e1000_transmitted()
    hal.e1000_hold_tx(False)
    out += hal.e1000_transmitted()
    assert out == sent
    s = e1000.py_stats()
    assert (s["tx_frames"], s["tx_bytes"], s["tx_full"]) == (len(sent), sum(sizes), full)
