# Hosted view of the ABI (abi.pxd): the layouts as Cython compiles them, for
# the test that holds the generated C header (build/kwe_abi.h) to the same.

cdef size_t off(void* base, void* field):
    return <size_t>(<char*>field - <char*>base)

def layout():
    """{struct: (sizeof, {field: offset})}."""
    cdef EventHeader eh
    cdef Completion c
    cdef EventSlot es
    cdef RingHeader ring
    cdef UserInfo ui
    cdef GraphHeader gh
    cdef NodeDesc nd
    cdef ProcInfo pi
    cdef SysStat ss
    cdef NetStat ns
    return {
        "NetStat": (sizeof(NetStat), {
            "mac": off(&ns, &ns.mac), "link_up": off(&ns, &ns.link_up), "ip": off(&ns, &ns.ip),
            "sockets": off(&ns, &ns.sockets), "rx_frames": off(&ns, &ns.rx_frames),
            "drops": off(&ns, &ns.drops)}),
        "ProcInfo": (sizeof(ProcInfo), {
            "pid": off(&pi, &pi.pid), "parent": off(&pi, &pi.parent), "state": off(&pi, &pi.state),
            "console": off(&pi, &pi.console), "ticks": off(&pi, &pi.ticks),
            "mem_pages": off(&pi, &pi.mem_pages), "inflight": off(&pi, &pi.inflight),
            "name": off(&pi, &pi.name)}),
        "SysStat": (sizeof(SysStat), {
            "ticks": off(&ss, &ss.ticks), "tick_hz": off(&ss, &ss.tick_hz),
            "pages_total": off(&ss, &ss.pages_total), "pages_free": off(&ss, &ss.pages_free),
            "heap_bytes": off(&ss, &ss.heap_bytes), "processes": off(&ss, &ss.processes),
            "events_in_flight": off(&ss, &ss.events_in_flight), "runs_in_flight": off(&ss, &ss.runs_in_flight),
            "workflows": off(&ss, &ss.workflows), "processed": off(&ss, &ss.processed),
            "deck_steps": off(&ss, &ss.deck_steps), "console_owner": off(&ss, &ss.console_owner),
            "tracing": off(&ss, &ss.tracing)}),
        "EventHeader": (sizeof(EventHeader), {
            "event_id": off(&eh, &eh.event_id), "workflow_id": off(&eh, &eh.workflow_id),
            "opcode": off(&eh, &eh.opcode), "flags": off(&eh, &eh.flags),
            "route": off(&eh, &eh.route), "route_len": off(&eh, &eh.route_len),
            "payload_len": off(&eh, &eh.payload_len), "arg": off(&eh, &eh.arg)}),
        "EventSlot": (sizeof(EventSlot), {"h": off(&es, &es.h), "payload": off(&es, &es.payload)}),
        "Completion": (sizeof(Completion), {
            "event_id": off(&c, &c.event_id), "value": off(&c, &c.value),
            "status": off(&c, &c.status), "length": off(&c, &c.length),
            "opcode": off(&c, &c.opcode), "flags": off(&c, &c.flags), "node": off(&c, &c.node),
            "deck": off(&c, &c.deck), "attempts": off(&c, &c.attempts)}),
        "RingHeader": (sizeof(RingHeader), {
            "head": off(&ring, &ring.head), "tail": off(&ring, &ring.tail),
            "size": off(&ring, &ring.size), "slot_size": off(&ring, &ring.slot_size),
            "flags": off(&ring, &ring.flags), "reserved": off(&ring, &ring.reserved)}),
        "UserInfo": (sizeof(UserInfo), {
            "magic": off(&ui, &ui.magic), "pid": off(&ui, &ui.pid), "tsc_hz": off(&ui, &ui.tsc_hz),
            "event_ring": off(&ui, &ui.event_ring), "name": off(&ui, &ui.name),
            "args": off(&ui, &ui.args)}),
        "GraphHeader": (sizeof(GraphHeader), {
            "magic": off(&gh, &gh.magic), "nnodes": off(&gh, &gh.nnodes),
            "ndeps": off(&gh, &gh.ndeps), "data_len": off(&gh, &gh.data_len)}),
        "NodeDesc": (sizeof(NodeDesc), {
            "opcode": off(&nd, &nd.opcode), "route_len": off(&nd, &nd.route_len),
            "input_kind": off(&nd, &nd.input_kind), "route": off(&nd, &nd.route),
            "input_node": off(&nd, &nd.input_node), "deps_first": off(&nd, &nd.deps_first),
            "ndeps": off(&nd, &nd.ndeps), "max_retries": off(&nd, &nd.max_retries),
            "flags": off(&nd, &nd.flags), "backoff_ms": off(&nd, &nd.backoff_ms),
            "data_offset": off(&nd, &nd.data_offset), "data_len": off(&nd, &nd.data_len),
            "args": off(&nd, &nd.args)}),
    }
