"""The e1000 in QEMU: found on PCI with the MAC QEMU gave it, its link and
IRQ reported, ring sizes from the command line; frames by DMA both ways
(run=nicecho echoes what a socket here sends it); and without a card the
boot is as before.  The network is -netdev dgram between two UDP ports on
127.0.0.1 (one Ethernet frame per datagram): nothing leaves this host."""
import re
import socket
import threading

from conftest import boot
from netwire import Wire, MAC, LOOPBACK
from kwecli import qemu

PEER = bytes.fromhex("02aabbccddee")


def boot_with_card(cmdline, mac=MAC, timeout=60):
    wire = Wire()
    try:
        return boot(cmdline, timeout=timeout, net=wire.net(mac))
    finally:
        wire.close()


def test_without_a_card_the_boot_is_as_before():
    b = boot("run=hello", timeout=60)
    assert b.ok, b.log
    assert "e1000: no network card" in b.log and "KWE: hello from the kernel" in b.log
    assert re.search(r"^pci: 5 functions$", b.log, re.M), b.log


def test_the_card_reports_the_mac_qemu_gave_it_its_irq_and_link():
    b = boot_with_card("run=hello", mac="52:54:00:a1:b2:c3")
    assert b.ok, b.log
    assert re.search(r"^pci: 6 functions$", b.log, re.M), b.log
    assert re.search(r"^e1000: 52:54:00:a1:b2:c3, irq \d+, link up, 256 rx / 256 tx descriptors$",
                     b.log, re.M), b.log


def test_ring_sizes_from_the_command_line_and_a_refused_one():
    b = boot_with_card("run=hello e1000_rx=64 e1000_tx=32")
    assert b.ok and re.search(r"^e1000: 52:54:00:12:34:56, irq \d+, link up, 64 rx / 32 tx descriptors$",
                              b.log, re.M), b.log
    b = boot_with_card("run=hello e1000_rx=12")
    assert b.ok, b.log                                  # the card stays off; the boot goes on
    assert "e1000: e1000_rx=12 refused: a ring is a multiple of 8 descriptors from 8 to 4096" in b.log
    assert "e1000: not started: bad ring size on the command line" in b.log


def test_frames_go_both_ways_by_dma():
    sizes = [60, 61, 100, 577, 1000, 1513, 1514]
    wire = Wire()
    result = {}
    guest = bytes.fromhex(MAC.replace(":", ""))
    cmdline = f"run=nicecho frames={len(sizes) + 1} seconds=60"
    runner = threading.Thread(target=lambda: result.update(b=boot(cmdline, timeout=120, net=wire.net())))
    runner.start()
    try:
        hello = wire.recv()                             # the guest speaks first: a broadcast
        assert hello[:14] == b"\xff" * 6 + guest + b"\x88\xb5" and b"KWE nicecho hello" in hello
        frames = [guest + PEER + b"\x88\xb5" + bytes((n + i) & 0xFF for i in range(n - 14)) for n in sizes]
        frames.append(b"\xff" * 6 + PEER + b"\x88\xb5" + b"to everyone".ljust(60 - 14, b"."))
        for f in frames:
            wire.send(f)
            echo = wire.recv()
            assert echo == f[6:12] + f[:6] + f[12:], (len(f), len(echo))
    finally:
        runner.join(150)
        wire.close()
    b = result["b"]
    assert b.ok, b.log
    assert f"nicecho: echoed {len(frames)} of {len(frames)} (ok)" in b.log
    m = re.search(r"nicecho: rx (\d+) frames (\d+) bytes, tx (\d+) frames (\d+) bytes, rx drops (\d+), tx full (\d+)",
                  b.log)
    assert m, b.log
    rx, rx_bytes, tx, tx_bytes, drops, full = map(int, m.groups())
    assert (rx, rx_bytes, drops, full) == (len(frames), sum(map(len, frames)), 0, 0)
    assert (tx, tx_bytes) == (len(frames) + 1, sum(map(len, frames)) + len(hello))
    irqs = int(re.search(r"nicecho: interrupts (\d+)", b.log)[1])
    assert irqs >= 1, b.log                             # receiving was interrupt-driven
