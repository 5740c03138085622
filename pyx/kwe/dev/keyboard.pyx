# See keyboard.pxd.
from libc.stdint cimport uint8_t
from kwe.base cimport hal
from kwe.dev cimport irq, input
from kwe.arch.traps cimport TrapFrame

cdef enum:
    DATA = 0x60
    STATUS = 0x64
    OUTPUT_FULL = 0x01
    RELEASED = 0x80
    EXTENDED = 0xE0
    SC_LCTRL = 0x1D
    SC_LSHIFT = 0x2A
    SC_RSHIFT = 0x36
    SC_CAPS = 0x3A
    KEYS = 58

cdef bint shift = False, ctrl = False, caps = False, extended = False

cdef char translate(uint8_t sc) noexcept nogil:
    # Index = scancode; '\0' where the key makes no character.
    cdef const char* plain = b"\0\x1b1234567890-=\x08\tqwertyuiop[]\n\0asdfghjkl;'`\0\\zxcvbnm,./\0*\0 "
    cdef const char* shifted = b"\0\x1b!@#$%^&*()_+\x08\tQWERTYUIOP{}\n\0ASDFGHJKL:\"~\0|ZXCVBNM<>?\0*\0 "
    cdef char c
    if sc >= KEYS:
        return 0
    c = shifted[sc] if shift else plain[sc]
    if caps and c'a' <= (c | 0x20) <= c'z':
        c = c ^ 0x20                          # Caps Lock flips letter case only
    if ctrl and c'a' <= (c | 0x20) <= c'z':
        c = (c | 0x20) - c'a' + 1             # Ctrl-A = 1 ...
    return c

cdef void escape(uint8_t key) noexcept nogil:
    """An extended key as the VT100 sequence a serial terminal would send
    (ESC [ A for up ...), so programs read one language from both sources."""
    cdef const char* keys = b"\x48\x50\x4D\x4B\x47\x4F"     # up down right left Home End
    cdef const char* finals = b"ABCDHF"
    cdef int i
    for i in range(6):
        if <uint8_t>keys[i] == key:
            input.push(input.SOURCE_KEYBOARD, 0x1B)
            input.push(input.SOURCE_KEYBOARD, c'[')
            input.push(input.SOURCE_KEYBOARD, <uint8_t>finals[i])
            return

cdef void scancode(uint8_t sc) noexcept nogil:
    global shift, ctrl, caps, extended
    cdef uint8_t key = sc & ~RELEASED
    cdef bint down = not (sc & RELEASED)
    cdef char c
    if sc == EXTENDED:
        extended = True
        return
    if extended:                              # arrows and the like: what a terminal sends
        extended = False
        if key == SC_LCTRL:
            ctrl = down
        elif down:
            escape(key)
        return
    if key == SC_LSHIFT or key == SC_RSHIFT:
        shift = down
    elif key == SC_LCTRL:
        ctrl = down
    elif key == SC_CAPS and down:
        caps = not caps
    elif down:
        c = translate(key)
        if c:
            input.push(input.SOURCE_KEYBOARD, <uint8_t>c)

cdef void on_irq(TrapFrame* f) noexcept nogil:
    while hal.inb(STATUS) & OUTPUT_FULL:
        scancode(hal.inb(DATA))

cdef void init() noexcept nogil:
    while hal.inb(STATUS) & OUTPUT_FULL:       # drop whatever the BIOS left
        hal.inb(DATA)
    irq.register(irq.IRQ_KEYBOARD, on_irq)

def py_scancodes(bytes codes):
    """Hosted helper: feed scancodes through the translator."""
    global shift, ctrl, caps, extended
    for sc in codes:
        scancode(sc)

def py_reset():
    global shift, ctrl, caps, extended
    shift = ctrl = caps = extended = False
