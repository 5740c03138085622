# The network's words that the kernel and programs (the shell's `net`)
# both say: the drop counters' names (NetStat.drops, by index: the reasons
# kwe.net.netif counts as DROP_*; docs/net.md lists them) and IPv4
# addresses as text.  Addresses are host-order (10.0.2.15 is 0x0A00020F).
from libc.stdint cimport uint32_t

cdef enum:
    DROP_NAMES = 22

# The name of drop counter i; "?" past DROP_NAMES.
cdef const char* drop_name(int i) noexcept nogil
# "a.b.c.d" (exactly four decimal parts 0..255, nothing after) into *out; False if not.
cdef bint parse_ip(const char* s, uint32_t* out) noexcept nogil
# ip as "a.b.c.d" with its NUL: out needs 16 bytes.
cdef void format_ip(uint32_t ip, char* out) noexcept nogil
# The prefix length of a netmask (its leading one bits).
cdef uint32_t prefix_length(uint32_t mask) noexcept nogil
