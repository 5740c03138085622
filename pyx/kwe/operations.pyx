# See operations.pxd.
from libc.stdint cimport uint8_t, uint32_t

cdef enum:
    SLICES = 8

# Slicing-by-8 tables: table[k][b] is the CRC of byte b followed by k zero
# bytes, so eight input bytes fold in with eight lookups.  Built on first use
# because module initializers never run in the kernel.
cdef uint32_t table[SLICES][256]
cdef bint tables_ready = False

cdef void build_tables() noexcept nogil:
    global tables_ready
    cdef uint32_t c
    cdef int i, k
    for i in range(256):
        c = <uint32_t>i
        for k in range(8):
            c = (c >> 1) ^ (<uint32_t>0xEDB88320U if c & 1 else 0)
        table[0][i] = c
    for i in range(256):
        for k in range(1, SLICES):
            table[k][i] = (table[k - 1][i] >> 8) ^ table[0][table[k - 1][i] & 0xFF]
    tables_ready = True

cdef uint32_t crc32(uint32_t crc, const uint8_t* p, size_t n) noexcept nogil:
    cdef uint32_t lo, hi
    if not tables_ready:
        build_tables()
    crc = ~crc
    while n and (<size_t>p & 7):
        crc = table[0][(crc ^ p[0]) & 0xFF] ^ (crc >> 8)
        p += 1
        n -= 1
    while n >= 8:
        lo = (<const uint32_t*>p)[0] ^ crc
        hi = (<const uint32_t*>p)[1]
        crc = (table[7][lo & 0xFF] ^ table[6][(lo >> 8) & 0xFF] ^
               table[5][(lo >> 16) & 0xFF] ^ table[4][lo >> 24] ^
               table[3][hi & 0xFF] ^ table[2][(hi >> 8) & 0xFF] ^
               table[1][(hi >> 16) & 0xFF] ^ table[0][hi >> 24])
        p += 8
        n -= 8
    while n:
        crc = table[0][(crc ^ p[0]) & 0xFF] ^ (crc >> 8)
        p += 1
        n -= 1
    return ~crc

def py_crc32(bytes data, uint32_t value=0):
    """Hosted entry: same contract as zlib.crc32(data, value)."""
    return crc32(value, <const uint8_t*><const char*>data, len(data))
