# See fwcfg.pxd.  Layout: QEMU docs/specs/fw_cfg.rst.
from libc.stdint cimport uint8_t, uint16_t, uint32_t
from kwe.base cimport hal
from kwe.common cimport kstr

cdef enum:
    PORT_SELECT = 0x510
    PORT_DATA = 0x511
    ITEM_SIGNATURE = 0x0000
    ITEM_FILE_DIR = 0x0019
    NAME_LEN = 56

cdef void select(uint16_t sel) noexcept nogil:
    hal.outw(PORT_SELECT, sel)

cdef void read(void* buf, uint32_t n) noexcept nogil:
    cdef uint8_t* p = <uint8_t*>buf
    cdef uint32_t i
    for i in range(n):
        p[i] = hal.inb(PORT_DATA)

cdef uint32_t read_be32() noexcept nogil:
    cdef uint8_t b[4]
    read(b, 4)
    return (<uint32_t>b[0] << 24) | (<uint32_t>b[1] << 16) | (<uint32_t>b[2] << 8) | b[3]

cdef uint32_t read_le32() noexcept nogil:
    cdef uint8_t b[4]
    read(b, 4)
    return (<uint32_t>b[3] << 24) | (<uint32_t>b[2] << 16) | (<uint32_t>b[1] << 8) | b[0]

cdef bint present() noexcept nogil:
    cdef char sig[4]
    select(ITEM_SIGNATURE)
    read(sig, 4)
    return sig[0] == c'Q' and sig[1] == c'E' and sig[2] == c'M' and sig[3] == c'U'

cdef bint find(const char* name, uint16_t* sel, uint32_t* size) noexcept nogil:
    cdef uint32_t count, i, fsize
    cdef uint8_t hdr[4]
    cdef char fname[NAME_LEN + 1]
    if not present():
        return False
    select(ITEM_FILE_DIR)
    count = read_be32()
    for i in range(count):
        fsize = read_be32()
        read(hdr, 4)                        # selector (big-endian), reserved
        read(fname, NAME_LEN)
        fname[NAME_LEN] = 0
        if kstr.equal(fname, name):
            sel[0] = (<uint16_t>hdr[0] << 8) | hdr[1]
            size[0] = fsize
            return True
    return False

def py_read_file(bytes name):
    """Hosted helper: a fw_cfg file's contents, or None."""
    cdef uint16_t sel = 0
    cdef uint32_t size = 0
    if not find(name, &sel, &size):
        return None
    out = bytearray(size)
    select(sel)
    cdef char* p = out
    read(p, size)
    return bytes(out)
