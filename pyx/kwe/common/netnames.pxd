# The names of the network's drop counters (NetStat.drops, by index: the
# reasons kwe.net.netif counts as DROP_*), for the kernel and for programs
# (the shell's `net`), so both say the same word.  docs/net.md lists them.
cdef enum:
    DROP_NAMES = 22

# The name of drop counter i; "?" past DROP_NAMES.
cdef const char* drop_name(int i) noexcept nogil
