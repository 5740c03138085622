# fsstress N: creates N files (tags stress seq=I), each with a pattern of
# its own size, written with EVF_SYNC -- so "committed" is printed only once
# the file is on disk.  Tests cut the power in the middle of this.
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from user cimport sdk, fs
from kwe.common cimport operations, kstr
from kwe.common.format cimport format_buf

cdef uint8_t buf[65536]

cdef uint32_t fill(uint64_t seq) noexcept nogil:
    cdef uint32_t n = <uint32_t>(1000 + (seq * 7919) % 60000), i
    for i in range(n):
        buf[i] = <uint8_t>(seq * 31 + i * 7)
    return n

cdef public int umain() noexcept nogil:
    cdef uint64_t count = sdk.arg_u64(0, 100), seq, args[1]
    cdef int64_t id, fd
    cdef uint32_t n
    cdef char tags[64]
    for seq in range(count):
        args[0] = seq
        format_buf(tags, sizeof(tags), b"stress seq=%u", args, 1)
        id = fs.create(tags)
        fd = fs.open(id) if id > 0 else id
        n = fill(seq)
        if fd < 0 or fs.write(fd, buf, n, True) != n:
            sdk.printf(b"fsstress: file %u failed\n", seq)
            return 1
        fs.close(fd)
        sdk.printf(b"fsstress: committed %u size %u crc %08x\n", seq, n, operations.crc32(0, buf, n))
    return 0
