# See deck_ops.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t, int32_t
from libc.string cimport memcpy
from kwe.common cimport abi, operations, crc_clmul, http
from kwe.common.format cimport format_buf
from kwe.common.abi cimport FileStat
from kwe.events cimport guide
from kwe.mm cimport heap
from kwe.arch cimport fpu
from kwe.decks cimport simd
from kwe.base cimport hal
from kwe.events.guide cimport Event

cdef uint8_t* out_buffer(Event* e, size_t n) noexcept nogil:
    cdef uint8_t* out = <uint8_t*>guide.alloc_for(e, n if n else 1)
    if out == NULL:
        e.status = abi.E_NOMEM
    return out

cdef void rle_encode(Event* e) noexcept nogil:
    cdef uint8_t* out = out_buffer(e, operations.rle_bound(e.input_len))
    if out != NULL:
        guide.set_output(e, out, <uint32_t>operations.rle_encode(e.input, e.input_len, out))

cdef void rle_decode(Event* e) noexcept nogil:
    cdef uint64_t limit = guide.output_limit()
    if e.h.arg[0] and e.h.arg[0] < limit:
        limit = e.h.arg[0]                  # the caller's bound, never above the kernel's
    cdef int64_t size = operations.rle_decoded_size(e.input, e.input_len)
    cdef uint8_t* out
    if size < 0:
        e.status = abi.E_BADDATA
        return
    if <uint64_t>size > limit:
        e.status = abi.E_RANGE
        return
    out = out_buffer(e, <size_t>size)
    if out != NULL:
        guide.set_output(e, out, <uint32_t>operations.rle_decode(e.input, e.input_len, out, <size_t>size))

cdef void xor(Event* e) noexcept nogil:
    cdef uint8_t* out
    if e.h.arg[1] < 1 or e.h.arg[1] > 8:
        e.status = abi.E_INVAL
        return
    out = out_buffer(e, e.input_len)
    if out != NULL:
        operations.xor_bytes(e.input, e.input_len, e.h.arg[0], <uint32_t>e.h.arg[1], out)
        guide.set_output(e, out, e.input_len)

cdef void vector(Event* e, uint16_t op) noexcept nogil:
    """Input: two equal vectors a, b of 4-byte elements, back to back."""
    cdef size_t n = e.input_len / 8
    cdef const void* a = e.input
    cdef const void* b = e.input + 4 * n
    cdef uint8_t* out = NULL
    if e.input_len % 8:
        e.status = abi.E_RANGE
        return
    if op == abi.OP_VEC_DOT_I32:
        guide.set_value(e, <uint64_t>operations.vec_dot_i32(<const int32_t*>a, <const int32_t*>b, n), 8)
        return
    if op == abi.OP_VEC_DOT_F32:
        fpu.begin()
        e.value = simd.vec_dot_f32(<const float*>a, <const float*>b, n)
        fpu.end()
        guide.set_value(e, e.value, 8)
        return
    out = out_buffer(e, 4 * n)
    if out == NULL:
        return
    if op == abi.OP_VEC_ADD_I32:
        operations.vec_add_i32(<const int32_t*>a, <const int32_t*>b, <int32_t*>out, n)
    elif op == abi.OP_VEC_MUL_I32:
        operations.vec_mul_i32(<const int32_t*>a, <const int32_t*>b, <int32_t*>out, n)
    else:
        fpu.begin()
        if op == abi.OP_VEC_ADD_F32:
            simd.vec_add_f32(<const float*>a, <const float*>b, <float*>out, n)
        else:
            simd.vec_mul_f32(<const float*>a, <const float*>b, <float*>out, n)
        fpu.end()
    guide.set_output(e, out, <uint32_t>(4 * n))

cdef enum:
    CLMUL_MIN = 256                     # below this the FPU save/restore costs more than it saves
    PROBE_BYTES = 16384

cdef bint folding = False               # CRC32 by PCLMULQDQ folding (else slicing-by-8)
cdef uint8_t probe[PROBE_BYTES]

cdef uint32_t crc_by(bint fold, uint32_t crc, const uint8_t* p, size_t n) noexcept nogil:
    cdef uint32_t r
    if not fold:
        return operations.crc32(crc, p, n)
    fpu.begin()
    r = crc_clmul.crc32_clmul(crc, p, n)
    fpu.end()
    return r

cdef uint64_t crc_cycles(bint fold, const uint8_t* p, size_t n) noexcept nogil:
    cdef uint64_t best = <uint64_t>-1, t
    cdef int r
    for r in range(3):
        t = hal.rdtsc()
        crc_by(fold, 0, p, n)
        t = hal.rdtsc() - t
        if t < best:
            best = t
    return best

cdef bint choose_crc(int mode) noexcept nogil:
    # Timed, not just detected: folding is several times faster on real
    # CPUs, but an emulator without hardware help (QEMU TCG) runs each
    # PCLMULQDQ as a helper call and makes it slower than the table.
    global folding
    folding = False
    if mode == CRC_TABLE or not crc_clmul.clmul_available():
        return False
    folding = (mode == CRC_CLMUL or
               crc_cycles(True, probe, PROBE_BYTES) < crc_cycles(False, probe, PROBE_BYTES))
    return folding

cdef uint32_t crc32(uint32_t crc, const uint8_t* p, size_t n) noexcept nogil:
    return crc_by(folding and n >= CLMUL_MIN, crc, p, n)

# ---- OP_HTTP_HEAD: a response head from what the request's workflow found -----------------
cdef enum:
    HEAD_ROOM = 512             # the longest head format_head writes, and then some
    HEAD_FLAGS = abi.HEAD_STAT | abi.HEAD_ETAG | abi.HEAD_BODY | abi.HEAD_ID | abi.HEAD_CLOSE

cdef struct HeadIn:
    uint64_t length             # Content-Length
    uint64_t id                 # the file's (HEAD_STAT)
    uint32_t etag
    uint32_t hh                 # http.HH_*
    const uint8_t* body         # appended after the head
    uint32_t body_len

cdef int head_fields(Event* e, uint64_t flags, HeadIn* h) noexcept nogil:
    """Read the parents' outputs in HEAD_* order; E_INVAL if they are not that."""
    cdef FileStat st
    cdef uint32_t at = 0
    if flags & ~(<uint64_t>HEAD_FLAGS) or ((flags & abi.HEAD_ID) and not (flags & abi.HEAD_STAT)):
        return abi.E_INVAL
    if flags & abi.HEAD_STAT:
        if e.input_len < sizeof(FileStat):
            return abi.E_INVAL
        memcpy(&st, e.input, sizeof(FileStat))
        h.length, h.id, at = st.size, st.id, sizeof(FileStat)
    if flags & abi.HEAD_ETAG:
        if e.input_len - at < 4:
            return abi.E_INVAL
        memcpy(&h.etag, e.input + at, 4)
        h.hh |= http.HH_ETAG
        at += 4
    if flags & abi.HEAD_BODY:
        h.body, h.body_len, h.length = e.input + at, e.input_len - at, e.input_len - at
        h.hh |= http.HH_TEXT
    elif at != e.input_len:
        return abi.E_INVAL
    return abi.E_OK

cdef void http_head(Event* e) noexcept nogil:
    cdef HeadIn h
    cdef char idtext[22]                        # 20 digits, the newline, format_buf's NUL
    cdef char* out
    cdef uint32_t n
    if e.h.arg[0] < 100 or e.h.arg[0] > 599:
        e.status = abi.E_RANGE
        return
    h.length, h.id, h.etag, h.hh, h.body, h.body_len = 0, 0, 0, 0, NULL, 0
    e.status = head_fields(e, e.h.arg[1], &h)
    if e.status != abi.E_OK:
        return
    if e.h.arg[1] & abi.HEAD_ID:                # the new file's id is the body
        h.body_len = <uint32_t>format_buf(idtext, sizeof(idtext), b"%u", &h.id, 1)
        idtext[h.body_len] = 10
        h.body_len += 1
        h.body, h.length = <const uint8_t*>idtext, h.body_len
        h.hh |= http.HH_LOCATION | http.HH_TEXT
    if e.h.arg[1] & abi.HEAD_CLOSE:
        h.hh |= http.HH_CLOSE
    out = <char*>out_buffer(e, HEAD_ROOM + h.body_len)
    if out == NULL:
        return
    n = http.format_head(out, HEAD_ROOM, <uint32_t>e.h.arg[0], h.length, h.hh, h.etag, h.id)
    if n == 0:
        heap.kfree(out)
        e.status = abi.E_RANGE
        return
    if h.body_len:
        memcpy(out + n, h.body, h.body_len)
    guide.set_output(e, <uint8_t*>out, n + h.body_len)

cdef int handle(Event* e) noexcept nogil:
    cdef uint16_t op = e.h.opcode
    if guide.opcode_deck(op) != abi.DECK_OPERATIONS:
        return guide.DECK_DONE
    if op == abi.OP_CRC32:
        guide.set_value(e, crc32(<uint32_t>e.h.arg[0], e.input, e.input_len), 4)
    elif op == abi.OP_DJB2:
        guide.set_value(e, operations.djb2(e.input, e.input_len), 4)
    elif op == abi.OP_RLE_ENCODE:
        rle_encode(e)
    elif op == abi.OP_RLE_DECODE:
        rle_decode(e)
    elif op == abi.OP_XOR:
        xor(e)
    elif op == abi.OP_HTTP_HEAD:
        http_head(e)
    else:
        vector(e, op)
    return guide.DECK_DONE

def py_choose_crc(int mode):
    return choose_crc(mode)
