# kmain: the first Cython code to run (called from runtime/entry.S with the
# physical address of stage2's BootInfo).  Brings the machine up in order,
# then runs the scenario the command line names and powers off with its
# status.
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from kwe.base cimport serial, boot, cmdline, power, vga, console, hal
from kwe.init cimport scenarios, engine
from kwe.common cimport kstr
from kwe.common.format cimport format_buf
from kwe.arch cimport gdt, traps, fpu, cpu
from kwe.mm cimport pmm, vmm, kstack, heap, account
from kwe.dev cimport irq, pit, keyboard, input, ata, pci, e1000
from kwe.tasks cimport programs
from kwe.fs cimport rootfs
from kwe.net cimport netif
from kwe.common cimport netnames
from kwe.debug cimport trace
from kwe.base.console cimport kprintf, kputs
from kwe.debug.panic cimport panic

cdef enum:
    MAIN_STACK_PAGES = 8

cdef uint64_t main_stack_top = 0

cdef void memory_init() noexcept nogil:
    cdef hal.KernelLayout k
    cdef boot.BootInfo* bi = boot.info()
    cdef pmm.PmmStats s
    hal.kernel_layout(&k)
    if not pmm.init(bi.e820, bi.e820_count, k.start - vmm.KERNEL_VMA, k.end - vmm.KERNEL_VMA):
        panic(b"pmm: no usable memory above the kernel")
    pmm.stats(&s)
    if not vmm.init_kernel(s.max_phys):
        panic(b"vmm: out of memory building the kernel page tables")
    account.init()
    pmm.stats(&s)
    kprintf(b"pmm: %u pages usable (%u MiB), %u free, %u kept back, top %p\n",
            s.total_pages, s.total_pages >> 8, s.free_pages, s.reserved_pages, s.max_phys)

cdef void devices_init() noexcept nogil:
    vga.init()
    console.set_mirror(vga.sink)
    irq.init()
    pit.init(<uint32_t>cmdline.get_u64(b"hz", pit.DEFAULT_HZ))
    pit.calibrate_tsc()
    keyboard.init()
    input.init()
    kprintf(b"cpu: TSC %u MHz; timer %u Hz\n", pit.tsc_hz() / 1000000, pit.hz())
    network_init()

cdef void network_init() noexcept nogil:
    """PCI, then the e1000 if there is one (most boots have none: not an error)."""
    cdef int err
    cdef char mac_text[24]
    cdef char irq_text[24]
    cdef const char* link = b"down"
    kprintf(b"pci: %d functions\n", pci.scan())
    err = e1000.init()
    if err == e1000.E1000_ABSENT:
        kputs(b"e1000: no network card\n")
        return
    if err != e1000.E1000_OK:
        kprintf(b"e1000: not started: %s\n", <uint64_t>e1000.error_name(err))
        return
    mac_string(mac_text, sizeof(mac_text))
    kstr.copy(irq_text, b"no irq (polled)", sizeof(irq_text))
    if e1000.irq_line() != pci.PCI_NO_IRQ:
        irq_string(irq_text, sizeof(irq_text))
    if e1000.link_up():
        link = b"up"
    kprintf(b"e1000: %s, %s, link %s, %u rx / %u tx descriptors\n", <uint64_t>mac_text,
            <uint64_t>irq_text, <uint64_t>link, e1000.rx_ring_size(), e1000.tx_ring_size())

cdef void mac_string(char* out, size_t cap) noexcept nogil:
    cdef uint8_t m[6]
    cdef uint64_t a[6]
    cdef int i
    e1000.mac(m)
    for i in range(6):
        a[i] = m[i]
    format_buf(out, cap, b"%02x:%02x:%02x:%02x:%02x:%02x", a, 6)

cdef void irq_string(char* out, size_t cap) noexcept nogil:
    cdef uint64_t a = e1000.irq_line()
    format_buf(out, cap, b"irq %u", &a, 1)

cdef void storage_init() noexcept nogil:
    cdef int err = ata.init()
    if err != ata.ATA_OK:
        kprintf(b"ata: %s\n", <uint64_t>ata.error_name(err))
        return
    kprintf(b"ata: disk of %u sectors\n", ata.sectors())
    if rootfs.mount() == 0:
        kprintf(b"programs: %d in TagFS\n", programs.count())

cdef void attach_network() noexcept nogil:
    """The stack (started by engine.init) gets the card, if there is one."""
    cdef uint8_t m[6]
    cdef char ip[16]
    cdef char gw[16]
    cdef netif.NetConfig* c = netif.config()
    if not e1000.present():
        return
    e1000.mac(m)
    netif.attach(m, e1000.transmit, e1000.receive)
    netnames.format_ip(c.ip, ip)
    netnames.format_ip(c.gateway, gw)
    kprintf(b"net: %s/%u gateway %s\n", <uint64_t>ip, netif.prefix_length(), <uint64_t>gw)

cdef void report_network() noexcept nogil:
    """What the stack saw, once, at power-off (tests read the drops here)."""
    cdef netif.NetStats* s = netif.stats()
    cdef int i
    if not netif.up():
        return
    kprintf(b"net: rx %u frames, tx %u frames; dropped:", s.rx_frames, s.tx_frames)
    for i in range(netif.DROP_COUNT):
        if s.drops[i]:
            kprintf(b" %s %u", <uint64_t>netif.drop_name(i), s.drops[i])
    kputs(b"\n")

cdef void kmain_on_stack() noexcept nogil:
    cdef char name[64]
    cdef int status
    devices_init()
    trace.init()
    storage_init()
    engine.init(main_stack_top)
    attach_network()
    if cmdline.get(b"run", name, sizeof(name)) < 0:
        kstr.copy(name, b"demo", sizeof(name))
    status = scenarios.run(name)
    report_network()
    rootfs.unmount()                         # a clean disk mounts next time without replay
    power.power_off(heap_verdict(status))

cdef uint32_t heap_verdict(int status) noexcept nogil:
    """Walk the whole heap before powering off: an overwritten guard zone or
    freed object anywhere fails the boot, whatever the scenario said."""
    cdef heap.HeapStats h
    cdef uint64_t bad
    heap.stats(&h)
    bad = heap.check()
    kprintf(b"heap: walk at power-off: %u objects, %u bytes, %u problems (%u seen earlier)\n",
            h.objects_in_use, h.bytes_in_use, bad, h.corruptions)
    if (bad or h.corruptions) and status == power.EXIT_OK:
        return power.EXIT_FAILED
    return <uint32_t>status

cdef public void kmain(uint64_t bootinfo_phys) noexcept nogil:
    global main_stack_top
    serial.init()
    kprintf(b"\nKWE kernel booting\n")
    if not boot.init(bootinfo_phys):
        panic(b"no valid BootInfo at %p", bootinfo_phys)
    kprintf(b"cmdline: %s\n", <uint64_t>cmdline.line())
    boot.print_memory_map()
    gdt.init()
    traps.init()
    fpu.init()
    memory_init()
    cpu.protect()
    main_stack_top = kstack.alloc(MAIN_STACK_PAGES)
    if main_stack_top == 0:
        panic(b"no memory for the kernel stack")
    hal.call_on_stack(main_stack_top, kmain_on_stack)
