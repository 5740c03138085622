# See vga.pxd.
from libc.stdint cimport uint8_t, uint16_t
from libc.string cimport memmove
from kwe.base cimport hal

cdef enum:
    ATTR = 0x07                   # light grey on black
    CRTC_INDEX = 0x3D4
    CRTC_DATA = 0x3D5

cdef uint16_t* screen = NULL
cdef int row = 0, col = 0

cdef void clear_row(int r) noexcept nogil:
    cdef int c
    for c in range(COLS):
        screen[r * COLS + c] = (ATTR << 8) | c' '

cdef void move_cursor() noexcept nogil:
    cdef uint16_t pos = row * COLS + col
    hal.outb(CRTC_INDEX, 0x0F)
    hal.outb(CRTC_DATA, pos & 0xFF)
    hal.outb(CRTC_INDEX, 0x0E)
    hal.outb(CRTC_DATA, pos >> 8)

cdef void init() noexcept nogil:
    global screen, row, col
    cdef int r
    screen = <uint16_t*>hal.phys_to_virt(TEXT_PHYS)
    for r in range(ROWS):
        clear_row(r)
    row = col = 0
    move_cursor()

cdef void newline() noexcept nogil:
    global row, col
    col = 0
    row += 1
    if row == ROWS:
        memmove(screen, screen + COLS, (ROWS - 1) * COLS * 2)
        clear_row(ROWS - 1)
        row = ROWS - 1

cdef void putc(char c) noexcept nogil:
    global col
    if screen == NULL:
        return
    if c == c'\n':
        newline()
    elif c == c'\r':
        col = 0
    elif c == c'\b':
        if col > 0:
            col -= 1
    elif c == c'\t':
        col = (col + 8) & ~7
        if col >= COLS:
            newline()
    else:
        screen[row * COLS + col] = (ATTR << 8) | <uint8_t>c
        col += 1
        if col == COLS:
            newline()
    move_cursor()

cdef void sink(void* ctx, char c) noexcept nogil:
    putc(c)

def py_init():
    init()

def py_write(bytes s):
    for c in s:
        putc(c)

def py_text():
    """Hosted helper: the screen as 25 lines of text."""
    cdef int r, c
    return [bytes([screen[r * COLS + c] & 0xFF for c in range(COLS)]).rstrip() for r in range(ROWS)]
