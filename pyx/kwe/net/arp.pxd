# ARP (RFC 826): IPv4 next hops to MAC addresses, with a cache whose
# entries expire (arp_ttl= ms, default 60000) and whose size is arp_cache=
# entries (default 64; when full the entry used longest ago goes).
#
# A packet to a next hop not yet resolved waits in its entry (at most
# QUEUE_MAX, the oldest dropped first) while requests go out once a second;
# after REQUESTS unanswered requests the packets are dropped and counted
# (DROP_ARP_UNRESOLVED).  The waiting copies are the kernel's, bounded by
# the cache size.
from libc.stdint cimport uint8_t, uint32_t, uint64_t

cdef enum:
    QUEUE_MAX = 4
    REQUESTS = 3
    RETRY_MS = 1000

cdef void init() noexcept nogil     # once per machine: boot, or a hosted test's fresh one
cdef void input(const uint8_t* p, uint32_t n) noexcept nogil
# Send an IPv4 packet to next_hop (on our link): now, or once it resolves.
cdef int send_ipv4(uint32_t next_hop, const uint8_t* packet, uint32_t n) noexcept nogil
# The MAC cached for ip, if any and not expired.
cdef bint lookup(uint32_t ip, uint8_t* mac) noexcept nogil
cdef void tick(uint64_t now) noexcept nogil
# Drop every packet still waiting for an answer (counted): see netif.quiesce.
cdef void drop_waiting() noexcept nogil
cdef uint32_t entries() noexcept nogil
