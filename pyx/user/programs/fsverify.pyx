# fsverify: every file tagged `stress`, with its seq tag, size and CRC32 --
# what survived a crash, for the test to compare with what was committed.
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from user cimport sdk, fs
from kwe.common cimport operations, kstr
from kwe.common.abi cimport FileStat

cdef uint64_t ids[4096]
cdef uint8_t buf[65536]
cdef char tags[256]

cdef void one_line(char* s) noexcept nogil:
    """Tags come one per line; print them on one, space-separated."""
    cdef size_t i = 0
    while s[i]:
        if s[i] == c'\n':
            s[i] = c' '
        i += 1

cdef public int umain() noexcept nogil:
    cdef int64_t n = fs.query(b"stress", ids, 4096), i, fd, got
    cdef FileStat st
    if n < 0:
        sdk.printf(b"fsverify: query failed: %e\n", n)
        return 1
    for i in range(n if n < 4096 else 4096):
        fd = fs.open(ids[i])
        got = fs.read(fd, buf, sizeof(buf)) if fd >= 0 else fd
        fs.tags(ids[i], tags, sizeof(tags))
        one_line(tags)
        fs.stat(ids[i], &st)
        if fd >= 0:
            fs.close(fd)
        sdk.printf(b"fsverify: file %u size %u read %d crc %08x tags %s\n", ids[i], st.size, got,
                   operations.crc32(0, buf, got if got > 0 else 0), <uint64_t>tags)
    sdk.printf(b"fsverify: %d stress files\n", n)
    return 0
