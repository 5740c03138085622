# See ata.pxd.  Register layout: ATA/ATAPI-8 (ACS), the OSDev "ATA PIO Mode" page.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from kwe.base cimport hal

cdef enum:
    DATA = 0x1F0
    ERROR = 0x1F1
    COUNT = 0x1F2
    LBA_LO = 0x1F3
    LBA_MID = 0x1F4
    LBA_HI = 0x1F5
    DRIVE = 0x1F6
    STATUS = 0x1F7              # reads status, writes commands
    CONTROL = 0x3F6             # device control / alternate status
    ST_ERR = 0x01
    ST_DRQ = 0x08
    ST_DF = 0x20
    ST_BSY = 0x80
    CMD_READ_EXT = 0x24
    CMD_WRITE_EXT = 0x34
    CMD_FLUSH_EXT = 0xEA
    CMD_IDENTIFY = 0xEC
    NIEN = 0x02                 # CONTROL: no interrupts
    POLL_LIMIT = 10000000       # status reads before giving up

cdef uint64_t disk_sectors = 0

cdef void delay400ns() noexcept nogil:
    cdef int i
    for i in range(4):
        hal.inb(CONTROL)

cdef int wait_ready(bint want_data) noexcept nogil:
    """Wait for BSY to clear (and DRQ to set when want_data)."""
    cdef uint64_t n
    cdef uint8_t s
    for n in range(POLL_LIMIT):
        s = hal.inb(STATUS)
        if s == 0xFF:
            return ATA_NO_DRIVE                     # floating bus
        if s & ST_BSY:
            continue
        if s & (ST_ERR | ST_DF):
            return ATA_DEVICE_ERROR
        if not want_data or (s & ST_DRQ):
            return ATA_OK
    return ATA_TIMEOUT

cdef void command48(uint64_t lba, uint32_t count, uint8_t cmd) noexcept nogil:
    """count: 1..65536 (0 in the register means 65536)."""
    hal.outb(DRIVE, 0x40)                           # master, LBA mode
    hal.outb(COUNT, (count >> 8) & 0xFF)
    hal.outb(LBA_LO, (lba >> 24) & 0xFF)
    hal.outb(LBA_MID, (lba >> 32) & 0xFF)
    hal.outb(LBA_HI, (lba >> 40) & 0xFF)
    hal.outb(COUNT, count & 0xFF)
    hal.outb(LBA_LO, lba & 0xFF)
    hal.outb(LBA_MID, (lba >> 8) & 0xFF)
    hal.outb(LBA_HI, (lba >> 16) & 0xFF)
    hal.outb(STATUS, cmd)

cdef int init() noexcept nogil:
    global disk_sectors
    cdef uint16_t id[256]
    cdef int err
    disk_sectors = 0
    hal.outb(CONTROL, NIEN)
    hal.outb(DRIVE, 0xA0)
    delay400ns()
    hal.outb(COUNT, 0)
    hal.outb(LBA_LO, 0)
    hal.outb(LBA_MID, 0)
    hal.outb(LBA_HI, 0)
    hal.outb(STATUS, CMD_IDENTIFY)
    if hal.inb(STATUS) == 0:
        return ATA_NO_DRIVE
    err = wait_ready(True)
    if err != ATA_OK:
        return err
    hal.read_words(DATA, id, 256)
    if not (id[83] & (1 << 10)):                    # no LBA48
        return ATA_NO_DRIVE
    disk_sectors = (<uint64_t>id[100] | (<uint64_t>id[101] << 16) | (<uint64_t>id[102] << 32) |
                    (<uint64_t>id[103] << 48))
    return ATA_OK

cdef uint64_t sectors() noexcept nogil:
    return disk_sectors

cdef int transfer(uint64_t lba, uint32_t count, void* buf, bint writing) noexcept nogil:
    cdef uint8_t* p = <uint8_t*>buf
    cdef uint32_t n, i
    cdef int err
    if disk_sectors == 0:
        return ATA_NO_DRIVE
    if lba > disk_sectors or count > disk_sectors - lba:
        return ATA_RANGE
    while count:
        n = count if count < MAX_SECTORS_PER_COMMAND else MAX_SECTORS_PER_COMMAND
        err = wait_ready(False)
        if err != ATA_OK:
            return err
        command48(lba, n, CMD_WRITE_EXT if writing else CMD_READ_EXT)
        for i in range(n):
            delay400ns()
            err = wait_ready(True)
            if err != ATA_OK:
                return err
            if writing:
                hal.write_words(DATA, p, SECTOR / 2)
            else:
                hal.read_words(DATA, p, SECTOR / 2)
            p += SECTOR
        lba += n
        count -= n
    return wait_ready(False)

cdef int read(uint64_t lba, uint32_t count, void* buf) noexcept nogil:
    return transfer(lba, count, buf, False)

cdef int write(uint64_t lba, uint32_t count, const void* buf) noexcept nogil:
    return transfer(lba, count, <void*>buf, True)

cdef int flush() noexcept nogil:
    cdef int err = wait_ready(False)
    if err != ATA_OK:
        return err
    hal.outb(DRIVE, 0x40)
    hal.outb(STATUS, CMD_FLUSH_EXT)
    delay400ns()
    return wait_ready(False)

cdef const char* error_name(int err) noexcept nogil:
    if err == ATA_OK: return b"ok"
    if err == ATA_NO_DRIVE: return b"no drive"
    if err == ATA_TIMEOUT: return b"timeout"
    if err == ATA_DEVICE_ERROR: return b"device error"
    if err == ATA_RANGE: return b"beyond the end of the disk"
    return b"unknown error"
