# ATA PIO on the primary IDE channel (the disk QEMU boots from): LBA48
# reads, writes and cache flushes, polled with bounded waits so a missing or
# stuck drive is an error, not a hang.  Interrupts from the drive are off.
from libc.stdint cimport uint8_t, uint32_t, uint64_t

cdef enum:
    SECTOR = 512
    ATA_OK = 0
    ATA_NO_DRIVE = -1
    ATA_TIMEOUT = -2
    ATA_DEVICE_ERROR = -3       # the drive set ERR (bad sector, out of range ...)
    ATA_RANGE = -4              # beyond the end of the disk
    MAX_SECTORS_PER_COMMAND = 256

cdef int init() noexcept nogil             # IDENTIFY the master drive
cdef uint64_t sectors() noexcept nogil     # its size, 0 if none
cdef int read(uint64_t lba, uint32_t count, void* buf) noexcept nogil
cdef int write(uint64_t lba, uint32_t count, const void* buf) noexcept nogil
cdef int flush() noexcept nogil            # the drive's write cache to the medium
cdef const char* error_name(int err) noexcept nogil
