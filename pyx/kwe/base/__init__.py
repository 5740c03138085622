"""base: the machine as the kernel first meets it.

Owns the hardware boundary (hal: hal.pyx in the kernel, hal_sim.pyx a simulated machine
hosted), what the bootloader and firmware hand over (boot, cmdline, fwcfg) and the first
voice and last act (serial, vga, console, power), and the poisoning the hosted
sanitizer build checks (sanitize).  May use: common.
"""
