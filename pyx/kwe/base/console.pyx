# See console.pxd.
from libc.stdint cimport uint64_t
from kwe.base cimport serial
from kwe.common.format cimport Sink, format_to

cdef Sink mirror = NULL

cdef void set_mirror(Sink sink) noexcept nogil:
    global mirror
    mirror = sink

cdef void kputc(char c) noexcept nogil:
    if c == c'\n':
        serial.putc(c'\r')
    serial.putc(<unsigned char>c)
    if mirror != NULL:
        mirror(NULL, c)

cdef void sink_console(void* ctx, char c) noexcept nogil:
    kputc(c)

cdef void kputs(const char* s) noexcept nogil:
    while s[0]:
        kputc(s[0])
        s += 1

cdef void kvprintf(const char* fmt, const uint64_t* args, int nargs) noexcept nogil:
    format_to(sink_console, NULL, fmt, args, nargs)

cdef void kprintf(const char* fmt, uint64_t a0=0, uint64_t a1=0, uint64_t a2=0,
                  uint64_t a3=0, uint64_t a4=0, uint64_t a5=0, uint64_t a6=0,
                  uint64_t a7=0) noexcept nogil:
    cdef uint64_t args[8]
    args[0], args[1], args[2], args[3] = a0, a1, a2, a3
    args[4], args[5], args[6], args[7] = a4, a5, a6, a7
    format_to(sink_console, NULL, fmt, args, 8)

def py_kprintf(bytes fmt, *args):
    """Hosted helper: kprintf with integer arguments (output lands on the simulated COM1)."""
    cdef uint64_t a[8]
    cdef int i, nargs = len(args)
    for i in range(8):
        a[i] = (args[i] & 0xFFFFFFFFFFFFFFFF) if i < nargs else 0
    kvprintf(fmt, a, 8)
