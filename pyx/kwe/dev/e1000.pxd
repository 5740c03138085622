# Intel 82540EM ("e1000", QEMU's -device e1000): the network card's
# driver.  One card, found on PCI; its registers (BAR0) mapped uncached in
# the kernel's KMAP region; one receive and one transmit ring of legacy
# descriptors, each with 2048-byte buffers, all in physical pages from the
# PMM (the card reads and writes them by DMA).
#
# Receiving is interrupt-driven: the card interrupts on a received frame
# (RXT0), a receive overrun (RXO), the free descriptors running low (RXDMT0)
# and a link change (LSC).  The handler only reads ICR (which acknowledges)
# and records what it said; receive() and rx_ready() are called outside the
# interrupt, by whoever waits for frames (take_events() tells them).
#
# Not for interrupt context, and not reentrant: init, transmit, receive and
# stats belong to one caller at a time (the kernel runs on one CPU and does
# not preempt itself); the interrupt handler touches none of their state.
from libc.stdint cimport uint8_t, uint32_t, uint64_t

cdef enum:
    E1000_OK = 0
    E1000_ABSENT = -1           # no 82540EM on PCI: not an error, most machines have none
    E1000_NOMEM = -2            # no memory for the rings (or the register mapping)
    E1000_BADCONF = -3          # e1000_rx= / e1000_tx= refused (the line printed says which)
    E1000_BADBAR = -4           # BAR0 is not a memory BAR the size of the registers
    E1000_HWERR = -5            # the card did not finish its reset or an EEPROM read
    E1000_FULL = -6             # transmit: every descriptor is still the card's (counted)
    E1000_RANGE = -7            # transmit: fewer than 14 or more than 1514 bytes
    E1000_DOWN = -8             # transmit before init() succeeded

    E1000_FRAME_MIN = 14        # an Ethernet header
    E1000_FRAME_MAX = 1514      # what transmit() takes: header + 1500 bytes, no FCS
    E1000_RX_MAX = 1518         # the longest frame receive() hands on (a VLAN tag's 4 more)
    E1000_BUFFER = 2048         # bytes per descriptor buffer (RCTL.BSIZE)
    E1000_RING_MIN = 8
    E1000_RING_MAX = 4096       # descriptors; ring sizes are multiples of 8
    E1000_RING_DEFAULT = 256

    # Interrupt causes (ICR bits) as take_events() returns them.
    E1000_EV_TX_DONE = 0x01     # TXDW: a transmit descriptor written back
    E1000_EV_LINK = 0x04        # LSC: link status changed
    E1000_EV_RX_LOW = 0x10      # RXDMT0: free receive descriptors below half
    E1000_EV_RX_OVERRUN = 0x40  # RXO: a frame arrived with no free descriptor (lost)
    E1000_EV_RX = 0x80          # RXT0: a frame is in the ring

cdef struct NicStats:
    uint64_t rx_frames          # good frames receive() handed on
    uint64_t rx_bytes
    uint64_t tx_frames          # frames the card reported sent (descriptor done)
    uint64_t tx_bytes
    uint64_t tx_full            # transmit() refused: the ring was full
    uint64_t rx_drops           # frames the driver dropped, never handed on: the three below
    uint64_t rx_errors          #   the card marked the descriptor with an error (CRC, symbol, ...)
    uint64_t rx_fragments       #   spanning several descriptors (no EOP on the first)
    uint64_t rx_oversize        #   longer than E1000_RX_MAX, shorter than 14, or than receive()'s cap
    uint64_t rx_overruns        # interrupts reporting RXO (each may stand for several lost frames)
    uint64_t interrupts         # IRQs that were the card's (ICR has a cause we unmask)
    uint64_t link_changes       # LSC interrupts
    uint64_t hw_rx_good         # the card's own counters, accumulated (they clear on read):
    uint64_t hw_tx_good         #   GPRC, GPTC, TPR, TPT
    uint64_t hw_rx_total
    uint64_t hw_tx_total

# Find the card and bring it up: reset, MAC, filters, both rings, the IRQ.
# Ring sizes from the kernel command line (e1000_rx=N e1000_tx=N), checked
# before anything is allocated.  On any error nothing stays allocated.
cdef int init() noexcept nogil
cdef const char* error_name(int err) noexcept nogil
cdef bint present() noexcept nogil                  # init() succeeded
cdef void mac(uint8_t* out) noexcept nogil          # 6 bytes (zero without a card)
cdef bint link_up() noexcept nogil                  # STATUS.LU, read now
cdef uint8_t irq_line() noexcept nogil              # 0xFF: none (the card is then polled)
cdef uint32_t rx_ring_size() noexcept nogil         # descriptors, 0 without a card
cdef uint32_t tx_ring_size() noexcept nogil

# Copy a frame (destination MAC first, no FCS: the card appends it) into the
# next transmit descriptor and hand it to the card.  E1000_OK, E1000_FULL,
# E1000_RANGE, E1000_DOWN.
cdef int transmit(const uint8_t* frame, uint32_t n) noexcept nogil
# The next good frame, copied into buf: its length, 0 when none is waiting.
# Descriptors with errors, fragments and frames too long (or longer than
# cap) are recycled and counted on the way, never handed on.  Every
# descriptor looked at goes back to the card.
cdef int receive(uint8_t* buf, uint32_t cap) noexcept nogil
# A descriptor is waiting (its DD bit): receive() will not block.  It may be
# one receive() drops, so receive() can still return 0.
cdef bint rx_ready() noexcept nogil
cdef void stats(NicStats* out) noexcept nogil
cdef uint64_t interrupts() noexcept nogil

# The interrupt side.  take_events(): the ICR bits (E1000_EV_*) the handler
# saw since the last call, cleared by the call.  set_notify(fn): fn(icr)
# is called from the interrupt handler after each of the card's interrupts;
# it must only note or wake (set a flag, wake a waiter), never call the
# functions above.  NULL removes it.
ctypedef void (*NicNotify)(uint32_t icr) noexcept nogil
cdef uint32_t take_events() noexcept nogil
cdef void set_notify(NicNotify fn) noexcept nogil
# Forget the card (hosted tests: a new simulated machine).  Frees nothing.
cdef void reset() noexcept nogil
