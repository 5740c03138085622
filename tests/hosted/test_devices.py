"""Device drivers and trap dispatch against the simulated machine."""
from kwe.base import hal, vga
from kwe.dev import input as kinput, keyboard, pic, pit
from kwe.arch import traps

KEYBOARD, SERIAL = 1, 0


def press(*codes):
    keyboard.py_scancodes(bytes(codes))


def test_keyboard_translation(machine):
    keyboard.py_reset()
    kinput.py_drain(KEYBOARD)
    press(0x23, 0xA3, 0x17, 0x97)                         # h i
    press(0x2A, 0x23, 0xA3, 0xAA, 0x17)                   # Shift-h, then i
    press(0x3A, 0xBA, 0x1E, 0x02)                         # Caps Lock: a -> A, 1 stays 1
    press(0x3A, 0xBA, 0x1D, 0x2E, 0x9D)                   # Ctrl-C
    press(0xE0, 0x48, 0xE0, 0xC8, 0x39, 0x1C)             # up (press, release), space, enter
    press(0xE0, 0x4B, 0xE0, 0x4D, 0xE0, 0x50, 0xE0, 0x52)  # left, right, down, Insert (nothing)
    assert kinput.py_drain(KEYBOARD) == b"hiHiA1\x03\x1b[A \n\x1b[D\x1b[C\x1b[B"


def test_input_queue_overflow_is_counted_not_corrupting(machine):
    kinput.py_drain(SERIAL)
    before = kinput.py_dropped(SERIAL)
    kinput.py_push(SERIAL, bytes(range(256)) * 20)        # 5120 > 4096
    got = kinput.py_drain(SERIAL)
    assert got == (bytes(range(256)) * 20)[:4096]
    assert kinput.py_dropped(SERIAL) - before == 5120 - 4096


def test_vga_writes_scrolls_and_wraps(machine):
    vga.py_init()
    vga.py_write(b"hello\nworld")
    assert vga.py_text()[:2] == [b"hello", b"world"]
    vga.py_write(b"\n".join(b"line %d" % i for i in range(30)))
    text = vga.py_text()
    assert text[-1] == b"line 29" and text[0] == b"line 5"
    vga.py_write(b"\n" + b"x" * 85)
    assert vga.py_text()[-2:] == [b"x" * 80, b"xxxxx"]


def test_pic_remap_and_pit_divisor(machine):
    pic.py_init()
    assert pic.py_masks() == 0xFFFB                       # all masked but the cascade
    pit.py_init(250)
    assert hal.port_value(0x43) == 0x34
    assert hal.port_value(0x40) == (1193182 + 125) // 250 >> 8   # high byte written last
    assert pic.py_masks() & 1 == 0                        # IRQ 0 unmasked
    pit.py_init(1)                                        # clamped to 19 Hz
    assert hal.port_value(0x40) == (1193182 + 9) // 19 >> 8


def test_ring0_exception_dumps_registers_and_powers_off(machine):
    traps.py_trap(14, error=2, cs=0x08, rip=0xFFFFFFFF80101234)
    out = machine.serial_output().decode()
    assert "KWE CPU EXCEPTION #PF page fault (vector 14) in ring 0" in out
    assert "rip=0xffffffff80101234" in out and "error=0x0000000000000002" in out
    assert "cr2=0x" in out and "page not present on write in ring 0" in out
    for reg in ("rax=0x0000000000000001", "rbx=", "r15=", "cr3="):
        assert reg in out
    assert machine.exit_status() == 4


def test_ring3_exception_without_a_process_layer_is_still_fatal(machine):
    traps.py_trap(13, cs=0x23)
    assert "in ring 3" in machine.serial_output().decode()
    assert machine.exit_status() == 4
