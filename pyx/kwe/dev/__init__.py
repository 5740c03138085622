"""dev: devices.

Owns the interrupt controller (pic) and IRQ routing (irq), the timers (pit, rtc), input
(keyboard, input), the ATA disk (ata) and the block-device interface over it (blockdev),
the PCI bus (pci) and the Intel e1000 network card (e1000).
May use: every part before it (common .. arch).
"""
