# See programs.pxd.  Archive: "KWEARCH1", u32 count, u32 table bytes, then
# count entries of {char name[48]; u32 offset, size, crc32, reserved}.
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from kwe cimport ata, heap, kstr, operations, proc, abi
from kwe.proc cimport SpawnArgs
from kwe.console cimport kprintf

cdef enum:
    NAME_LEN = 48
    TABLE = 16

cdef struct Entry:
    char name[NAME_LEN]
    uint32_t offset
    uint32_t size
    uint32_t crc
    uint32_t reserved

cdef uint8_t* archive = NULL
cdef uint64_t archive_bytes = 0
cdef uint32_t nprograms = 0

cdef Entry* entry(uint32_t i) noexcept nogil:
    return <Entry*>(archive + TABLE + i * sizeof(Entry))

cdef bint entry_ok(Entry* e) noexcept nogil:
    e.name[NAME_LEN - 1] = 0
    if e.offset > archive_bytes or e.size > archive_bytes - e.offset:
        kprintf(b"programs: %s lies outside the archive\n", <uint64_t>e.name)
        return False
    if operations.crc32(0, archive + e.offset, e.size) != e.crc:
        kprintf(b"programs: %s fails its CRC32 check\n", <uint64_t>e.name)
        return False
    return True

cdef int init(uint64_t lba, uint32_t sectors) noexcept nogil:
    global archive, archive_bytes, nprograms
    cdef uint32_t i, n
    cdef int err
    if sectors == 0:
        return 0
    archive_bytes = <uint64_t>sectors * ata.SECTOR
    archive = <uint8_t*>heap.kmalloc(archive_bytes)
    if archive == NULL:
        return -1
    err = ata.read(lba, sectors, archive)
    if err != ata.ATA_OK:
        kprintf(b"programs: reading the archive failed: %s\n", <uint64_t>ata.error_name(err))
        return -1
    if not kstr.starts_with(<const char*>archive, b"KWEARCH1"):
        kputs_bad()
        return -1
    n = (<uint32_t*>(archive + 8))[0]
    if TABLE + <uint64_t>n * sizeof(Entry) > archive_bytes:
        kputs_bad()
        return -1
    nprograms = 0
    for i in range(n):                          # keep the good entries, in order
        if entry_ok(entry(i)):
            if i != nprograms:
                entry(nprograms)[0] = entry(i)[0]
            nprograms += 1
    return nprograms

cdef void kputs_bad() noexcept nogil:
    kprintf(b"programs: no valid archive in the image\n")

cdef bint find(const char* want, const uint8_t** image, uint64_t* size) noexcept nogil:
    cdef uint32_t i
    for i in range(nprograms):
        if kstr.equal(entry(i).name, want):
            image[0] = archive + entry(i).offset
            size[0] = entry(i).size
            return True
    return False

cdef uint32_t count() noexcept nogil:
    return nprograms

cdef const char* name(uint32_t i) noexcept nogil:
    return entry(i).name if i < nprograms else NULL

cdef int launch(const char* command, SpawnArgs* a, uint32_t* pid) noexcept nogil:
    cdef char name[NAME_LEN]
    cdef size_t i = 0
    cdef const uint8_t* image
    cdef uint64_t size
    while command[0] == c' ':
        command += 1
    while command[i] and command[i] != c' ' and i + 1 < NAME_LEN:
        name[i] = command[i]
        i += 1
    name[i] = 0
    command += i
    while command[0] == c' ':
        command += 1
    if i == 0 or not find(name, &image, &size):
        return abi.E_NOENT
    return proc.spawn(name, command, image, size, a, pid)
