# See scenarios.pxd.  Integration tests boot one scenario each; the serial
# log and the exit status are what they check.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset
from kwe.base cimport fwcfg, power, boot, cmdline, hal
from kwe.common cimport abi, kstr, operations, crc_clmul
from kwe.debug cimport ktest, trace, stages
from kwe.mm cimport pmm, vmm, heap, kstack, account
from kwe.dev cimport pit, rtc, input, e1000
from kwe.arch cimport traps, cpu
from kwe.tasks cimport proc, programs
from kwe.events cimport guide
from kwe.init cimport engine
from kwe.fs cimport rootfs, fsck
from kwe.net cimport netif
from kwe.decks cimport deck_ops
from kwe.base.console cimport kprintf, kputs
from kwe.debug.panic cimport panic

cdef extern from *:
    void __builtin_trap() nogil

cdef enum:
    CHUNK = 4096

cdef uint8_t chunk[CHUNK]

cdef const char* yes_no(bint b) noexcept nogil:
    return b"yes" if b else b"no"

# ---- boot and Operations ---------------------------------------------------
cdef int run_crc32() noexcept nogil:
    """CRC32 of every record in fw_cfg opt/kwe/input ([u32 LE length][bytes]...)."""
    cdef uint16_t sel
    cdef uint32_t size, done = 0, n, take, crc, fast, idx = 0
    kprintf(b"crc32 check %08x; PCLMULQDQ %s\n", operations.crc32(0, <const uint8_t*>b"123456789", 9),
            <uint64_t>yes_no(crc_clmul.clmul_available()))
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
        crc = fast = 0
        done += n
        while n:
            take = n if n < CHUNK else CHUNK
            fwcfg.read(chunk, take)
            crc = deck_ops.crc_by(False, crc, chunk, take)
            fast = deck_ops.crc_by(crc_clmul.clmul_available(), fast, chunk, take)
            n -= take
        kprintf(b"crc32 %u %08x %08x\n", idx, crc, fast)
        idx += 1
    kprintf(b"crc32 done %u\n", idx)
    return power.EXIT_OK

# ---- memory self-tests -----------------------------------------------------
cdef void check_pmm() noexcept nogil:
    cdef uint64_t before = pmm.free_count(), a, b, c
    a = pmm.alloc_page()
    b = pmm.alloc_pages(8)
    ktest.check(a != 0 and b != 0 and a != b, b"pmm_alloc")
    ktest.check(a >= pmm.LOW_MEMORY_END and b >= pmm.LOW_MEMORY_END, b"pmm_never_low_memory")
    c = hal.virt_to_phys(<void*>&chunk[0]) & ~<uint64_t>4095
    ktest.check(not pmm.is_allocated(c), b"pmm_kernel_image_reserved")
    ktest.check_eq(pmm.free_count(), before - 9, b"pmm_count_after_alloc")
    ktest.check_eq(<uint64_t>pmm.free_page(a), pmm.PMM_OK, b"pmm_free")
    ktest.check_eq(<uint64_t>(pmm.free_page(a) == pmm.PMM_DOUBLE_FREE), 1, b"pmm_double_free_detected")
    ktest.check_eq(<uint64_t>(pmm.free_page(c) == pmm.PMM_NOT_OWNED), 1, b"pmm_unowned_free_detected")
    ktest.check_eq(<uint64_t>pmm.free_pages(b, 8), pmm.PMM_OK, b"pmm_free_contiguous")
    ktest.check_eq(pmm.free_count(), before, b"pmm_count_restored")

cdef void check_vmm() noexcept nogil:
    cdef uint64_t before, pa = 0
    cdef uint32_t f = 0
    cdef vmm.AddressSpace* s
    cdef hal.KernelLayout k
    heap.trim()                              # cached slabs are not a leak
    before = pmm.free_count()
    s = vmm.create()
    ktest.check(s != NULL, b"vmm_create")
    ktest.check_eq(<uint64_t>vmm.map_new(s, 0x400000, 3, vmm.MAP_USER | vmm.MAP_WRITE), vmm.VMM_OK, b"vmm_map_user")
    ktest.check(vmm.translate(s, 0x401234, &pa, &f) and (f & vmm.MAP_USER) and not (f & vmm.MAP_EXEC),
                b"vmm_translate_user_nx")
    ktest.check(not vmm.translate(vmm.kernel_space(), 0x401234, NULL, NULL), b"vmm_spaces_isolated")
    ktest.check(vmm.user_range_ok(s, 0x400000, 3 * 4096, True), b"vmm_user_range_ok")
    ktest.check(not vmm.user_range_ok(s, 0x400000, 4 * 4096, False), b"vmm_user_range_past_end")
    hal.kernel_layout(&k)
    ktest.check(vmm.translate(s, k.start, &pa, &f) and (f & vmm.MAP_EXEC) and not (f & vmm.MAP_WRITE),
                b"vmm_kernel_text_shared_rx")
    ktest.check(vmm.translate(s, k.end - 8, &pa, &f) and (f & vmm.MAP_WRITE) and not (f & vmm.MAP_EXEC),
                b"vmm_kernel_data_rw_nx")
    vmm.destroy(s)
    heap.trim()
    ktest.check_eq(pmm.free_count(), before, b"vmm_destroy_returns_every_page")

cdef void check_heap() noexcept nogil:
    cdef heap.HeapStats h0, h1
    cdef void* p[64]
    cdef uint64_t before, i
    heap.trim()
    before = pmm.free_count()
    heap.stats(&h0)
    for i in range(64):
        p[i] = heap.kmalloc(i * 97 + 1)
        (<uint8_t*>p[i])[0] = <uint8_t>i
    ktest.check(heap.kmalloc(1 << 20) != NULL, b"heap_large")
    for i in range(64):
        if (<uint8_t*>p[i])[0] != <uint8_t>i:
            break
    ktest.check_eq(i, 63, b"heap_objects_distinct")
    for i in range(64):
        heap.kfree(p[i])
    heap.kfree(p[5])
    heap.stats(&h1)
    ktest.check_eq(h1.bad_frees, h0.bad_frees + 1, b"heap_double_free_detected")
    heap.trim()
    ktest.check(pmm.free_count() == before - 257, b"heap_pages_back_but_the_leak")

cdef void check_cpu() noexcept nogil:
    cdef uint64_t want = cpu.supported(), on = hal.read_cr(4)
    ktest.check(((on ^ want) & cpu.CR4_SMEP) == 0, b"cpu_smep_on_if_cpuid_has_it")
    ktest.check(((on ^ want) & cpu.CR4_SMAP) == 0, b"cpu_smap_on_if_cpuid_has_it")
    ktest.check(((on ^ want) & cpu.CR4_UMIP) == 0, b"cpu_umip_on_if_cpuid_has_it")

cdef int run_selftest() noexcept nogil:
    cdef char buf[64]
    ktest.begin(b"kernel")
    ktest.check_eq(operations.crc32(0, <const uint8_t*>b"123456789", 9), 0xCBF43926U, b"crc32_check_value")
    ktest.check_eq(operations.crc32(operations.crc32(0, <const uint8_t*>b"1234", 4),
                                    <const uint8_t*>b"56789", 5), 0xCBF43926U, b"crc32_incremental")
    ktest.check(boot.usable_bytes() > (1 << 20), b"memory_map_has_ram")
    ktest.check(cmdline.get(b"run", buf, sizeof(buf)) == 8 and kstr.equal(buf, b"selftest"), b"cmdline_run")
    check_pmm()
    check_vmm()
    check_heap()
    check_cpu()
    return power.EXIT_OK if ktest.end() == 0 else power.EXIT_FAILED

# ---- faults on purpose (run=fault fault=KIND) -------------------------------
# Running off the end of a kernel stack, without recursion (the kernel has none,
# tools/build/stackcheck.py): use_frame is entered with 64 bytes of a fresh stack
# left, as at the end of a call chain too deep, and its frame runs into the guard.
cdef void use_frame() noexcept nogil:
    cdef uint8_t frame[512]
    frame[0] = 0
    kprintf(b"%s", <uint64_t>frame)             # its address escapes: the frame is real
    kputs(b"fault: nothing happened\n")
    power.power_off(power.EXIT_FAILED)

cdef void overflow_a_stack() noexcept nogil:
    cdef uint64_t top = kstack.alloc(1)
    if top == 0:
        panic(b"no memory for a kernel stack")
    hal.call_on_stack(top - pmm.PAGE_SIZE + 64, use_frame)

cdef int run_fault() noexcept nogil:
    cdef char kind[16]
    cdef uint64_t zero = cmdline.get_u64(b"divisor", 0)
    cdef uint64_t addr
    if cmdline.get(b"fault", kind, sizeof(kind)) < 0:
        kputs(b"fault: say fault=divide|ud|gp|pf|stack|heap-overflow|heap-uaf\n")
        return power.EXIT_USAGE
    kprintf(b"fault: raising %s in ring 0\n", <uint64_t>kind)
    if kstr.equal(kind, b"divide"):
        kprintf(b"%u\n", 100 / zero)
    elif kstr.equal(kind, b"ud"):
        __builtin_trap()
    elif kstr.equal(kind, b"gp"):
        addr = cmdline.get_u64(b"address", <uint64_t>0x8000000000000000U)
        kprintf(b"%u\n", (<uint64_t*>addr)[0])
    elif kstr.equal(kind, b"pf"):
        addr = cmdline.get_u64(b"address", vmm.KMAP_BASE + 0xdead000)
        kprintf(b"%u\n", (<uint64_t*>addr)[0])
    elif kstr.equal(kind, b"stack"):
        overflow_a_stack()
    elif kstr.equal(kind, b"heap-overflow") or kstr.equal(kind, b"heap-uaf"):
        return heap_misuse(kind[5] == c'o')
    kputs(b"fault: nothing happened\n")
    return power.EXIT_FAILED

cdef int heap_misuse(bint overflow) noexcept nogil:
    """One byte past an object's end, or into a freed one, left alone: the
    heap walk at power-off must fail the boot (kmain's heap_verdict)."""
    cdef uint8_t* p = <uint8_t*>heap.kmalloc(40)
    if not overflow:
        heap.kfree(p)
    p[40 if overflow else 8] = 0
    return power.EXIT_OK

# ---- map, write, unmap, touch ----------------------------------------------
cdef int run_vmm() noexcept nogil:
    cdef uint64_t va = vmm.KMAP_BASE + 0x10000
    cdef uint64_t* p = <uint64_t*>va
    cdef uint64_t pa = 0
    if vmm.map_new(vmm.kernel_space(), va, 1, vmm.MAP_WRITE) != vmm.VMM_OK:
        return power.EXIT_FAILED
    p[0] = 0x1234567890ABCDEFU
    p[511] = 42
    vmm.translate(vmm.kernel_space(), va, &pa, NULL)
    kprintf(b"vmm: mapped %p -> %p, wrote and read back %lx %u\n", va, pa, p[0], p[511])
    if (<uint64_t*>hal.phys_to_virt(pa))[0] != 0x1234567890ABCDEFU:
        kputs(b"vmm: the direct map disagrees\n")
        return power.EXIT_FAILED
    vmm.unmap(vmm.kernel_space(), va, NULL)
    kprintf(b"vmm: unmapped %p; touching it must fault\n", va)
    kprintf(b"%u\n", p[0])
    kputs(b"vmm: no fault after unmap\n")
    return power.EXIT_FAILED

# ---- the timer against the TSC and the RTC ---------------------------------
cdef void wait_ticks(uint64_t until) noexcept nogil:
    while pit.ticks() < until:
        hal.wait_for_interrupt()

cdef int run_timer() noexcept nogil:
    cdef uint64_t secs = cmdline.get_u64(b"seconds", 2)
    cdef uint32_t s0
    cdef uint64_t t0, t1, k0, k1, rtc_tsc_hz, milli_hz
    # 1. the TSC's rate, measured against the RTC's seconds
    s0 = rtc.seconds_of_day()
    while rtc.seconds_of_day() == s0:
        hal.wait_for_interrupt()
    t0 = hal.rdtsc()
    s0 = rtc.seconds_of_day()
    while (rtc.seconds_of_day() + 86400 - s0) % 86400 < secs:
        hal.wait_for_interrupt()
    t1 = hal.rdtsc()
    rtc_tsc_hz = (t1 - t0) / secs
    # 2. the tick rate, measured with the TSC over the same span of ticks
    k0 = pit.ticks() + 1
    wait_ticks(k0)
    t0 = hal.rdtsc()
    k1 = k0 + secs * pit.hz()
    wait_ticks(k1)
    t1 = hal.rdtsc()
    milli_hz = (k1 - k0) * 1000 * rtc_tsc_hz / (t1 - t0)
    kprintf(b"timer: configured %u Hz, measured %u.%03u Hz over %u ticks\n",
            pit.hz(), milli_hz / 1000, milli_hz % 1000, k1 - k0)
    kprintf(b"timer: TSC %u kHz by the RTC, %u kHz by PIT channel 2\n",
            rtc_tsc_hz / 1000, pit.tsc_hz() / 1000)
    return power.EXIT_OK

# ---- console input (run=echo count=N) --------------------------------------
cdef int run_echo() noexcept nogil:
    cdef uint64_t want = cmdline.get_u64(b"count", 8), got = 0
    cdef int c, src
    cdef const char* source
    kprintf(b"echo: ready for %u characters\n", want)
    while got < want:
        for src in range(input.SOURCES):
            c = input.pop(src)
            if c >= 0:
                got += 1
                source = b"keyboard"
                if src == input.SOURCE_SERIAL:
                    source = b"serial"
                kprintf(b"echo %s %u '%c'\n", <uint64_t>source, c, c)
        if got < want:
            hal.wait_for_interrupt()
    kputs(b"echo: done\n")
    return power.EXIT_OK

# ---- the network card: run=nicecho frames=N seconds=S --------------------------
# DMA both ways on a real (emulated) card without a protocol stack: one
# broadcast frame out, then each frame that comes in goes back with its
# source and destination MACs swapped, N times; the counters at the end.
cdef enum:
    ETHERTYPE_LOCAL = 0x88B5        # IEEE 802 local experimental
    HELLO_LEN = 60

cdef uint32_t hello_frame(uint8_t* f) noexcept nogil:
    memset(f, 0, HELLO_LEN)
    memset(f, 0xFF, 6)
    e1000.mac(f + 6)
    f[12], f[13] = ETHERTYPE_LOCAL >> 8, ETHERTYPE_LOCAL & 0xFF
    memcpy(f + 14, <const char*>b"KWE nicecho hello", 17)
    return HELLO_LEN

cdef void swap_macs(uint8_t* f) noexcept nogil:
    cdef uint8_t t
    cdef int i
    for i in range(6):
        t = f[i]
        f[i] = f[6 + i]
        f[6 + i] = t

cdef int send_until(const uint8_t* f, uint32_t n, uint64_t deadline) noexcept nogil:
    """transmit, waiting out a full ring (a tick at a time) until deadline."""
    cdef int err = e1000.transmit(f, n)
    while err == e1000.E1000_FULL and pit.ticks() < deadline:
        hal.wait_for_interrupt()
        err = e1000.transmit(f, n)
    return err

cdef void print_nic_counters() noexcept nogil:
    cdef e1000.NicStats s
    e1000.stats(&s)
    kprintf(b"nicecho: rx %u frames %u bytes, tx %u frames %u bytes, rx drops %u, tx full %u\n",
            s.rx_frames, s.rx_bytes, s.tx_frames, s.tx_bytes, s.rx_drops, s.tx_full)
    kprintf(b"nicecho: interrupts %u, overruns %u, card counted rx %u tx %u\n",
            s.interrupts, s.rx_overruns, s.hw_rx_good, s.hw_tx_good)

cdef int run_nicecho() noexcept nogil:
    cdef uint64_t want = cmdline.get_u64(b"frames", 4), got = 0
    cdef uint64_t deadline = pit.ticks() + cmdline.get_u64(b"seconds", 30) * pit.hz()
    cdef int n, err
    if not e1000.present():
        kputs(b"nicecho: no network card\n")
        return power.EXIT_FAILED
    err = send_until(chunk, hello_frame(chunk), deadline)
    kprintf(b"nicecho: hello sent (%s), echoing %u frames\n", <uint64_t>e1000.error_name(err), want)
    while err == e1000.E1000_OK and got < want and pit.ticks() < deadline:
        n = e1000.receive(chunk, CHUNK)
        if n == 0:
            hal.wait_for_interrupt()
            continue
        swap_macs(chunk)
        err = send_until(chunk, <uint32_t>n, deadline)
        got += 1
    print_nic_counters()
    kprintf(b"nicecho: echoed %u of %u (%s)\n", got, want, <uint64_t>e1000.error_name(err))
    return power.EXIT_OK if got == want and err == e1000.E1000_OK else power.EXIT_FAILED

# ---- processes: run=init init=PROGRAM args=A,B,C ------------------------------
cdef int run_init(const char* default_program) noexcept nogil:
    """Start one program as init (args= with commas for spaces), run until
    every process has ended, and check every page came back."""
    cdef char cmd[300]
    cdef char args[256]
    cdef size_t n, i
    cdef uint64_t before, after
    cdef uint32_t pid = 0
    cdef int err, status
    cdef proc.SpawnArgs a
    cdef heap.HeapStats h0, h1
    if cmdline.get(b"init", cmd, 48) < 0:
        kstr.copy(cmd, default_program, 48)
    n = kstr.length(cmd)
    if cmdline.get(b"args", args, sizeof(args)) > 0:
        for i in range(kstr.length(args)):
            if args[i] == c',':
                args[i] = c' '
        cmd[n] = c' '
        kstr.copy(cmd + n + 1, args, sizeof(cmd) - n - 1)
    rootfs.quiesce()                         # the filesystem's cache is not process memory
    heap.trim()
    before = pmm.free_count()
    heap.stats(&h0)
    a.event_ring = a.result_ring = a.stack_pages = a.parent = 0
    a.caps = NULL                            # init starts with every capability
    err = programs.launch(cmd, &a, &pid)
    if err != 0:
        kprintf(b"init: cannot start '%s': %e\n", <uint64_t>cmd, err)
        if err == abi.E_NOENT:
            programs.list_names()
        return power.EXIT_FAILED
    proc.watch(pid)
    proc.run_until_idle(engine.deferred)
    status = proc.watched_status()
    trace.finish_late(pit.tsc_hz(), pit.hz())
    rootfs.quiesce()
    netif.quiesce()
    heap.trim()
    after = pmm.free_count()
    heap.stats(&h1)
    kprintf(b"kernel: all processes ended (init status %d); peak %u live, %u context switches\n",
            status, proc.peak(), proc.context_switches())
    trace.dump(pit.tsc_hz(), pit.hz())
    if stages.flag()[0]:
        stages.dump()
    kprintf(b"kernel: free pages %u before init, %u after; heap %u bytes in %u slab pages before, %u in %u after\n",
            before, after, h0.bytes_in_use, h0.slab_pages, h1.bytes_in_use, h1.slab_pages)
    # Every page a process had (stacks, page tables, rings, its memory) is
    # back: free pages plus the heap's slab pages balance exactly, and the
    # heap holds exactly the bytes it held before.  (Which slab page a
    # long-lived object lands in may change; that is layout, not a leak.)
    if after + h1.slab_pages != before + h0.slab_pages or h1.bytes_in_use != h0.bytes_in_use:
        kputs(b"kernel: memory did not come back\n")
        return power.EXIT_FAILED
    if account.leaked() != 0:
        kprintf(b"kernel: %u processes ended still holding something\n", account.leaked())
        return power.EXIT_FAILED
    kputs(b"kernel: every page came back\n")
    return power.EXIT_OK if status == 0 else power.EXIT_FAILED

# ---- run=bench: the Operations deck's speed inside the kernel, then init ------------
cdef void bench_line(const char* name, uint64_t nbytes, uint64_t cycles) noexcept nogil:
    kprintf(b"BENCH kernel %s %u %u\n", <uint64_t>name, nbytes, cycles)

cdef uint64_t bench_op(bint rle, const uint8_t* a, uint64_t n, uint8_t* out) noexcept nogil:
    """Best cycles of three runs of RLE encode or XOR (timer IRQs, TCG translation)."""
    cdef uint64_t best = <uint64_t>-1, t
    cdef int r
    for r in range(3):
        t = hal.rdtsc()
        if rle:
            operations.rle_encode(a, n, out)
        else:
            operations.xor_bytes(a, n, <uint64_t>0x0123456789ABCDEFU, 8, out)
        t = hal.rdtsc() - t
        if t < best:
            best = t
    return best

cdef int run_bench() noexcept nogil:
    """Throughput of the Operations deck's code on a 1 MiB buffer (TSC cycles),
    then run init= (the bench user program) if given."""
    cdef uint64_t n = cmdline.get_u64(b"bench_bytes", 1 << 20), i
    cdef uint8_t* a = <uint8_t*>heap.kmalloc(n)
    cdef uint8_t* b = <uint8_t*>heap.kmalloc(operations.rle_bound(n) + 16)
    if a == NULL or b == NULL:
        return power.EXIT_FAILED
    for i in range(n):
        a[i] = <uint8_t>((i / 64) * 7 if (i / 64) % 2 else i * 31)    # runs and noise
    bench_line(b"crc32_table", n, deck_ops.crc_cycles(False, a, n))
    if crc_clmul.clmul_available():
        bench_line(b"crc32_clmul", n, deck_ops.crc_cycles(True, a, n))
    bench_line(b"rle_encode", n, bench_op(True, a, n, b))
    bench_line(b"xor", n, bench_op(False, a, n, b))
    kprintf(b"BENCH kernel tsc_hz %u\n", pit.tsc_hz())
    heap.kfree(a)
    heap.kfree(b)
    if cmdline.has(b"init"):
        return run_init(b"bench")
    return power.EXIT_OK

# ---- the filesystem: run=fsck [init=PROGRAM] ---------------------------------------
cdef char fsck_log[8192]

cdef int run_fsck() noexcept nogil:
    """Check the mounted TagFS (its journal was replayed at boot), then run
    init= if one is named."""
    cdef fsck.Report r
    cdef int status = power.EXIT_OK
    if rootfs.fs() == NULL:
        kputs(b"fsck: no filesystem mounted\n")
        return power.EXIT_FAILED
    r.log, r.log_cap = fsck_log, sizeof(fsck_log)
    fsck.check(rootfs.fs(), &r)
    kprintf(b"fsck: %u files, %u tags, %u index blocks, %u data blocks: %u problems\n",
            r.files, r.tags, r.tree_blocks, r.data_blocks, r.problems)
    if r.log_len:
        kputs(fsck_log)
    if r.problems:
        status = power.EXIT_FAILED
    if cmdline.has(b"init") and run_init(b"") != power.EXIT_OK:
        status = power.EXIT_FAILED
    return status

cdef const char* scenarios() noexcept nogil:
    """Every name run() knows (tools/kwe run --list reads them from here)."""
    return b"demo init hello crc32 selftest panic fault vmm timer echo fsck bench nicecho"

cdef int run(const char* name) noexcept nogil:
    if kstr.equal(name, b"demo"):
        return run_init(b"init")
    if kstr.equal(name, b"init"):
        return run_init(b"init")
    if kstr.equal(name, b"hello"):
        kputs(b"KWE: hello from the kernel\n")
        return power.EXIT_OK
    if kstr.equal(name, b"crc32"):
        return run_crc32()
    if kstr.equal(name, b"selftest"):
        return run_selftest()
    if kstr.equal(name, b"panic"):
        panic(b"requested by the command line (run=panic)")
    if kstr.equal(name, b"fault"):
        return run_fault()
    if kstr.equal(name, b"vmm"):
        return run_vmm()
    if kstr.equal(name, b"timer"):
        return run_timer()
    if kstr.equal(name, b"echo"):
        return run_echo()
    if kstr.equal(name, b"fsck"):
        return run_fsck()
    if kstr.equal(name, b"bench"):
        return run_bench()
    if kstr.equal(name, b"nicecho"):
        return run_nicecho()
    kprintf(b"unknown scenario '%s'; the scenarios: %s\n", <uint64_t>name, <uint64_t>scenarios())
    return power.EXIT_USAGE
