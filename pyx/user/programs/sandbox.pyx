# sandbox: a process confined by capabilities (docs/security.md) tries what
# the safety audit (issue 11 #4) did to the system's files, each as a direct
# event and as a workflow node, and prints every answer:
#   "sandbox: CHECK got E_..."
# Steps: (1) it gives up CAP_SYSTEM and all but reading of system files;
# (2) then also reading them; (3) then the CRC32 opcode; a child it starts
# asking for everything reports what it got.  `sandbox report` is that child.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.string cimport memset
from user cimport sdk, wf, fs
from kwe.common cimport abi, kstr
from kwe.common.abi cimport CapSet, Completion, EventSlot

cdef wf.WfNode nodes[4]
cdef uint8_t data[64]
cdef uint8_t blob[1024]
cdef int node_status = 0

cdef void report(const char* what, int64_t got) noexcept nogil:
    sdk.printf(b"sandbox: %s got %e\n", <uint64_t>what,
               <uint64_t>(got if got < 0 else 0))

cdef void on_node(Completion* c) noexcept nogil:
    global node_status
    node_status = c.status

cdef int64_t as_node(uint32_t id, uint16_t op, uint64_t a0, const char* input) noexcept nogil:
    """One-node workflow doing op: the node's status (or registration's)."""
    global node_status
    cdef wf.Graph g
    cdef Completion s
    cdef int n, err
    wf.init(&g, nodes, 4, data, sizeof(data))
    n = wf.add(&g, op)
    wf.args(&g, n, a0, 0)
    if input != NULL:
        wf.input_data(&g, n, input, <uint32_t>kstr.length(input))
    wf.emit(&g, n)
    err = wf.register(id, blob, wf.encode(&g, blob, sizeof(blob)))
    if err != abi.E_OK:
        return err
    node_status = 1
    wf.run(id, &s, on_node)
    wf.unregister(id)
    return node_status

cdef uint64_t program_id(const char* name) noexcept nogil:
    cdef uint64_t ids[2]
    cdef char q[64]
    kstr.copy(q, b"type=program AND name=", sizeof(q))
    kstr.copy(q + 22, name, sizeof(q) - 22)
    return ids[0] if fs.query(q, ids, 2) == 1 else 0

cdef int64_t write_to(uint64_t id) noexcept nogil:
    cdef int64_t f = fs.open(id)
    cdef int64_t r
    if f < 0:
        return f
    r = fs.write(<uint64_t>f, b"pwned", 5, False)
    fs.close(<uint64_t>f)
    return r

cdef int64_t create_of_class(uint64_t label) noexcept nogil:
    cdef Completion r
    cdef EventSlot* e = sdk.event(abi.OP_FS_CREATE)
    e.h.arg[0] = label
    sdk.set_input(e, b"type=note", 9)
    sdk.call(e, &r)
    return r.status if r.status < 0 else <int64_t>r.value

cdef void system_files_read_only(uint64_t init) noexcept nogil:
    cdef int64_t mine
    report(b"write init", write_to(init))
    report(b"truncate init", fs.truncate(init, 0))
    report(b"delete init", fs.delete(init))
    report(b"tag init", fs.tag(init, b"junk"))
    report(b"untag init name=", fs.untag(init, b"name=init"))
    report(b"create type=program", fs.create(b"type=program name=evil"))
    report(b"create a system file", create_of_class(abi.FILE_SYSTEM))
    report(b"create of no class", create_of_class(200))
    report(b"node delete init", as_node(1, abi.OP_FS_DELETE, init, NULL))
    report(b"node truncate init", as_node(2, abi.OP_FS_TRUNCATE, init, NULL))
    report(b"node tag init", as_node(3, abi.OP_FS_TAG, init, b"junk"))
    report(b"node untag init name=", as_node(7, abi.OP_FS_UNTAG, init, b"name=init"))
    report(b"node create type=program", as_node(8, abi.OP_FS_CREATE, 0, b"type=program name=evil"))
    report(b"node create a system file", as_node(9, abi.OP_FS_CREATE, abi.FILE_SYSTEM, b"type=note"))
    mine = fs.create(b"type=note owner=sandbox")
    report(b"create a user file", mine)
    report(b"tag own name=", fs.tag(<uint64_t>mine, b"name=mine"))
    report(b"node tag own crc32=", as_node(4, abi.OP_FS_TAG, <uint64_t>mine, b"crc32=00000000"))
    report(b"tag own color=red", fs.tag(<uint64_t>mine, b"color=red"))
    report(b"write own", write_to(<uint64_t>mine))
    report(b"delete own", fs.delete(<uint64_t>mine))

cdef int64_t get_file(uint64_t id) noexcept nogil:
    cdef Completion r
    cdef EventSlot* e = sdk.event(abi.OP_FS_GET)
    e.h.arg[0] = id
    return sdk.call(e, &r)

cdef void no_system_reads(uint64_t init) noexcept nogil:
    cdef CapSet c
    cdef uint64_t ids[64]
    cdef abi.FileStat st
    sdk.caps_get(&c)
    c.files &= ~(<uint64_t>0xFF << (8 * abi.FILE_SYSTEM))
    sdk.caps_limit(&c)
    sdk.printf(b"sandbox: query type=program finds %d\n", fs.query(b"type=program", ids, 64))
    report(b"stat init", fs.stat(init, &st))
    report(b"open init", fs.open(init))
    report(b"node stat init", as_node(5, abi.OP_FS_STAT, init, NULL))
    report(b"get init", get_file(init))
    report(b"node get init", as_node(10, abi.OP_FS_GET, init, NULL))

cdef void no_crc(uint64_t unused) noexcept nogil:
    cdef CapSet c
    cdef Completion r
    cdef EventSlot* e
    sdk.caps_get(&c)
    c.ops[abi.DECK_OPERATIONS] &= ~(<uint64_t>1 << (abi.OP_CRC32 & 63))
    sdk.caps_limit(&c)
    e = sdk.event(abi.OP_CRC32)
    sdk.set_input(e, b"x", 1)
    report(b"crc32", sdk.call(e, &r))
    report(b"node crc32", as_node(6, abi.OP_CRC32, 0, b"x"))
    e = sdk.event(abi.OP_DJB2)
    sdk.set_input(e, b"x", 1)
    report(b"djb2", sdk.call(e, &r))

cdef int child() noexcept nogil:
    cdef CapSet c
    sdk.caps_get(&c)
    sdk.printf(b"sandbox child: flags %lx files %lx ops1 %lx\n", c.flags, c.files, c.ops[abi.DECK_OPERATIONS])
    return 0

cdef int flood(uint64_t n) noexcept nogil:
    """n refused truncations in a row: the kernel logs a few, counts all."""
    cdef uint64_t init = program_id(b"init"), i, refused = 0, t0
    cdef CapSet c
    sdk.caps_sandbox(&c)
    sdk.caps_limit(&c)
    t0 = sdk.now_ms()
    for i in range(n):
        if fs.truncate(init, 0) == abi.E_PERM:
            refused += 1
    sdk.printf(b"sandbox flood: %lu of %lu refused in %lu ms\n", refused, n, sdk.now_ms() - t0)
    return 0

cdef public int umain() noexcept nogil:
    cdef char what[16]
    cdef CapSet c, everything
    cdef uint64_t init = program_id(b"init")
    cdef int64_t pid
    cdef int i
    if sdk.arg(0, what, sizeof(what)) > 0 and kstr.equal(what, b"report"):
        return child()
    if sdk.arg(0, what, sizeof(what)) > 0 and kstr.equal(what, b"flood"):
        return flood(sdk.arg_u64(1, 1000))
    if init == 0:
        sdk.puts(b"sandbox: no init program to try\n")
        return 1
    sdk.caps_sandbox(&c)
    sdk.caps_limit(&c)
    sdk.caps_get(&c)
    sdk.printf(b"sandbox: confined: flags %lx files %lx\n", c.flags, c.files)
    system_files_read_only(init)
    no_system_reads(init)
    no_crc(0)
    sdk.caps_get(&c)
    memset(&everything, 0, sizeof(CapSet))
    everything.flags = <uint64_t>0xFFFFFFFFFFFFFFFFU
    everything.files = <uint64_t>0xFFFFFFFFFFFFFFFFU
    for i in range(abi.DECK_COUNT):
        everything.ops[i] = <uint64_t>0xFFFFFFFFFFFFFFFFU
    pid = sdk.spawn_with(b"sandbox report", 0, 0, 0, &everything)
    sdk.printf(b"sandbox: parent: flags %lx files %lx ops1 %lx; child %ld\n", c.flags, c.files,
               c.ops[abi.DECK_OPERATIONS], <uint64_t>pid)
    return 0
