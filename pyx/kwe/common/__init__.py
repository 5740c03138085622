"""common: what the kernel and user programs share, and the only part user programs link.

Owns the ABI (abi.pxd: rings, events, results, workflow graphs, status codes), the
names and meanings of the status codes (errors, generated from abi.pxd's comments), the
SPSC ring code both sides run (ring), formatting (format, with %e for a status code),
C-string helpers (kstr), the tag grammar TagFS, queries, capabilities and the host tool
share (tags), the Operations deck's pure computations (operations),
intrusive doubly linked lists (list), the network's shared words -- drop counter names and
IPv4 addresses as text (netnames) --, HTTP/1.1 as httpd and the Operations deck speak it
(http: request heads parsed as hostile input, response heads) and the workflow language
(wflang: user programs and the host tool only).
May use: nothing else in kwe (no hal: it runs in ring 3 too).
"""
