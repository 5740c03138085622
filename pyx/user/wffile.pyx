# See wffile.pxd.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy
from user cimport sdk, fs, wf
from kwe.common cimport abi, kstr, wflang, errors, tags
from kwe.common.abi cimport Completion
from kwe.common.wflang cimport Wfl, WflNode

cdef enum:
    DATA_MAX = 65536
    BLOB_MAX = 16 + 2 * NODES_MAX * 64 + 2 * (wflang.WFL_PARENTS_MAX + 1) * NODES_MAX + DATA_MAX
    WF_ID = 0x57460000          # the id runs are registered under (one at a time)
    IDS_MAX = 64
    NAME_MAX = 100              # of a workflow's name tag
    WFL_WHAT = 5 + wflang.WFL_NAME_MAX

cdef uint8_t text[TEXT_MAX]
cdef WflNode nodes[NODES_MAX]
cdef uint8_t data[DATA_MAX]
cdef uint8_t blob[BLOB_MAX]
cdef uint8_t outs[NODES_MAX * SHOW_MAX]
cdef uint64_t file_ids[NODES_MAX]
cdef uint64_t ids[IDS_MAX]
cdef Wfl w
cdef char title[NAME_MAX + 1]         # the workflow's name= (or what was typed), for the report
cdef uint64_t started_ms = 0
cdef uint32_t tally[3]                  # the named nodes: done, failed, cancelled

# ---- finding and reading ------------------------------------------------------------------
cdef int64_t one_file(const char* q, const char* what) noexcept nogil:
    """The id of the one file q matches, or E_NOENT / E_AMBIGUOUS (said)."""
    cdef int64_t n = fs.query(q, ids, IDS_MAX)
    if n < 0:
        sdk.printf(b"wf: %s: %e\n", <uint64_t>what, n)
        return n
    if n == 0:
        sdk.printf(b"wf: %s: no file matches `%s` (wf list shows the workflows)\n", <uint64_t>what, <uint64_t>q)
    elif n > 1:
        sdk.printf(b"wf: %s: %u files match `%s`, one must\n", <uint64_t>what, n, <uint64_t>q)
    if n != 1:
        return abi.E_NOENT if n == 0 else abi.E_AMBIGUOUS
    return <int64_t>ids[0]

cdef int64_t find(const char* name) noexcept nogil:
    """A file id as given, or the one workflow file called name."""
    cdef char q[NAME_MAX + 32]
    cdef uint64_t id
    cdef size_t n
    if kstr.parse_u64(name, kstr.length(name), &id):
        return <int64_t>id
    if kstr.length(name) > NAME_MAX:
        sdk.printf(b"wf: a workflow's name is at most %u bytes\n", NAME_MAX)
        return abi.E_RANGE
    n = kstr.copy(q, b"type=workflow AND name=", sizeof(q))
    kstr.copy(q + n, name, sizeof(q) - n)
    return one_file(q, name)

cdef int64_t read_all(uint64_t id) noexcept nogil:
    """The file into text; its length, or an E_* code (said)."""
    cdef int64_t fd = fs.open(id), n = 1, total = 0
    cdef uint8_t more
    if fd < 0:
        sdk.printf(b"wf: file %u: %e\n", id, fd)
        return fd
    while n > 0 and total < TEXT_MAX:
        n = fs.read(<uint64_t>fd, text + total, <uint32_t>(TEXT_MAX - total))
        total += n if n > 0 else 0
    if n > 0:
        n = fs.read(<uint64_t>fd, &more, 1)     # exactly TEXT_MAX, or more?
        n = abi.E_TOOBIG if n > 0 else n
    fs.close(<uint64_t>fd)
    if n < 0:
        sdk.printf(b"wf: file %u: %e (at most %u bytes)\n", id, n, TEXT_MAX)
        return n
    return total

cdef void name_title(uint64_t id, const char* typed) noexcept nogil:
    """title = the file's name= tag, else what was typed."""
    cdef char t[512]
    cdef int64_t n = fs.tags(id, t, sizeof(t))
    cdef long at = tags.value_of(t, <size_t>n, b"name") if 0 < n < <int64_t>sizeof(t) else -1
    cdef size_t k = 0
    kstr.copy(title, typed, sizeof(title))
    if at < 0:
        return
    while at + k < <size_t>n and t[at + k] != c'\n' and k < NAME_MAX:
        title[k] = t[at + k]
        k += 1
    title[k] = 0

cdef int load(const char* name) noexcept nogil:
    """Find, read and parse the workflow; E_OK or the reason (said)."""
    cdef int64_t id = find(name), n
    cdef int r
    if id < 0:
        return <int>id
    name_title(<uint64_t>id, name)
    n = read_all(<uint64_t>id)
    if n < 0:
        return <int>n
    wflang.init(&w, nodes, NODES_MAX, data, DATA_MAX)
    r = wflang.parse(&w, text, <uint64_t>n)
    if r != abi.E_OK:
        sdk.printf(b"wf: %s:%u:%u: %s\n", <uint64_t>title, w.line, w.col, <uint64_t>w.msg)
    return r

# ---- running ----------------------------------------------------------------------------------
cdef int resolve_files() noexcept nogil:
    """Each `file "QUERY"` input: the id of the one file it names."""
    cdef char q[512]
    cdef char what[WFL_WHAT]
    cdef uint32_t i, k = 0
    cdef int64_t id
    for i in range(w.n):
        if nodes[i].input != wflang.WFL_IN_FILE:
            continue
        if nodes[i].data_len >= sizeof(q):
            sdk.printf(b"wf: node %s: the query is more than %u bytes\n", <uint64_t>nodes[i].name, sizeof(q) - 1)
            return abi.E_RANGE
        memcpy(q, data + nodes[i].data_off, nodes[i].data_len)
        q[nodes[i].data_len] = 0
        kstr.copy(what, b"node ", sizeof(what))
        kstr.copy(what + 5, nodes[i].name, sizeof(what) - 5)
        id = one_file(q, what)
        if id < 0:
            return <int>id
        file_ids[k] = <uint64_t>id
        k += 1
    return abi.E_OK

cdef void put_output(uint8_t* out, uint32_t length) noexcept nogil:
    """Up to SHOW_MAX bytes: as text if they are printable, else in hex."""
    cdef uint32_t n = length if length < SHOW_MAX else SHOW_MAX, i
    cdef bint printable = True
    cdef char s[2 * SHOW_MAX + 1]
    cdef const char* digits = b"0123456789abcdef"
    for i in range(n):
        printable = printable and 0x20 <= out[i] <= 0x7E and out[i] != c'"'
    if length == 0:
        sdk.puts(b"no output\n")
        return
    for i in range(n):
        if printable:
            s[i] = <char>out[i]
        else:
            s[2 * i], s[2 * i + 1] = digits[out[i] >> 4], digits[out[i] & 15]
    s[n if printable else 2 * n] = 0
    if printable:
        sdk.printf(b"\"%s\"", <uint64_t>s)
    else:
        sdk.puts(s)
    if length > n:
        sdk.puts(b"...")
    sdk.printf(b" (%u bytes)\n", length)

cdef void on_node(Completion* r) noexcept nogil:
    cdef const char* name = b"?"
    cdef const char* status = errors.name(r.status)
    if r.node < w.n:
        name = nodes[r.node].name
    if status == NULL:
        status = b"?"
    tally[0 if r.status == abi.E_OK else 2 if r.status == abi.E_CANCELLED else 1] += 1
    sdk.printf(b"  %-12s %-12s attempts %u  %5u ms  value 0x%x  ", <uint64_t>name,
               <uint64_t>status, r.attempts, sdk.now_ms() - started_ms,
               r.value)
    if r.status == abi.E_OK and r.node < w.n:
        put_output(outs + r.node * SHOW_MAX, r.length)
    else:
        sdk.puts(b"no output\n")

cdef const char* plural(uint32_t n) noexcept nogil:
    if n == 1:
        return b""
    return b"s"

cdef void summary(const char* name, int status, Completion* s) noexcept nogil:
    cdef uint32_t reads = wflang.lowered_nodes(&w) - w.n
    sdk.printf(b"wf %s: %e; %u done, %u failed, %u cancelled in %u ms", <uint64_t>name, status,
               tally[0], tally[1], tally[2], sdk.now_ms() - started_ms)
    if reads:
        sdk.printf(b" (and %u file read%s: %u failed)", reads, <uint64_t>plural(reads), sdk.run_failed(s) - tally[1])
    sdk.puts(b"\n")
    if status == abi.E_OK:
        return
    if s.node < w.n:
        sdk.printf(b"wf %s: first failure: node %s\n", <uint64_t>name, <uint64_t>nodes[s.node].name)
    elif s.node < wflang.lowered_nodes(&w):
        sdk.printf(b"wf %s: first failure: reading a file input\n", <uint64_t>name)

cdef int run(const char* name) noexcept nogil:
    global started_ms
    cdef Completion s
    cdef uint64_t n
    cdef int r = load(name)
    r = resolve_files() if r == abi.E_OK else r
    if r != abi.E_OK:
        return r
    n = wflang.lower(&w, file_ids, outs, SHOW_MAX, blob, BLOB_MAX)
    r = wf.register(WF_ID, blob, n) if n else abi.E_TOOBIG
    if r != abi.E_OK:
        sdk.printf(b"wf: %s: the kernel refused the graph: %e\n", <uint64_t>title, r)
        return r
    started_ms = sdk.now_ms()
    tally[0], tally[1], tally[2] = 0, 0, 0
    sdk.printf(b"wf %s: %u nodes\n", <uint64_t>title, w.n)
    r = wf.run(WF_ID, &s, on_node)
    summary(title, r, &s)
    wf.unregister(WF_ID)
    return r

# ---- showing ----------------------------------------------------------------------------------
cdef void show_node(uint32_t i) noexcept nogil:
    cdef WflNode* nd = &nodes[i]
    cdef uint32_t k, c
    cdef const char* sep
    sdk.printf(b"  %-12s %-12s", <uint64_t>nd.name, <uint64_t>wflang.op_name(nd.opcode))
    if nd.input == wflang.WFL_IN_DATA:
        sdk.printf(b" data (%u bytes)", nd.data_len)
    elif nd.input == wflang.WFL_IN_FILE:
        sdk.puts(b" file (a query)")
    if nd.nargs:
        sdk.printf(b" args %u", nd.args[0])
    if nd.nargs == 2:
        sdk.printf(b" %u", nd.args[1])
    if nd.retries:
        sdk.printf(b" retries %u backoff %u ms", nd.retries, nd.backoff_ms)
    for k in range(nd.nfrom + nd.nafter):
        sep = b", %s"
        if k == 0:
            sep = b" <- %s"
        sdk.printf(sep, <uint64_t>nodes[nd.parents[k]].name)
    c = 0
    for k in range(i + 1, w.n):                 # children come after: names refer back only
        if waits_for(&nodes[k], i):
            sep = b", %s"
            if c == 0:
                sep = b" -> %s"
            sdk.printf(sep, <uint64_t>nodes[k].name)
            c += 1
    sdk.puts(b"\n")

cdef bint waits_for(WflNode* nd, uint32_t parent) noexcept nogil:
    cdef uint32_t k
    for k in range(nd.nfrom + nd.nafter):
        if nd.parents[k] == parent:
            return True
    return False

cdef int show(const char* name) noexcept nogil:
    cdef uint32_t i
    cdef int r = load(name)
    if r != abi.E_OK:
        return r
    sdk.printf(b"workflow %s: %u nodes (<- waits for, -> feeds)\n", <uint64_t>title, w.n)
    for i in range(w.n):
        show_node(i)
    return abi.E_OK

cdef int list() noexcept nogil:
    cdef char tags[256]
    cdef int64_t n = fs.query(b"type=workflow", ids, IDS_MAX), i
    if n < 0:
        sdk.printf(b"wf: %e\n", n)
        return <int>n
    for i in range(n if n < IDS_MAX else IDS_MAX):
        if fs.tags_line(ids[i], tags, sizeof(tags)) < 0:
            tags[0] = 0
        sdk.printf(b"%5u  %s\n", ids[i], <uint64_t>tags)
    return abi.E_OK
