# See e1000.pxd.  Register names and bits as Intel's PCI/PCI-X Family of
# Gigabit Ethernet Controllers Software Developer's Manual (8254x) calls them.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset
from kwe.base cimport hal, cmdline
from kwe.base.console cimport kprintf
from kwe.common cimport kstr
from kwe.mm cimport pmm, vmm, kmap
from kwe.dev cimport irq, pci
from kwe.arch.traps cimport TrapFrame

cdef enum:
    VENDOR_INTEL = 0x8086
    DEVICE_82540EM = 0x100E
    REGS_SIZE = 0x20000         # BAR0: 128 KiB of registers
    # registers
    CTRL = 0x0000
    STATUS = 0x0008
    EERD = 0x0014
    ICR = 0x00C0
    IMS = 0x00D0
    IMC = 0x00D8
    RCTL = 0x0100
    TCTL = 0x0400
    TIPG = 0x0410
    RDBAL = 0x2800
    RDBAH = 0x2804
    RDLEN = 0x2808
    RDH = 0x2810
    RDT = 0x2818
    RDTR = 0x2820
    TDBAL = 0x3800
    TDBAH = 0x3804
    TDLEN = 0x3808
    TDH = 0x3810
    TDT = 0x3818
    GPRC = 0x4074
    GPTC = 0x4080
    TPR = 0x40D0
    TPT = 0x40D4
    MTA = 0x5200
    RAL0 = 0x5400
    RAH0 = 0x5404
    # bits
    CTRL_LRST = 0x8
    CTRL_ASDE = 0x20
    CTRL_SLU = 0x40
    CTRL_ILOS = 0x80
    CTRL_RST = 0x4000000
    CTRL_VME = 0x40000000
    STATUS_LU = 0x2
    EERD_START = 0x1
    EERD_DONE = 0x10
    RCTL_EN = 0x2
    RCTL_BAM = 0x8000           # accept broadcast; BSIZE 00 = 2048 bytes, RDMTS 00 = half
    RCTL_SECRC = 0x4000000      # strip the FCS: lengths are the frame's own
    TCTL_EN = 0x2
    TCTL_PSP = 0x8              # pad short frames to 64 bytes
    TCTL_CT = 0x0F << 4         # collision threshold (the manual's value)
    TCTL_COLD = 0x40 << 12      # collision distance, full duplex
    TIPG_COPPER = 10 | 8 << 10 | 6 << 20    # IPGT, IPGR1, IPGR2 for copper 82540EM
    ICR_LSC = 0x04
    ICR_RXDMT0 = 0x10
    ICR_RXO = 0x40
    ICR_RXT0 = 0x80
    IMS_WANTED = ICR_RXT0 | ICR_RXO | ICR_RXDMT0 | ICR_LSC
    RAH_AV = 0x80000000
    DESC_DD = 0x01              # descriptor done (both rings)
    RX_EOP = 0x02
    RX_ERR_MASK = 0x97          # CE, SE, SEQ, CXE, RXE (checksum offload is off)
    TX_EOP = 0x01
    TX_IFCS = 0x02              # the card appends the FCS
    TX_RS = 0x08                # report status: DD comes back
    MTA_ENTRIES = 128
    POLLS = 100000              # bound on waiting for the reset or an EEPROM word
    DESC_SIZE = 16

# Legacy descriptors, as the card reads and writes them (16 bytes each).
cdef struct RxDesc:
    uint64_t addr
    uint16_t length
    uint16_t checksum
    uint8_t status
    uint8_t errors
    uint16_t special

cdef struct TxDesc:
    uint64_t addr
    uint16_t length
    uint8_t cso
    uint8_t cmd
    uint8_t status
    uint8_t css
    uint16_t special

cdef uint64_t regs = 0              # the registers, mapped uncached; 0 without a card
cdef uint64_t map_va = 0, map_pages = 0
cdef bint ready = False
cdef uint8_t mac_addr[6]
cdef uint8_t line = 0               # set in init (0xFF: no IRQ)
cdef uint32_t rx_n = 0, tx_n = 0    # descriptors per ring
cdef uint64_t rx_ring_pa = 0, tx_ring_pa = 0, rx_buf_pa = 0, tx_buf_pa = 0
cdef RxDesc* rxd = NULL
cdef TxDesc* txd = NULL
cdef uint32_t rx_next = 0           # the next descriptor the card hands back
cdef uint32_t tx_tail = 0           # the next descriptor transmit() fills (TDT)
cdef uint32_t tx_clean = 0          # the oldest one not yet seen done
cdef bint rx_skipping = False       # inside a frame spanning descriptors, being dropped
cdef NicStats counters
cdef uint32_t pending = 0           # ICR bits the handler saw, not yet taken
cdef NicNotify notify = NULL

cdef inline uint32_t rd(uint32_t off) noexcept nogil:
    return hal.mmio_read32(regs + off)

cdef inline void wr(uint32_t off, uint32_t v) noexcept nogil:
    hal.mmio_write32(regs + off, v)

cdef void reset() noexcept nogil:
    global regs, map_va, map_pages, ready, line, rx_n, tx_n, rxd, txd
    global rx_ring_pa, tx_ring_pa, rx_buf_pa, tx_buf_pa, rx_next, tx_tail, tx_clean
    global rx_skipping, pending, notify
    regs = map_va = map_pages = 0
    ready, line = False, 0xFF
    rx_n = tx_n = 0
    rxd, txd = NULL, NULL
    rx_ring_pa = tx_ring_pa = rx_buf_pa = tx_buf_pa = 0
    rx_next = tx_tail = tx_clean = 0
    rx_skipping, pending, notify = False, 0, NULL
    memset(&counters, 0, sizeof(NicStats))
    memset(mac_addr, 0, 6)

# ---- configuration ---------------------------------------------------------------
cdef int ring_size(const char* key, uint32_t* out) noexcept nogil:
    """key=N from the command line: a multiple of 8 in [RING_MIN, RING_MAX]."""
    cdef char buf[24]
    cdef long n = cmdline.get(key, buf, sizeof(buf))
    cdef uint64_t v = 0
    out[0] = E1000_RING_DEFAULT
    if n < 0:
        return E1000_OK
    if 0 < n < <long>sizeof(buf) and kstr.parse_u64(buf, <size_t>n, &v) \
            and E1000_RING_MIN <= v <= E1000_RING_MAX and v % 8 == 0:
        out[0] = <uint32_t>v
        return E1000_OK
    kprintf(b"e1000: %s=%s refused: a ring is a multiple of 8 descriptors from %u to %u\n",
            <uint64_t>key, <uint64_t>buf, E1000_RING_MIN, E1000_RING_MAX)
    return E1000_BADCONF

# ---- the registers -----------------------------------------------------------------
cdef void unmap_registers(uint64_t mapped) noexcept nogil:
    global regs, map_va, map_pages
    cdef uint64_t i
    for i in range(mapped):
        vmm.unmap(vmm.kernel_space(), map_va + i * pmm.PAGE_SIZE, NULL)
    if map_va:
        kmap.release(map_va, map_pages)
    regs = map_va = map_pages = 0

cdef int map_registers(const pci.PciDevice* d) noexcept nogil:
    """BAR0 into KMAP, uncached: device registers must not be cached or combined."""
    global regs, map_va, map_pages
    cdef pci.PciBar b
    cdef uint64_t i
    if not pci.bar(d, 0, &b) or b.io or b.size < REGS_SIZE or b.base == 0 \
            or b.base & (pmm.PAGE_SIZE - 1):
        return E1000_BADBAR
    map_pages = REGS_SIZE // pmm.PAGE_SIZE
    map_va = kmap.reserve(map_pages)
    if map_va == 0:
        return E1000_NOMEM
    for i in range(map_pages):
        if vmm.map(vmm.kernel_space(), map_va + i * pmm.PAGE_SIZE, b.base + i * pmm.PAGE_SIZE,
                   vmm.MAP_WRITE | vmm.MAP_NOCACHE | vmm.MAP_GLOBAL) != vmm.VMM_OK:
            unmap_registers(i)
            return E1000_NOMEM
    regs = map_va
    return E1000_OK

cdef int reset_card() noexcept nogil:
    """Global reset, interrupts off, then the link up with speed auto-detected."""
    cdef uint32_t i = 0
    wr(IMC, 0xFFFFFFFFU)
    wr(CTRL, rd(CTRL) | CTRL_RST)
    while rd(CTRL) & CTRL_RST:
        i += 1
        if i == POLLS:
            return E1000_HWERR
    wr(IMC, 0xFFFFFFFFU)
    rd(ICR)
    wr(CTRL, (rd(CTRL) | CTRL_SLU | CTRL_ASDE) & ~<uint32_t>(CTRL_LRST | CTRL_ILOS | CTRL_VME))
    return E1000_OK

cdef bint eeprom_word(uint32_t word, uint16_t* out) noexcept nogil:
    cdef uint32_t v, i
    wr(EERD, EERD_START | word << 8)
    for i in range(POLLS):
        v = rd(EERD)
        if v & EERD_DONE:
            out[0] = <uint16_t>(v >> 16)
            return True
    return False

cdef int read_mac() noexcept nogil:
    """From RAL0/RAH0 when the card loaded them (AV), else from the EEPROM."""
    cdef uint32_t lo = rd(RAL0), hi = rd(RAH0)
    cdef uint16_t w
    cdef int i
    if hi & RAH_AV:
        for i in range(4):
            mac_addr[i] = <uint8_t>(lo >> (8 * i))
        mac_addr[4], mac_addr[5] = <uint8_t>hi, <uint8_t>(hi >> 8)
        return E1000_OK
    for i in range(3):
        if not eeprom_word(i, &w):
            return E1000_HWERR
        mac_addr[2 * i], mac_addr[2 * i + 1] = <uint8_t>w, <uint8_t>(w >> 8)
    return E1000_OK

cdef void set_filters() noexcept nogil:
    """Our MAC in receive address 0; no multicast (the table cleared)."""
    cdef int i
    wr(RAL0, mac_addr[0] | mac_addr[1] << 8 | mac_addr[2] << 16 | <uint32_t>mac_addr[3] << 24)
    wr(RAH0, mac_addr[4] | mac_addr[5] << 8 | RAH_AV)
    for i in range(MTA_ENTRIES):
        wr(MTA + 4 * i, 0)

# ---- the rings ------------------------------------------------------------------------
cdef uint64_t pages_for(uint64_t nbytes) noexcept nogil:
    return (nbytes + pmm.PAGE_SIZE - 1) // pmm.PAGE_SIZE

cdef void free_rings() noexcept nogil:
    global rx_ring_pa, tx_ring_pa, rx_buf_pa, tx_buf_pa, rxd, txd
    if rx_ring_pa:
        pmm.free_pages(rx_ring_pa, pages_for(rx_n * DESC_SIZE))
    if tx_ring_pa:
        pmm.free_pages(tx_ring_pa, pages_for(tx_n * DESC_SIZE))
    if rx_buf_pa:
        pmm.free_pages(rx_buf_pa, pages_for(rx_n * E1000_BUFFER))
    if tx_buf_pa:
        pmm.free_pages(tx_buf_pa, pages_for(tx_n * E1000_BUFFER))
    rx_ring_pa = tx_ring_pa = rx_buf_pa = tx_buf_pa = 0
    rxd, txd = NULL, NULL

cdef int alloc_rings() noexcept nogil:
    """Descriptor rings and their buffers, each physically contiguous."""
    global rx_ring_pa, tx_ring_pa, rx_buf_pa, tx_buf_pa, rxd, txd
    rx_ring_pa = pmm.alloc_zeroed(pages_for(rx_n * DESC_SIZE))
    tx_ring_pa = pmm.alloc_zeroed(pages_for(tx_n * DESC_SIZE))
    rx_buf_pa = pmm.alloc_pages(pages_for(rx_n * E1000_BUFFER))
    tx_buf_pa = pmm.alloc_pages(pages_for(tx_n * E1000_BUFFER))
    if not (rx_ring_pa and tx_ring_pa and rx_buf_pa and tx_buf_pa):
        free_rings()
        return E1000_NOMEM
    rxd = <RxDesc*>hal.phys_to_virt(rx_ring_pa)
    txd = <TxDesc*>hal.phys_to_virt(tx_ring_pa)
    return E1000_OK

cdef void start_tx() noexcept nogil:
    global tx_tail, tx_clean
    cdef uint32_t i
    for i in range(tx_n):
        txd[i].addr = tx_buf_pa + <uint64_t>i * E1000_BUFFER
        txd[i].status = DESC_DD
    wr(TDBAL, <uint32_t>tx_ring_pa)
    wr(TDBAH, <uint32_t>(tx_ring_pa >> 32))
    wr(TDLEN, tx_n * DESC_SIZE)
    wr(TDH, 0)
    wr(TDT, 0)
    tx_tail = tx_clean = 0
    wr(TIPG, TIPG_COPPER)
    wr(TCTL, TCTL_EN | TCTL_PSP | TCTL_CT | TCTL_COLD)

cdef void start_rx() noexcept nogil:
    """Every descriptor but one to the card (RDT = n-1: head == tail means none free)."""
    global rx_next
    cdef uint32_t i
    for i in range(rx_n):
        rxd[i].addr = rx_buf_pa + <uint64_t>i * E1000_BUFFER
        rxd[i].status = 0
    wr(RDBAL, <uint32_t>rx_ring_pa)
    wr(RDBAH, <uint32_t>(rx_ring_pa >> 32))
    wr(RDLEN, rx_n * DESC_SIZE)
    wr(RDH, 0)
    wr(RDT, rx_n - 1)
    wr(RDTR, 0)                     # no receive delay: an interrupt per frame
    rx_next = 0
    wr(RCTL, RCTL_EN | RCTL_BAM | RCTL_SECRC)

# ---- the interrupt --------------------------------------------------------------------
cdef void on_irq(TrapFrame* f) noexcept nogil:
    """Read ICR (which acknowledges), note what it says; nothing else."""
    global pending
    cdef uint32_t icr
    if regs == 0:
        return
    icr = rd(ICR)
    if not (icr & IMS_WANTED):
        return                      # a shared line: not ours (causes we mask cannot interrupt)
    counters.interrupts += 1
    if icr & ICR_RXO:
        counters.rx_overruns += 1
    if icr & ICR_LSC:
        counters.link_changes += 1
    pending |= icr
    if notify != NULL:
        notify(icr)

cdef void start_irq(const pci.PciDevice* d) noexcept nogil:
    global line
    line = d.irq_line
    if d.irq_pin == 0 or line >= 16:
        line = 0xFF                 # nobody routed INTx: receive() still works, polled
        return
    irq.register(line, on_irq)
    pci.disable(d, pci.PCI_CMD_INTX_OFF)
    wr(IMS, IMS_WANTED)             # a frame already in the ring interrupts now (ICR kept)

cdef uint32_t take_events() noexcept nogil:
    global pending
    cdef bint was_on = hal.irq_enabled()
    cdef uint32_t ev
    hal.irq_disable()
    ev = pending
    pending = 0
    if was_on:
        hal.irq_enable()
    return ev

cdef void set_notify(NicNotify fn) noexcept nogil:
    global notify
    notify = fn

# ---- bring-up ----------------------------------------------------------------------------
cdef int bring_up(const pci.PciDevice* d) noexcept nogil:
    cdef int err = map_registers(d)
    if err == E1000_OK:
        err = reset_card()
    if err == E1000_OK:
        err = read_mac()
    if err == E1000_OK:
        err = alloc_rings()
    if err != E1000_OK:
        return err
    set_filters()
    start_tx()
    start_rx()
    start_irq(d)
    return E1000_OK

cdef int init() noexcept nogil:
    global ready
    cdef const pci.PciDevice* d
    cdef int err
    reset()
    d = pci.find(VENDOR_INTEL, DEVICE_82540EM)
    if d == NULL:
        return E1000_ABSENT
    err = ring_size(b"e1000_rx", &rx_n)
    if err == E1000_OK:
        err = ring_size(b"e1000_tx", &tx_n)
    if err != E1000_OK:
        return err
    pci.enable(d, pci.PCI_CMD_MEMORY | pci.PCI_CMD_MASTER)
    err = bring_up(d)
    if err != E1000_OK:
        free_rings()
        unmap_registers(map_pages)
        pci.disable(d, pci.PCI_CMD_MEMORY | pci.PCI_CMD_MASTER)
        memset(mac_addr, 0, 6)
        return err
    ready = True
    return E1000_OK

cdef const char* error_name(int err) noexcept nogil:
    if err == E1000_OK: return b"ok"
    if err == E1000_ABSENT: return b"no network card"
    if err == E1000_NOMEM: return b"out of memory for the rings"
    if err == E1000_BADCONF: return b"bad ring size on the command line"
    if err == E1000_BADBAR: return b"BAR0 is not the card's registers"
    if err == E1000_HWERR: return b"the card did not answer (reset or EEPROM)"
    if err == E1000_FULL: return b"transmit ring full"
    if err == E1000_RANGE: return b"frame length out of range (14..1514 bytes)"
    if err == E1000_DOWN: return b"no card up"
    return b"unknown e1000 error"

cdef bint present() noexcept nogil:
    return ready

cdef void mac(uint8_t* out) noexcept nogil:
    memcpy(out, mac_addr, 6)

cdef bint link_up() noexcept nogil:
    return ready and (rd(STATUS) & STATUS_LU) != 0

cdef uint8_t irq_line() noexcept nogil:
    return line if ready else 0xFF

cdef uint32_t rx_ring_size() noexcept nogil:
    return rx_n if ready else 0

cdef uint32_t tx_ring_size() noexcept nogil:
    return tx_n if ready else 0

cdef uint64_t interrupts() noexcept nogil:
    return counters.interrupts

# ---- transmit ----------------------------------------------------------------------------
cdef void reclaim() noexcept nogil:
    """Count what the card has sent (DD back) and free those descriptors."""
    global tx_clean
    while tx_clean != tx_tail:
        hal.barrier()
        if not (txd[tx_clean].status & DESC_DD):
            break
        counters.tx_frames += 1
        counters.tx_bytes += txd[tx_clean].length
        tx_clean = (tx_clean + 1) % tx_n

cdef int transmit(const uint8_t* frame, uint32_t n) noexcept nogil:
    global tx_tail
    cdef TxDesc* d
    if not ready:
        return E1000_DOWN
    if n < E1000_FRAME_MIN or n > E1000_FRAME_MAX:
        return E1000_RANGE
    reclaim()
    if (tx_tail + 1) % tx_n == tx_clean:    # one slot stays empty: TDT == TDH means idle
        counters.tx_full += 1
        return E1000_FULL
    memcpy(hal.phys_to_virt(tx_buf_pa + <uint64_t>tx_tail * E1000_BUFFER), frame, n)
    d = &txd[tx_tail]
    d.addr = tx_buf_pa + <uint64_t>tx_tail * E1000_BUFFER
    d.length = <uint16_t>n
    d.cso, d.css, d.special = 0, 0, 0
    d.cmd = TX_EOP | TX_IFCS | TX_RS
    d.status = 0
    tx_tail = (tx_tail + 1) % tx_n
    wr(TDT, tx_tail)                # after the descriptor: the write is ordered behind it
    return E1000_OK

# ---- receive -----------------------------------------------------------------------------
cdef int drop(uint64_t* why) noexcept nogil:
    why[0] += 1
    counters.rx_drops += 1
    return 0

cdef int take(uint32_t i, uint8_t* buf, uint32_t cap) noexcept nogil:
    """Descriptor i's frame into buf: its length, or 0 when it is dropped."""
    global rx_skipping
    cdef RxDesc* d = &rxd[i]
    cdef uint32_t n
    hal.barrier()                   # DD was seen: now the rest of what the card wrote
    n = d.length
    if rx_skipping:                 # the rest of a frame already dropped
        rx_skipping = not (d.status & RX_EOP)
        return 0
    if not (d.status & RX_EOP):
        rx_skipping = True
        return drop(&counters.rx_fragments)
    if d.errors & RX_ERR_MASK:
        return drop(&counters.rx_errors)
    if n < E1000_FRAME_MIN or n > E1000_RX_MAX or n > cap:
        return drop(&counters.rx_oversize)
    memcpy(buf, hal.phys_to_virt(rx_buf_pa + <uint64_t>i * E1000_BUFFER), n)
    counters.rx_frames += 1
    counters.rx_bytes += n
    return <int>n

cdef void give_back() noexcept nogil:
    """The descriptor at rx_next back to the card: it becomes the tail."""
    global rx_next
    rxd[rx_next].status = 0
    wr(RDT, rx_next)
    rx_next = (rx_next + 1) % rx_n

cdef int receive(uint8_t* buf, uint32_t cap) noexcept nogil:
    cdef uint32_t looked
    cdef int n
    if not ready:
        return 0
    for looked in range(rx_n):
        hal.barrier()
        if not (rxd[rx_next].status & DESC_DD):
            return 0
        n = take(rx_next, buf, cap)
        give_back()
        if n > 0:
            return n
    return 0

cdef bint rx_ready() noexcept nogil:
    if not ready:
        return False
    hal.barrier()
    return (rxd[rx_next].status & DESC_DD) != 0

cdef void stats(NicStats* out) noexcept nogil:
    if ready:
        reclaim()
        counters.hw_rx_good += rd(GPRC)
        counters.hw_tx_good += rd(GPTC)
        counters.hw_rx_total += rd(TPR)
        counters.hw_tx_total += rd(TPT)
    out[0] = counters

# ---- hosted helpers --------------------------------------------------------------------
def py_reset():
    reset()

def py_init():
    return init()

def py_error_name(int err):
    return error_name(err).decode()

def py_present():
    return present()

def py_mac():
    cdef uint8_t m[6]
    mac(m)
    return bytes(m[:6])

def py_link_up():
    return link_up()

def py_irq_line():
    return irq_line()

def py_rings():
    """(rx descriptors, tx descriptors, physical addresses of both rings and buffers)."""
    return {"rx": rx_ring_size(), "tx": tx_ring_size(), "rx_ring": rx_ring_pa,
            "tx_ring": tx_ring_pa, "rx_buf": rx_buf_pa, "tx_buf": tx_buf_pa,
            "regs": regs, "rx_next": rx_next, "tx_tail": tx_tail, "tx_clean": tx_clean}

def py_transmit(bytes frame):
    return transmit(<const uint8_t*><const char*>frame, len(frame))

def py_receive(uint32_t cap=2048):
    """The next good frame (bytes), or None."""
    cdef uint8_t buf[4096]
    cdef int n
    if cap > sizeof(buf):
        cap = sizeof(buf)
    n = receive(buf, cap)
    return bytes(buf[:n]) if n > 0 else None

def py_rx_ready():
    return rx_ready()

def py_stats():
    cdef NicStats s
    stats(&s)
    return s

def py_interrupts():
    return interrupts()

def py_take_events():
    return take_events()
