# See format.pxd.
from libc.stdint cimport uint64_t, int64_t
from kwe.common cimport errors

cdef struct Spec:
    bint zero_pad
    bint left
    int width

cdef struct BufCtx:
    char* buf
    size_t cap
    size_t n

cdef size_t emit_padded(Sink sink, void* ctx, const char* s, size_t n, Spec* spec) noexcept nogil:
    cdef size_t i, pad = 0, out = 0
    cdef char fill = c'0' if spec.zero_pad and not spec.left else c' '
    if spec.width > 0 and <size_t>spec.width > n:
        pad = <size_t>spec.width - n
    if fill == c'0' and n > 0 and s[0] == c'-':
        sink(ctx, c'-')             # sign goes before the zeros
        s += 1
        n -= 1
        out += 1
    if not spec.left:
        for i in range(pad):
            sink(ctx, fill)
    for i in range(n):
        sink(ctx, s[i])
    if spec.left:
        for i in range(pad):
            sink(ctx, c' ')
    return out + n + pad

cdef size_t number(char* out, uint64_t v, uint64_t base, bint upper, bint negative) noexcept nogil:
    """Write v in base into out (no terminator); returns the length."""
    cdef char tmp[24]
    cdef const char* digits = b"0123456789ABCDEF" if upper else b"0123456789abcdef"
    cdef size_t n = 0, i = 0
    while True:
        tmp[n] = digits[v % base]
        n += 1
        v = v / base
        if v == 0:
            break
    if negative:
        out[0] = c'-'
        i = 1
    while n:
        n -= 1
        out[i] = tmp[n]
        i += 1
    return i

cdef size_t decimal(char* out, int64_t v) noexcept nogil:
    """v in signed decimal; the magnitude is taken unsigned, so INT64_MIN prints too."""
    cdef uint64_t magnitude = <uint64_t>0 - <uint64_t>v if v < 0 else <uint64_t>v
    return number(out, magnitude, 10, False, v < 0)

cdef bint is_conversion(char c) noexcept nogil:
    return (c == c'd' or c == c'i' or c == c'u' or c == c'x' or c == c'X' or
            c == c'p' or c == c'c' or c == c's' or c == c'e')

cdef size_t emit_str(Sink sink, void* ctx, const char* s) noexcept nogil:
    cdef size_t n = 0
    while s[n]:
        sink(ctx, s[n])
        n += 1
    return n

cdef size_t emit_error(Sink sink, void* ctx, int64_t code) noexcept nogil:
    """%e: "E_NOENT: no such file, ..." -- a status code in words."""
    cdef char numbuf[24]
    cdef const char* known = errors.name(code)
    cdef size_t n
    if known == NULL:
        n = emit_str(sink, ctx, b"unknown error ")
        numbuf[decimal(numbuf, code)] = 0
        return n + emit_str(sink, ctx, numbuf)
    n = emit_str(sink, ctx, known)
    n += emit_str(sink, ctx, b": ")
    return n + emit_str(sink, ctx, errors.meaning(code))

cdef size_t format_to(Sink sink, void* ctx, const char* fmt,
                      const uint64_t* args, int nargs) noexcept nogil:
    cdef size_t total = 0, n
    cdef int argi = 0
    cdef uint64_t v
    cdef char numbuf[24]
    cdef char c
    cdef const char* s
    cdef Spec spec
    while fmt[0]:
        if fmt[0] != c'%':
            sink(ctx, fmt[0])
            total += 1
            fmt += 1
            continue
        fmt += 1
        spec.zero_pad = False
        spec.left = False
        spec.width = 0
        while fmt[0] == c'0' or fmt[0] == c'-':
            if fmt[0] == c'0':
                spec.zero_pad = True
            else:
                spec.left = True
            fmt += 1
        while c'0' <= fmt[0] <= c'9':
            spec.width = spec.width * 10 + (fmt[0] - c'0')
            fmt += 1
        while fmt[0] == c'l' or fmt[0] == c'z' or fmt[0] == c'h':
            fmt += 1
        c = fmt[0]
        if c == 0:
            break
        fmt += 1
        if not is_conversion(c):                # "%%" and unknown ones print as written
            if c != c'%':
                sink(ctx, c'%')
                total += 1
            sink(ctx, c)
            total += 1
            continue
        v = args[argi] if argi < nargs else 0
        argi += 1
        if c == c'd' or c == c'i':
            n = decimal(numbuf, <int64_t>v)
        elif c == c'u':
            n = number(numbuf, v, 10, False, False)
        elif c == c'x' or c == c'X':
            n = number(numbuf, v, 16, c == c'X', False)
        elif c == c'p':
            sink(ctx, c'0')
            sink(ctx, c'x')
            total += 2
            spec.zero_pad, spec.left, spec.width = True, False, 16
            n = number(numbuf, v, 16, False, False)
        elif c == c'e':
            total += emit_error(sink, ctx, <int64_t>v)
            continue
        elif c == c'c':
            numbuf[0] = <char>v
            n = 1
        else:                                   # c == 's'
            s = b"(null)"
            if v:
                s = <const char*>v
            n = 0
            while s[n]:
                n += 1
            total += emit_padded(sink, ctx, s, n, &spec)
            continue
        total += emit_padded(sink, ctx, numbuf, n, &spec)
    return total

cdef void buf_sink(void* ctx, char c) noexcept nogil:
    cdef BufCtx* b = <BufCtx*>ctx
    if b.n + 1 < b.cap:
        b.buf[b.n] = c
    b.n += 1

cdef size_t format_buf(char* buf, size_t cap, const char* fmt,
                       const uint64_t* args, int nargs) noexcept nogil:
    cdef BufCtx b
    b.buf, b.cap, b.n = buf, cap, 0
    format_to(buf_sink, &b, fmt, args, nargs)
    if cap:
        buf[b.n if b.n < cap else cap - 1] = 0
    return b.n

def py_format(bytes fmt, *args):
    """Hosted helper: format with integer/bytes arguments, returns bytes."""
    cdef uint64_t a[MAX_ARGS]
    cdef char out[1024]
    cdef int i, nargs = len(args)
    cdef size_t n
    if nargs > MAX_ARGS:
        raise ValueError("too many arguments")
    for i in range(nargs):
        x = args[i]
        if isinstance(x, bytes):
            a[i] = <uint64_t><const char*>x     # args keeps x alive
        else:
            a[i] = <uint64_t>(x & 0xFFFFFFFFFFFFFFFF)
    n = format_buf(out, sizeof(out), fmt, a, nargs)
    if n > sizeof(out) - 1:
        n = sizeof(out) - 1
    return out[:n]
