# See scenarios.pxd.  Integration tests boot one scenario each.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from kwe cimport fwcfg, kstr, ktest, power, operations, boot, cmdline
from kwe.console cimport kprintf, kputs
from kwe.panic cimport panic

cdef enum:
    CHUNK = 4096

cdef uint8_t chunk[CHUNK]

cdef int run_crc32() noexcept nogil:
    """CRC32 of every record in fw_cfg opt/kwe/input ([u32 LE length][bytes]...)."""
    cdef uint16_t sel
    cdef uint32_t size, done = 0, n, take, crc, idx = 0
    kprintf(b"crc32 check %08x\n", operations.crc32(0, <const uint8_t*>b"123456789", 9))
    if not fwcfg.find(b"opt/kwe/input", &sel, &size):
        kputs(b"crc32: no opt/kwe/input\n")
        return power.EXIT_USAGE
    fwcfg.select(sel)
    while done + 4 <= size:
        n = fwcfg.read_le32()
        done += 4
        if n > size - done:
            kprintf(b"crc32: record %u overruns the input\n", idx)
            return power.EXIT_FAILED
        crc = 0
        done += n
        while n:
            take = n if n < CHUNK else CHUNK
            fwcfg.read(chunk, take)
            crc = operations.crc32(crc, chunk, take)
            n -= take
        kprintf(b"crc32 %u %08x\n", idx, crc)
        idx += 1
    kprintf(b"crc32 done %u\n", idx)
    return power.EXIT_OK

cdef int run_selftest() noexcept nogil:
    cdef char buf[64]
    ktest.begin(b"boot")
    ktest.check_eq(operations.crc32(0, <const uint8_t*>b"123456789", 9), 0xCBF43926U, b"crc32_check_value")
    ktest.check_eq(operations.crc32(operations.crc32(0, <const uint8_t*>b"1234", 4),
                                    <const uint8_t*>b"56789", 5), 0xCBF43926U, b"crc32_incremental")
    ktest.check(boot.usable_bytes() > (1 << 20), b"memory_map_has_ram")
    ktest.check(cmdline.get(b"run", buf, sizeof(buf)) == 8 and kstr.equal(buf, b"selftest"), b"cmdline_run")
    return power.EXIT_OK if ktest.end() == 0 else power.EXIT_FAILED

cdef int run(const char* name) noexcept nogil:
    if kstr.equal(name, b"demo") or kstr.equal(name, b"hello"):
        kputs(b"KWE: hello from the kernel; nothing else to run yet\n")
        return power.EXIT_OK
    if kstr.equal(name, b"crc32"):
        return run_crc32()
    if kstr.equal(name, b"selftest"):
        return run_selftest()
    if kstr.equal(name, b"panic"):
        panic(b"requested by the command line (run=panic)")
    kprintf(b"unknown scenario '%s'\n", <uint64_t>name)
    return power.EXIT_USAGE
