# httpd [PORT [CONNS [UPLOAD_MB]]]: the web service (docs/net.md).
#
#   GET /files?q=QUERY    the files a tag query matches: "ID NAME TAGS" lines
#   GET /files/ID         the file, with Content-Length and a CRC-32 ETag
#   HEAD /files/ID        the same head, no body
#   PUT /files?tags=T     a new file with tags T; 201, its id, Location
#
# HTTP/1.1 with keep-alive and pipelining, CONNS connections at once
# (default 128), uploads up to UPLOAD_MB MiB (default 64).  httpd itself
# only reads request heads: each request is ONE workflow whose nodes do the
# work in the kernel -- Storage reads and writes, the Operations deck's
# CRC-32 and response head, the Network deck's receives and sends -- so a
# 10 MiB body never passes through this process.  After binding its port it
# gives up CAP_SYSTEM and the system files: it serves what users stored.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy, memmove, memset
from user cimport sdk, net, wf
from kwe.common cimport abi, http, kstr
from kwe.common.abi cimport EventSlot, Completion, CapSet
from kwe.common.format cimport format_buf

cdef enum:
    PIECE = 65536               # of a PUT's body: one RECV_ALL node and one PWRITE node
    REPLY_MAX = 512             # a reply httpd writes itself (errors, 100 Continue)
    DATA_EXTRA = 4096           # graph data besides the body's first part: query, tags
    BACKLOG = 64
    # what an event is (bits 48.. of its id; slot at 32, the slot's generation below)
    K_ACCEPT = 1
    K_RECV = 2
    K_RUN = 3
    K_REPLY = 4
    K_DELETE = 5
    K_REGISTER = 6              # only a failure comes back (EVF_NO_RESULT)
    # a connection's state
    C_FREE = 0
    C_READ = 1                  # a RECV for its next request head is out
    C_RUN = 2                   # its request's workflow runs
    C_REPLY = 3                 # httpd's own reply is being sent

cdef struct Conn:
    uint64_t sock
    uint32_t gen                # tells a reused slot's events from its last user's
    uint8_t state
    bint close_after
    bint put
    uint32_t have               # request bytes in buf
    uint32_t used               # of them, the request being served (head and body part)
    uint16_t first_send         # the workflow's first send: a node before it failed -> answer the error
    uint64_t created            # a PUT's new file (0: none yet): deleted if the upload fails
    bint registered             # its workflow (id slot + 1) is the kernel's
    uint64_t key                # what that workflow answers, when a repeat may run it again (0: never)
    int reg_err                 # its registration failed so
    char* buf                   # http.HEAD_MAX bytes
    char reply[REPLY_MAX]

cdef Conn* conns = NULL
cdef uint32_t nconns = 0, live = 0
cdef uint64_t listener = 0, upload_max = 0
cdef bint accepting = False
cdef wf.Graph g
cdef wf.WfNode* nodes = NULL
cdef uint8_t* gdata = NULL
cdef uint8_t* blob = NULL
cdef uint32_t max_nodes = 0
cdef uint64_t blob_cap = 0

# ---- events -----------------------------------------------------------------------------------
cdef uint64_t tag(uint32_t kind, uint32_t slot) noexcept nogil:
    return (<uint64_t>1 << 62) | (<uint64_t>kind << 48) | (<uint64_t>slot << 32) | conns[slot].gen

cdef EventSlot* event_for(uint16_t op, uint32_t kind, uint32_t slot) noexcept nogil:
    cdef EventSlot* e = sdk.event(op)
    e.h.event_id = tag(kind, slot)
    return e

cdef void post() noexcept nogil:
    """Publish the event just made and hand the ring to the kernel."""
    sdk.commit()
    sdk.submit()

cdef void post_accept() noexcept nogil:
    global accepting
    cdef EventSlot* e
    if accepting or live == nconns:
        return                                  # full: new connections wait in the backlog
    e = sdk.event_args(abi.OP_NET_ACCEPT, listener, 0)
    e.h.event_id = (<uint64_t>1 << 62) | (<uint64_t>K_ACCEPT << 48)
    accepting = True
    post()

cdef void post_recv(uint32_t slot) noexcept nogil:
    cdef Conn* c = &conns[slot]
    cdef EventSlot* e = event_for(abi.OP_NET_RECV, K_RECV, slot)
    e.h.arg[0], e.h.arg[1] = c.sock, http.HEAD_MAX - c.have
    sdk.set_output(e, c.buf + c.have, http.HEAD_MAX - c.have)
    c.state = C_READ
    post()

# ---- connections ------------------------------------------------------------------------------
cdef int free_slot() noexcept nogil:
    cdef uint32_t i
    for i in range(nconns):
        if conns[i].state == C_FREE:
            return <int>i
    return -1

cdef void open_conn(uint64_t sock) noexcept nogil:
    global live
    cdef int slot = free_slot()
    cdef Conn* c
    if slot < 0:                                # (post_accept waits for a free one)
        net.close(sock)
        return
    c = &conns[slot]
    c.sock, c.gen, c.have, c.used = sock, c.gen + 1, 0, 0
    c.close_after, c.put, c.created = False, False, 0
    c.registered, c.key, c.reg_err = False, 0, 0
    live += 1
    post_recv(<uint32_t>slot)

cdef void close_conn(uint32_t slot) noexcept nogil:
    global live
    cdef Conn* c = &conns[slot]
    cdef EventSlot* e
    forget_workflow(slot)                       # (its graph names the socket)
    e = sdk.event_args(abi.OP_NET_CLOSE, c.sock, 0)
    e.h.flags |= abi.EVF_NO_RESULT
    post()
    c.state = C_FREE
    c.gen += 1                                  # its events still out are stale now
    live -= 1
    post_accept()

cdef void next_request(uint32_t slot) noexcept nogil:
    """The request is answered: drop its bytes, serve a pipelined one or read on."""
    cdef Conn* c = &conns[slot]
    if c.close_after:
        close_conn(slot)
        return
    memmove(c.buf, c.buf + c.used, c.have - c.used)
    c.have -= c.used
    c.used, c.put, c.created = 0, False, 0
    if c.have:
        serve(slot)
    else:
        post_recv(slot)

# ---- httpd's own replies: errors and 100 Continue -------------------------------------------------
cdef uint32_t http_status(int err) noexcept nogil:
    """The answer for a workflow that failed with err before sending anything."""
    if err == abi.E_NOENT:
        return 404
    if err == abi.E_PERM:
        return 403
    if err == abi.E_INVAL or err == abi.E_BADDATA:
        return 400
    if err == abi.E_TOOBIG:
        return 413
    if err == abi.E_NOSPC or err == abi.E_QUOTA:
        return 507
    if err == abi.E_NOMEM or err == abi.E_AGAIN or err == abi.E_ROFS:
        return 503
    return 500

cdef void reply(uint32_t slot, uint32_t status, const char* text, bint close) noexcept nogil:
    """A short text answer; close: then the connection ends (its bytes are unknown)."""
    cdef Conn* c = &conns[slot]
    cdef uint32_t n = kstr.length(text)
    cdef uint32_t head = http.format_head(c.reply, REPLY_MAX - n, status, n + 1,
                                          http.HH_TEXT | (http.HH_CLOSE if close else 0), 0, 0)
    cdef EventSlot* e = event_for(abi.OP_NET_SEND, K_REPLY, slot)
    memcpy(c.reply + head, text, n)
    c.reply[head + n] = 10
    c.close_after = c.close_after or close
    e.h.arg[0] = c.sock
    sdk.set_input(e, c.reply, head + n + 1)
    c.state = C_REPLY
    post()

cdef void reply_error(uint32_t slot, int err) noexcept nogil:
    cdef char text[96]
    cdef uint64_t a[1]
    a[0] = <uint64_t><int64_t>err
    format_buf(text, sizeof(text), b"%e", a, 1)
    reply(slot, http_status(err), text, conns[slot].put)

cdef void reply_parse_error(uint32_t slot, int r) noexcept nogil:
    if r == http.HTTP_TOOBIG:
        reply(slot, 431, b"request head too large", True)
    elif r == http.HTTP_VERSION:
        reply(slot, 505, b"HTTP/1.0 or HTTP/1.1 only", True)
    elif r == http.HTTP_CHUNKED:
        reply(slot, 411, b"send a Content-Length, not chunks", True)
    else:
        reply(slot, 400, b"malformed request", True)

# ---- the workflows ------------------------------------------------------------------------------
cdef int send_node(uint64_t sock, int source) noexcept nogil:
    cdef int n = wf.add(&g, abi.OP_NET_SEND)
    wf.args(&g, n, sock, 0)
    wf.input_from(&g, n, source)
    return n

cdef int head_node(uint32_t status, uint32_t flags, bint close) noexcept nogil:
    cdef int n = wf.add(&g, abi.OP_HTTP_HEAD)
    wf.args(&g, n, status, flags | (abi.HEAD_CLOSE if close else 0))
    return n

cdef void build_get(Conn* c, uint64_t id, bint with_body) noexcept nogil:
    """stat, get, crc32(get) -> head(stat, crc) -> send head -> send body."""
    cdef int st = wf.add(&g, abi.OP_FS_STAT), get = wf.add(&g, abi.OP_FS_GET)
    cdef int crc = wf.add(&g, abi.OP_CRC32)
    cdef int head = head_node(200, abi.HEAD_STAT | abi.HEAD_ETAG, c.close_after), sent
    wf.args(&g, st, id, 0)
    wf.args(&g, get, id, 0)
    wf.input_from(&g, crc, get)
    wf.after(&g, head, st)
    wf.after(&g, head, crc)
    wf.input_parents(&g, head)
    sent = send_node(c.sock, head)
    c.first_send = <uint16_t>sent
    if with_body:
        wf.args(&g, sent, c.sock, abi.SEND_MORE)    # head and a small body in one segment
        wf.after(&g, send_node(c.sock, get), sent)

cdef void build_list(Conn* c, const char* query, uint32_t n) noexcept nogil:
    """list(query) -> head(200, its text) -> send."""
    cdef int ls = wf.add(&g, abi.OP_FS_LIST)
    cdef int head = head_node(200, abi.HEAD_BODY, c.close_after)
    wf.input_data(&g, ls, query, n)
    wf.input_from(&g, head, ls)
    c.first_send = <uint16_t>send_node(c.sock, head)

cdef int piece_nodes(Conn* c, int create, int prev_recv, int prev_write, uint64_t offset,
                     uint32_t n) noexcept nogil:
    """One piece of the body: recv exactly n bytes -> pwrite them at offset."""
    cdef int rv = wf.add(&g, abi.OP_NET_RECV), w = wf.add(&g, abi.OP_FS_PWRITE)
    wf.args(&g, rv, c.sock, n | abi.RECV_ALL)
    if prev_recv >= 0:
        wf.after(&g, rv, prev_recv)             # the stream's pieces in order
    wf.arg_value(&g, w, create)
    wf.args(&g, w, 0, offset)
    wf.input_from(&g, w, rv)
    if prev_write >= 0:
        wf.after(&g, w, prev_write)
    return rv

cdef void build_put(Conn* c, const char* tags, uint32_t ntags, http.Request* r, uint32_t part) noexcept nogil:
    """create(tags) -> [the part already here] -> (recv piece -> pwrite)* -> sync
    -> stat -> head(201, id) -> send."""
    cdef int create = wf.add(&g, abi.OP_FS_CREATE), last = -1, rv = -1, w, st, head, sync
    cdef uint64_t off = part, n
    wf.input_data(&g, create, tags, ntags)
    wf.args(&g, create, abi.FILE_USER, 0)
    wf.emit(&g, create)                         # its id: to delete the file if the upload fails
    if part:
        last = wf.add(&g, abi.OP_FS_PWRITE)
        wf.arg_value(&g, last, create)
        wf.input_data(&g, last, c.buf + r.head_len, part)
    if off < r.content_length and r.expect_continue:
        rv = wf.add(&g, abi.OP_NET_SEND)
        wf.args(&g, rv, c.sock, 0)
        wf.input_data(&g, rv, b"HTTP/1.1 100 Continue\r\n\r\n", 25)
    while off < r.content_length:
        n = r.content_length - off if r.content_length - off < PIECE else PIECE
        rv = piece_nodes(c, create, rv, last, off, <uint32_t>n)
        last = rv + 1
        off += n
    sync = wf.add(&g, abi.OP_FS_SYNC)
    wf.after(&g, sync, last if last >= 0 else create)
    st = wf.add(&g, abi.OP_FS_STAT)
    wf.arg_value(&g, st, create)
    wf.after(&g, st, sync)
    head = head_node(201, abi.HEAD_STAT | abi.HEAD_ID, c.close_after)
    wf.input_from(&g, head, st)
    c.first_send = <uint16_t>send_node(c.sock, head)

cdef void forget_workflow(uint32_t slot) noexcept nogil:
    cdef EventSlot* e
    if not conns[slot].registered:
        return
    e = sdk.event(abi.OP_WF_UNREGISTER)
    e.h.workflow_id = slot + 1
    e.h.flags |= abi.EVF_NO_RESULT
    sdk.commit()
    conns[slot].registered, conns[slot].key = False, 0

cdef void flush() noexcept nogil:
    """Until the kernel has taken every event: it copies a graph as it takes
    its OP_WF_REGISTER, so the one buffer serves the next request."""
    sdk.submit()
    while sdk.unsent():
        sdk.reap()
        sdk.await_completion()

cdef void start_run(uint32_t slot, uint64_t key) noexcept nogil:
    """Run the connection's workflow: the registered one again when the
    request is the same as the last (key), else the graph just built,
    registered in the same submit (a prepared workflow, run per request)."""
    cdef Conn* c = &conns[slot]
    cdef uint64_t n
    cdef EventSlot* e
    if not (key != 0 and c.registered and c.key == key):
        n = wf.encode(&g, blob, blob_cap)
        if n == 0:
            reply(slot, 413, b"too big for one workflow", True)
            return
        forget_workflow(slot)
        e = event_for(abi.OP_WF_REGISTER, K_REGISTER, slot)
        e.h.workflow_id = slot + 1
        e.h.flags |= abi.EVF_NO_RESULT
        sdk.set_input(e, blob, <uint32_t>n)
        sdk.commit()
        c.registered, c.key = True, key
    e = event_for(abi.OP_WF_RUN, K_RUN, slot)
    e.h.workflow_id = slot + 1
    c.state = C_RUN
    sdk.commit()
    flush()

# ---- requests -------------------------------------------------------------------------------------
cdef void get_files(uint32_t slot, http.Request* r) noexcept nogil:
    cdef Conn* c = &conns[slot]
    cdef char* q = <char*>gdata + http.HEAD_MAX
    cdef int64_t n = http.query_param(c.buf + r.query_off, r.query_len, b"q", q, DATA_EXTRA)
    if n == -2:
        reply(slot, 400, b"bad query encoding", False)
        return
    if n <= 0:
        reply(slot, 400, b"GET /files needs ?q=QUERY", False)
        return
    build_list(c, q, <uint32_t>n)
    start_run(slot, 0)

cdef void put_file(uint32_t slot, http.Request* r) noexcept nogil:
    cdef Conn* c = &conns[slot]
    cdef char* tags = <char*>gdata + http.HEAD_MAX
    cdef int64_t n = http.query_param(c.buf + r.query_off, r.query_len, b"tags", tags, DATA_EXTRA)
    cdef uint32_t part
    c.put = True
    if not r.has_length:
        reply(slot, 411, b"PUT needs a Content-Length", True)
    elif r.content_length > upload_max:
        reply(slot, 413, b"over the upload limit (httpd's UPLOAD_MB)", True)
    elif n == -2:
        reply(slot, 400, b"bad tags encoding", True)
    else:
        part = c.have - r.head_len
        if part > r.content_length:
            part = <uint32_t>r.content_length
        c.used = r.head_len + part
        build_put(c, tags, <uint32_t>(n if n > 0 else 0), r, part)
        start_run(slot, 0)

cdef bint is_path(Conn* c, http.Request* r, const char* p) noexcept nogil:
    cdef uint32_t n = kstr.length(p)
    return r.path_len == n and kstr.starts_with(c.buf + r.path_off, p)

cdef uint64_t get_key(uint64_t id, bint body, bint close) noexcept nogil:
    """A GET or HEAD of one file: the same graph every time it is asked again
    (ids are below 2^63, so the key is never 0 and never wraps)."""
    return (id << 3) | (<uint64_t>body << 2) | (<uint64_t>close << 1) | 1

cdef void route(uint32_t slot, http.Request* r) noexcept nogil:
    cdef Conn* c = &conns[slot]
    cdef int64_t id = http.path_id(c.buf + r.path_off, r.path_len, b"/files/")
    wf.init(&g, nodes, max_nodes, gdata, http.HEAD_MAX + DATA_EXTRA)
    if r.method == http.HTTP_PUT and is_path(c, r, b"/files"):
        put_file(slot, r)
    elif r.content_length:
        reply(slot, 400, b"only PUT takes a body", True)
    elif r.method == http.HTTP_OTHER:
        reply(slot, 501, b"GET, HEAD and PUT only", False)
    elif id >= 0 and r.method != http.HTTP_PUT:
        build_get(c, <uint64_t>id, r.method == http.HTTP_GET)
        start_run(slot, get_key(<uint64_t>id, r.method == http.HTTP_GET, c.close_after))
    elif r.method == http.HTTP_GET and is_path(c, r, b"/files"):
        get_files(slot, r)
    elif id >= 0 or is_path(c, r, b"/files"):
        reply(slot, 405, b"not with this method", False)
    else:
        reply(slot, 404, b"try /files?q=QUERY or /files/ID", False)

cdef void serve(uint32_t slot) noexcept nogil:
    """Parse what the connection sent; serve a whole head, or read more."""
    cdef Conn* c = &conns[slot]
    cdef http.Request r
    cdef int n = http.parse(c.buf, c.have, &r)
    if n == http.HTTP_INCOMPLETE:
        post_recv(slot)
        return
    if n < 0:
        reply_parse_error(slot, n)
        return
    c.used = r.head_len
    c.close_after = not r.keep_alive
    route(slot, &r)

# ---- completions ----------------------------------------------------------------------------------
cdef void received(uint32_t slot, Completion* r) noexcept nogil:
    cdef Conn* c = &conns[slot]
    if r.status != abi.E_OK or r.length == 0:
        close_conn(slot)                        # the client left (or the connection broke)
        return
    c.have += r.length
    serve(slot)

cdef void ran(uint32_t slot, Completion* r) noexcept nogil:
    cdef Conn* c = &conns[slot]
    cdef EventSlot* e
    if r.flags & abi.RF_NODE:
        if r.opcode == abi.OP_FS_CREATE and r.status == abi.E_OK:
            c.created = r.value
        return
    if r.status == abi.E_OK:
        next_request(slot)
        return
    if c.reg_err:                               # it never ran: its graph was refused
        c.registered, c.key = False, 0
        r.status, r.node, c.reg_err = c.reg_err, 0, 0
    if c.created:
        e = event_for(abi.OP_FS_DELETE, K_DELETE, slot)  # no half-uploaded file is left
        e.h.arg[0] = c.created
        post()
    if r.node < c.first_send:
        reply_error(slot, r.status)             # nothing sent yet: the client hears why
    else:
        close_conn(slot)                        # the answer broke off: only closing says so

cdef void completed(Completion* r) noexcept nogil:
    global accepting
    cdef uint32_t kind = <uint32_t>(r.event_id >> 48) & 0xFF, slot = <uint32_t>(r.event_id >> 32) & 0xFFFF
    if kind == K_ACCEPT:
        accepting = False
        if r.status == abi.E_OK:
            open_conn(r.value)
        post_accept()
    elif (r.event_id >> 62) != 1 or slot >= nconns or <uint32_t>r.event_id != conns[slot].gen:
        return                                  # a connection that has ended since, or not ours
    elif kind == K_RECV:
        received(slot, r)
    elif kind == K_RUN:
        ran(slot, r)
    elif kind == K_REGISTER:
        conns[slot].reg_err = r.status
    elif kind == K_REPLY:
        if r.status != abi.E_OK:
            conns[slot].close_after = True
        next_request(slot)

# ---- start ------------------------------------------------------------------------------------------
cdef uint8_t* memory(uint64_t n) noexcept nogil:
    cdef int64_t va = sdk.call_value(sdk.event_args(abi.OP_MEM_ALLOC, n, 0))
    return <uint8_t*>va if va > 0 else NULL

cdef bint allocate() noexcept nogil:
    """Connections, the graph builder and the encoded graph, sized by the limits."""
    global conns, nodes, gdata, blob, max_nodes, blob_cap
    cdef uint32_t i
    cdef uint8_t* bufs
    max_nodes = <uint32_t>(2 * (upload_max / PIECE + 1) + 8)
    blob_cap = 16 + <uint64_t>max_nodes * (64 + 3 * 2) + http.HEAD_MAX + DATA_EXTRA
    conns = <Conn*>memory(nconns * sizeof(Conn))
    bufs = memory(<uint64_t>nconns * http.HEAD_MAX)
    nodes = <wf.WfNode*>memory(max_nodes * sizeof(wf.WfNode))
    gdata = memory(http.HEAD_MAX + DATA_EXTRA)
    blob = memory(blob_cap)
    if conns == NULL or bufs == NULL or nodes == NULL or gdata == NULL or blob == NULL:
        return False
    for i in range(nconns):
        conns[i].buf = <char*>bufs + <uint64_t>i * http.HEAD_MAX
    return True

cdef void give_up_rights() noexcept nogil:
    """The port is ours: no CAP_SYSTEM (no reserved tags from clients) and
    no system files; user files read, created, written, tagged."""
    cdef CapSet c
    sdk.caps_get(&c)
    c.flags &= ~(<uint64_t>abi.CAP_SYSTEM)
    c.files &= <uint64_t>abi.RIGHTS_ALL << (8 * abi.FILE_USER)
    sdk.caps_limit(&c)

cdef public int umain() noexcept nogil:
    global listener, nconns, upload_max
    cdef uint16_t port = <uint16_t>sdk.arg_u64(0, 80)
    cdef int64_t l
    cdef Completion r
    nconns = <uint32_t>sdk.arg_u64(1, 128)
    upload_max = sdk.arg_u64(2, 64) << 20
    if nconns == 0 or nconns > 4096 or upload_max == 0 or upload_max > (<uint64_t>1 << 36):
        sdk.puts(b"httpd: usage: httpd [PORT [CONNS 1..4096 [UPLOAD_MB]]]\n")
        return 2
    if not allocate():
        sdk.printf(b"httpd: no memory for %u connections\n", nconns)
        return 1
    l = net.tcp_listener(port, BACKLOG)
    if l < 0:
        sdk.printf(b"httpd: cannot listen on TCP port %u: %e\n", port, <uint64_t>l)
        return 1
    listener = <uint64_t>l
    give_up_rights()
    sdk.printf(b"httpd: listening on TCP port %u (%u connections, uploads up to %u MiB)\n",
               port, nconns, upload_max >> 20)
    post_accept()
    while True:
        sdk.wait_result(&r)
        completed(&r)
