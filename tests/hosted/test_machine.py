"""Serial, fw_cfg, power and panic against the simulated machine."""
from kwe.base import console, fwcfg, serial
from kwe.debug import panic


def test_serial_output_reaches_the_wire(machine):
    serial.init_port()
    console.py_kprintf(b"x=%d\n", 42)
    assert machine.serial_output() == b"x=42\r\n"


def test_serial_input(machine):
    assert serial.read_all() == b""
    machine.serial_feed(b"hi")
    assert serial.read_all() == b"hi"


def test_fwcfg_files(machine):
    machine.fwcfg_add("opt/kwe/cmdline", b"run=selftest")
    machine.fwcfg_add("opt/kwe/input", bytes(range(200)))
    assert fwcfg.py_read_file(b"opt/kwe/cmdline") == b"run=selftest"
    assert fwcfg.py_read_file(b"opt/kwe/input") == bytes(range(200))
    assert fwcfg.py_read_file(b"opt/kwe/missing") is None


def test_panic_prints_and_powers_off(machine):
    panic.py_panic(b"disk on fire")
    out = machine.serial_output()
    assert b"KWE PANIC: disk on fire" in out
    assert b"cr3=" in out and b"rsp=" in out
    assert machine.exit_status() == 3
