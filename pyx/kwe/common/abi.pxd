# The user/kernel contract, defined once.  The kernel and the user SDK both
# cimport this; tools/build/abi_header.py turns it into build/kwe_abi.h for
# C and asm, and docs/abi.md explains it.  Change it only together with
# the version.
#
#   kernel_notify(workflow_id, flags) -> int64     (SYSCALL; rdi, rsi -> rax)
#
# Everything else is an event: a 576-byte slot (64-byte header + 512-byte
# payload) in the process's EventRing; its completion comes back as a
# 32-byte Completion in the ResultRing, and its output goes straight into
# the buffer the event named.  Both rings are single-producer
# single-consumer queues in memory shared by the process and the kernel.
# The kernel takes an event only when the ResultRing has room reserved for
# every completion it will cause, so completions are never held or lost.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t

cdef enum:
    ABI_VERSION = 5

    # kernel_notify flags (combinable; handled in this order)
    NOTIFY_SUBMIT = 1           # consume every event in the EventRing
    NOTIFY_WAIT = 2             # block until workflow_id completes (0: any completion)
    NOTIFY_YIELD = 4            # give up the CPU

    # decks: a route is a list of these, Execution always last
    DECK_EXECUTION = 0
    DECK_OPERATIONS = 1
    DECK_HARDWARE = 2
    DECK_STORAGE = 3
    DECK_NETWORK = 4
    DECK_COUNT = 5
    ROUTE_MAX = 8

    # ring geometry
    SLOT_SIZE = 576             # an EventSlot
    COMPLETION_SIZE = 32        # a Completion (the ResultRing's slot)
    SLOT_HEADER = 64
    PAYLOAD_MAX = 512
    RING_HEADER_SIZE = 256      # RingHeader, then the slots
    RING_MIN = 16
    RING_MAX = 32768
    RING_DEFAULT = 256          # EventRing slots when a spawn says 0
    RESULT_RING_DEFAULT = 2048  # ResultRing slots when a spawn says 0 (64 KiB: one per live child, too)
    RING_CORRUPT = 1            # RingHeader.flags: the kernel found bad indexes

    # EventHeader.flags
    EVF_INPUT_PTR = 0x01        # input is user memory, described by an InputPointer in the payload
    EVF_OUTPUT_PTR = 0x02       # write the output to arg[2] (capacity arg[3])
    EVF_NO_RESULT = 0x04        # no completion on success (errors are always reported)
    EVF_SYNC = 0x08             # filesystem changes: answer only once committed to disk

    # Completion.flags
    RF_WORKFLOW = 0x01          # the summary of a workflow run
    RF_NODE = 0x02              # the result of one workflow node
    RF_CANCELLED = 0x04         # never ran: a node it depended on failed
    RF_TRUNCATED = 0x08         # the output did not fit the event's output buffer
    RF_CHILD_EXIT = 0x20        # a child process ended (value = pid, status = its status)

    # opcodes: the high byte names the deck that executes the operation
    OP_NOP = 0x0000
    OP_SPAWN = 0x0001           # input: "program args..."; arg[0] = event ring | result ring << 32, arg[1] = stack pages
    OP_EXIT = 0x0002            # arg[0] = status
    OP_KILL = 0x0003            # arg[0] = pid (own children only)
    OP_CAPS_GET = 0x0004        # output = the caller's CapSet
    OP_CAPS_LIMIT = 0x0005      # input = a CapSet: the caller keeps only what is in both
    OP_CHECKS = 0x0006          # arg[0] = 1 on / 0 off: the safety checks, for the bench's A/B (CAP_SYSTEM and checks_switch=1)
    OP_STAGES = 0x0007          # arg[0] = STAGES_*; output = StageCounters (before a reset), CAP_SYSTEM
    OP_PS = 0x0008              # output = a ProcInfo per live process; value = how many
    OP_SYSSTAT = 0x0009         # output = SysStat
    OP_TRACE = 0x000A           # arg[0] = TRACE_*: tracing off, on, or the records dumped to the console (CAP_SYSTEM)
    OP_WF_REGISTER = 0x0010     # input: a workflow graph; workflow_id = the id to use
    OP_WF_RUN = 0x0011          # start a run of workflow_id
    OP_WF_UNREGISTER = 0x0012
    OP_CRC32 = 0x0101           # value = CRC-32 of the input (arg[0] = initial crc)
    OP_DJB2 = 0x0102            # value = djb2 hash of the input
    OP_RLE_ENCODE = 0x0103      # output = RLE of the input (docs/abi.md)
    OP_RLE_DECODE = 0x0104
    OP_XOR = 0x0105             # output = input XOR the key in arg[0] (arg[1] = key bytes, 1..8)
    OP_VEC_ADD_I32 = 0x0110     # input = two equal int32 vectors back to back; output = a + b
    OP_VEC_MUL_I32 = 0x0111
    OP_VEC_DOT_I32 = 0x0112     # value = dot product (int64)
    OP_VEC_ADD_F32 = 0x0118
    OP_VEC_MUL_F32 = 0x0119
    OP_VEC_DOT_F32 = 0x011A     # value = dot product as float64 bits
    OP_HTTP_HEAD = 0x0120       # input = parents (docs/net.md); arg[0] = status, arg[1] = HEAD_*; output = an HTTP response head
    OP_SLEEP = 0x0201           # complete after arg[0] milliseconds
    OP_TICKS = 0x0202           # value = timer ticks since boot
    OP_TSC = 0x0203             # value = TSC
    OP_CONSOLE_WRITE = 0x0204   # write the input to the console
    OP_FLAKY = 0x0205           # fail with E_AGAIN arg[0] times per event, then succeed (tests)
    OP_CONSOLE_READ = 0x0206    # output = typed bytes (at least 1, at most arg[0]); waits for input and for the console
    OP_CONSOLE_GIVE = 0x0207    # arg[0] = pid: the console's input goes to it (the caller or a descendant)
    OP_MEM_ALLOC = 0x0301       # map arg[0] bytes of fresh memory; value = address
    OP_MEM_FREE = 0x0302        # unmap what OP_MEM_ALLOC gave (arg[0] = address)
    OP_FS_CREATE = 0x0310       # input: its tags ("k k=v ..."); arg[0] = its class (FILE_*); value = new file id
    OP_FS_OPEN = 0x0311         # arg[0] = file id; value = fd
    OP_FS_CLOSE = 0x0312        # arg[0] = fd
    OP_FS_READ = 0x0313         # arg[0] = fd, arg[1] = bytes at most; output = data (offset advances)
    OP_FS_WRITE = 0x0314        # arg[0] = fd; input = data at the offset (advances); value = bytes
    OP_FS_SEEK = 0x0315         # arg[0] = fd, arg[1] = offset; value = offset
    OP_FS_TRUNCATE = 0x0316     # arg[0] = file id, arg[1] = size
    OP_FS_DELETE = 0x0317       # arg[0] = file id
    OP_FS_TAG = 0x0318          # arg[0] = file id; input = a tag to add
    OP_FS_UNTAG = 0x0319        # arg[0] = file id; input = a tag to remove
    OP_FS_QUERY = 0x031A        # input = "a AND (b OR NOT c)"; output = u64 file ids; value = count
    OP_FS_TAGS = 0x031B         # arg[0] = file id; output = its tags, one per line
    OP_FS_STAT = 0x031C         # arg[0] = file id; output = FileStat
    OP_FS_SYNC = 0x031D         # completes when everything before it is committed
    OP_FS_GET = 0x031E          # arg[0] = file id, arg[1] = offset; output = the file from there
    OP_FS_PWRITE = 0x031F       # arg[0] = file id, arg[1] = offset; input = data written there; value = bytes
    OP_FS_LIST = 0x0320         # input = a query; output = "ID NAME TAGS\n" per readable match; value = count
    OP_NET_SOCKET = 0x0401      # arg[0] = SOCK_UDP or SOCK_TCP; value = socket id (docs/net.md)
    OP_NET_BIND = 0x0402        # arg[0] = socket, arg[1] = port (0: a free one); value = port
    OP_NET_LISTEN = 0x0403      # arg[0] = socket (TCP, bound), arg[1] = backlog
    OP_NET_ACCEPT = 0x0404      # arg[0] = listening socket; waits; value = the connection's socket
    OP_NET_CONNECT = 0x0405     # arg[0] = socket, arg[1] = address << 16 | port; waits until connected
    OP_NET_SEND = 0x0406        # arg[0] = socket; input = data (UDP: arg[1] = address << 16 | port); value = bytes
    OP_NET_RECV = 0x0407        # arg[0] = socket, arg[1] = bytes at most; waits; output = data (TCP: empty at end; UDP: value = sender as in SEND)
    RECV_ALL = 0x40000000       # OP_NET_RECV arg[1] | RECV_ALL: TCP, wait for exactly that many bytes
    SEND_MORE = 1               # OP_NET_SEND arg[1] (TCP): more follows at once; a short piece waits for it
    OP_NET_CLOSE = 0x0408       # arg[0] = socket
    OP_NET_STAT = 0x0409        # output = NetStat

    # status codes (Completion.status, kernel_notify's return).  The comment
    # on each is its one-line meaning: tools/build/abi_header.py makes it the
    # table (build/kwe_errors.h) that kwe.common.errors, format's %e, the SDK
    # and the host tools print from.
    E_OK = 0                    # success
    E_INVAL = -1                # invalid argument or malformed event
    E_BADOP = -2                # unknown opcode
    E_BADROUTE = -3             # bad route: empty, too long, unknown deck or not ending in Execution
    E_FAULT = -4                # bad address: a pointer outside the process's memory
    E_NOMEM = -5                # out of memory
    E_RANGE = -6                # a length or value out of range
    E_AGAIN = -7                # try again: a transient failure
    E_NOTSUP = -8               # not supported
    E_CANCELLED = -9            # cancelled: a node it depended on failed
    E_NOENT = -10               # no such file, tag, program or workflow
    E_EXIST = -11               # already exists
    E_CYCLE = -12               # the workflow graph has a cycle
    E_TOOBIG = -13              # over the configured limits
    E_BADDATA = -14             # malformed input data
    E_QUOTA = -15               # over the process's quota
    E_NOSPC = -16               # no space left on the volume
    E_BADF = -17                # bad file descriptor
    E_PERM = -18                # not permitted
    E_BUSY = -19                # busy: already running
    E_CORRUPT = -20             # corrupt: inconsistent ring indexes or filesystem structure
    E_IO = -21                  # input/output error: the disk failed
    E_AMBIGUOUS = -22           # more than one file matches where exactly one must
    E_ROFS = -23                # read-only volume: mounted so, or a failed check or disk error made it so
    E_CONNREFUSED = -24         # connection refused: nobody listens there
    E_CONNRESET = -25           # connection reset by the other end
    E_TIMEDOUT = -26            # timed out: the other end stopped answering
    E_NOTCONN = -27             # not connected

    # the process's address space
    USER_INFO_PAGES = 1

    # workflow graphs (the input of OP_WF_REGISTER): a GraphHeader, nnodes
    # NodeDescs, ndeps uint16 node indexes, then data_len bytes of data
    GRAPH_MAGIC = 0x4746574B    # "KWFG"
    INPUT_NONE = 0              # the node has no input
    INPUT_DATA = 1              # bytes [data_offset, +data_len) of the graph's data
    INPUT_NODE = 2              # the output of node input_node (one of its dependencies)
    INPUT_PARENTS = 3           # the outputs of all its dependencies, concatenated in order
    # capabilities (CapSet): flags, file classes (the label the kernel keeps
    # on every file) and the rights on each class
    CAP_SYSTEM = 0x01           # may use the reserved tags (type=program, name=, crc32=)
    FILE_USER = 0               # a file's class: what processes make by default
    FILE_SYSTEM = 1             # programs and the system's own files
    FILE_CLASSES = 8
    RIGHT_READ = 0x01           # read, open, query (a file it may not read is left out), stat, tags
    RIGHT_WRITE = 0x02          # write, truncate
    RIGHT_CREATE = 0x04         # create files of the class
    RIGHT_TAG = 0x08            # tag, untag
    RIGHT_DELETE = 0x10
    RIGHTS_ALL = 0x1F

    # the kernel's per-stage cycle counters (OP_STAGES, docs/abi.md)
    STAGE_USER = 0              # not in a counted stage: user code, kernel entry and exit, interrupts
    STAGE_KERNEL = 1            # in kernel_notify, outside the stages below
    STAGE_RING = 2              # taking events from the EventRing (header copy, checks, input load)
    STAGE_ROUTE = 3             # the Guide: routes, deck queues, its loop
    STAGE_DECK = 4              # the decks' own work
    STAGE_ENGINE = 5            # the workflow engine: runs, node events, readiness
    STAGE_COMPLETE = 6          # making and publishing completions
    STAGE_WAKE = 7              # blocking, waking and switching processes (idle time included)
    NSTAGES = 8
    STAGES_READ = 0             # OP_STAGES arg[0]: read the counters
    STAGES_ON = 1               # zero them and count
    STAGES_OFF = 2              # stop counting (the counters stay readable)
    TRACE_OFF = 0               # OP_TRACE arg[0]
    TRACE_ON = 1
    TRACE_DUMP = 2              # write the records to the console (TRACE-BEGIN ... TRACE-END)
    PROC_NAME_MAX = 24          # ProcInfo.name, NUL included

    NODE_EMIT = 0x01            # post an RF_NODE result for this node
    NODE_OUTPUT_PTR = 0x02      # write its output to args[2] (capacity args[3])
    NODE_ARG_VALUE = 0x04       # args[0] = the value of its first dependency (a file id, an fd ...)

cdef extern from *:
    """
    #define KWE_USER_IMAGE_BASE 0x0000000000400000ULL
    #define KWE_USER_HEAP       0x0000600000000000ULL
    #define KWE_USER_EVENT_RING 0x0000700000000000ULL
    #define KWE_USER_RESULT_RING 0x0000710000000000ULL
    #define KWE_USER_STACK_TOP  0x00007FFFFFFE0000ULL
    #define KWE_USER_INFO       0x00007FFFFFFF0000ULL
    """
    const uint64_t USER_IMAGE_BASE "KWE_USER_IMAGE_BASE"   # programs load at or above this
    const uint64_t USER_HEAP "KWE_USER_HEAP"               # OP_MEM_ALLOC hands out memory from here
    const uint64_t USER_EVENT_RING "KWE_USER_EVENT_RING"
    const uint64_t USER_RESULT_RING "KWE_USER_RESULT_RING"
    const uint64_t USER_STACK_TOP "KWE_USER_STACK_TOP"     # a guard page below the stack
    const uint64_t USER_INFO "KWE_USER_INFO"               # struct UserInfo, read-only

cdef struct EventHeader:        # 64 bytes
    uint64_t event_id           # the caller's tag, echoed in the result
    uint32_t workflow_id        # 0 for a standalone event
    uint16_t opcode
    uint16_t flags              # EVF_*
    uint8_t route[ROUTE_MAX]    # deck numbers, route_len of them, ending with DECK_EXECUTION
    uint8_t route_len
    uint8_t reserved[3]
    uint32_t payload_len        # inline input bytes in the payload
    uint64_t arg[4]             # arg[0..1]: the operation's; arg[2..3]: the output pointer

cdef struct InputPointer:       # at the start of the payload when EVF_INPUT_PTR
    uint64_t address
    uint64_t length

cdef struct EventSlot:
    EventHeader h
    uint8_t payload[PAYLOAD_MAX]

cdef struct Completion:         # 32 bytes: one ResultRing slot
    uint64_t event_id           # the event's (a workflow's nodes and summary: the OP_WF_RUN event's)
    uint64_t value              # scalar result (crc, pid, address, count ...)
    int32_t status              # E_*
    uint32_t length             # the whole output's length (min(length, capacity) bytes were written)
    uint16_t opcode
    uint16_t flags              # RF_*
    uint16_t node               # workflows: the node this is about (or that failed)
    uint8_t deck                # the deck where the event ended (failed)
    uint8_t attempts            # how many times it ran (retries + 1)

cdef struct RingHeader:         # RING_HEADER_SIZE bytes; head and tail on their own cache lines
    uint32_t head               # written by the producer only
    uint8_t pad0[60]
    uint32_t tail               # written by the consumer only
    uint8_t pad1[60]
    uint32_t size               # slots, a power of two
    uint32_t slot_size
    uint32_t flags              # RING_*
    uint32_t reserved0
    uint64_t reserved           # ResultRing: completions the kernel has promised room for
    uint8_t pad2[104]

cdef struct GraphHeader:        # 16 bytes
    uint32_t magic
    uint16_t nnodes
    uint16_t ndeps
    uint32_t data_len
    uint32_t reserved

cdef struct NodeDesc:           # 64 bytes
    uint16_t opcode
    uint8_t route_len
    uint8_t input_kind          # INPUT_*
    uint8_t route[ROUTE_MAX]
    uint16_t input_node
    uint16_t deps_first         # its dependencies: deps[deps_first : deps_first + ndeps]
    uint16_t ndeps
    uint8_t max_retries         # extra attempts after E_AGAIN (transient) failures
    uint8_t flags               # NODE_*
    uint16_t backoff_ms         # before retry k: backoff_ms << (k - 1)
    uint16_t reserved
    uint32_t data_offset
    uint32_t data_len
    uint64_t args[4]

cdef struct CapSet:             # 64 bytes: what a process may do
    uint64_t flags              # CAP_*
    uint64_t files              # rights on file class c: bits 8c .. 8c+4 (RIGHT_*)
    uint64_t ops[DECK_COUNT]    # opcode x allowed: bit (x & 63) of ops[x >> 8]
    uint64_t reserved

cdef struct FileStat:           # OP_FS_STAT's output
    uint64_t id
    uint64_t size
    uint64_t ctime              # seconds since 1970 (UTC), from the RTC
    uint64_t mtime
    uint32_t ntags
    uint32_t nextents
    uint32_t label              # its class (FILE_*)
    uint32_t reserved

cdef struct StageCounters:      # OP_STAGES' output, 128 bytes: cycles and entries per STAGE_*
    uint64_t cycles[NSTAGES]
    uint64_t entries[NSTAGES]

cdef struct ProcInfo:           # OP_PS's output, 64 bytes per process
    uint32_t pid
    uint32_t parent
    uint32_t state              # 1 runnable, 2 running, 3 blocked (waiting), 4 ended
    uint32_t console            # 1: it owns the console's input
    uint64_t ticks              # timer ticks it ran
    uint64_t mem_pages          # pages it holds (OP_MEM_ALLOC)
    uint64_t inflight           # its events in the kernel
    char name[PROC_NAME_MAX]

cdef struct SysStat:            # OP_SYSSTAT's output
    uint64_t ticks              # timer ticks since boot
    uint64_t tick_hz
    uint64_t pages_total        # physical memory, 4 KiB pages
    uint64_t pages_free
    uint64_t heap_bytes         # the kernel heap in use
    uint64_t processes          # live
    uint64_t events_in_flight   # inside the Guide
    uint64_t runs_in_flight     # workflow runs started and not finished
    uint64_t workflows          # registered
    uint64_t processed          # deck steps since boot
    uint64_t deck_steps[DECK_COUNT]   # of them, per deck
    uint64_t console_owner      # the pid that reads the console (0: none)
    uint64_t tracing            # 1 while tracing is on
    uint64_t reserved[4]

cdef enum:
    SOCK_UDP = 1                # OP_NET_SOCKET arg[0]
    SOCK_TCP = 2
    NET_DROP_SLOTS = 32         # NetStat.drops: by reason (docs/net.md lists them)
    # OP_HTTP_HEAD arg[1]: what its input holds, in this order, and the head's options
    HEAD_STAT = 0x01            # a FileStat: Content-Length = the file's size
    HEAD_ETAG = 0x02            # a 4-byte CRC-32 (an OP_CRC32 node's output): ETag
    HEAD_BODY = 0x04            # the rest is a text body, appended to the head (Content-Length = its length)
    HEAD_ID = 0x08              # with HEAD_STAT: the body is the file's id and a newline, Location: /files/ID
    HEAD_CLOSE = 0x10           # Connection: close

cdef struct NetStat:            # OP_NET_STAT's output
    uint8_t mac[6]
    uint8_t link_up             # 1: a card is attached and its link is up
    uint8_t pad
    uint32_t ip                 # the interface's address (host order), its mask and gateway
    uint32_t mask
    uint32_t gateway
    uint32_t sockets            # open over all processes
    uint64_t rx_frames
    uint64_t rx_bytes
    uint64_t tx_frames
    uint64_t tx_bytes
    uint64_t arp_in             # accepted packets of each protocol
    uint64_t ip_in
    uint64_t icmp_in
    uint64_t udp_in
    uint64_t tcp_in
    uint64_t drops[NET_DROP_SLOTS]

cdef struct UserInfo:           # at USER_INFO, read-only to the process
    uint64_t magic              # "KWEUSER1"
    uint32_t abi_version
    uint32_t pid
    uint32_t parent
    uint32_t event_ring_size
    uint32_t result_ring_size
    uint32_t tick_hz
    uint64_t tsc_hz
    uint64_t event_ring         # addresses of the two rings
    uint64_t result_ring
    char name[32]
    char args[256]              # the words after the program name in OP_SPAWN
