# sh: the interactive shell on the console.  init starts it for
# `init shell` (what `tools/kwe run` boots in a terminal).  It reads the
# console (OP_CONSOLE_READ), edits the line (backspace, left/right,
# Home/End, Ctrl-A/E/U, history with up/down, Tab completion of commands
# and program names), and runs builtins or programs: a program in the
# foreground gets the console until it ends (Ctrl-C ends it: the kernel's
# tty does that), one with `&` runs beside the shell.  `help` lists it all.
# `sh -c WORDS` runs one command and exits with how it went.
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy, memmove, memset
from user cimport sdk, fs, net, lineedit, wffile
from kwe.common cimport abi, kstr
from kwe.common.abi cimport Completion, ProcInfo, SysStat, FileStat

cdef enum:
    WORDS_MAX = 16
    JOBS_MAX = 64
    PS_MAX = 256
    IDS_MAX = 256
    CHUNK = 4096
    PUT_MAX = 65536             # what `put` takes in (more is refused, never cut silently)

cdef char cmd[lineedit.LINE_MAX]              # the line, split into words in place
cdef char* argv[WORDS_MAX]
cdef int argc = 0
cdef uint32_t jobs[JOBS_MAX]                # background pids still running
cdef int njobs = 0
cdef uint32_t fg = 0                        # the foreground job
cdef int fg_status = 0
cdef bint fg_done = False
cdef bint quitting = False
cdef int last_status = 0                    # of the last command (what `sh -c` exits with)
cdef uint8_t chunk[CHUNK]
cdef ProcInfo procs[PS_MAX]
cdef uint64_t ids[IDS_MAX]

# ---- jobs ----------------------------------------------------------------------------
cdef void exited(uint32_t pid, int status) noexcept nogil:
    """A child ended: the foreground job, or one of the background ones."""
    global fg_done, fg_status, njobs
    cdef int i
    if pid == fg:
        fg_done, fg_status = True, status
        return
    for i in range(njobs):
        if jobs[i] == pid:
            jobs[i] = jobs[njobs - 1]
            njobs -= 1
            break
    report(pid, status, b"done")

cdef void report(uint32_t pid, int status, const char* what) noexcept nogil:
    if status == 128:
        sdk.printf(b"[%u] killed\n", pid)
    elif status > 128 and status < 160:
        sdk.printf(b"[%u] killed by CPU fault %u\n", pid, status - 128)
    elif status == 0:
        sdk.printf(b"[%u] %s\n", pid, <uint64_t>what)
    elif status < 0:
        sdk.printf(b"[%u] %s, status %e\n", pid, <uint64_t>what, status)
    else:
        sdk.printf(b"[%u] %s, status %d\n", pid, <uint64_t>what, status)

cdef void on_result(Completion* r) noexcept nogil:
    if r.flags & abi.RF_CHILD_EXIT:
        exited(<uint32_t>r.value, r.status)

cdef void wait_child() noexcept nogil:
    """Results until the foreground job's exit notice."""
    cdef Completion r
    while not fg_done:
        sdk.wait_result(&r)
        on_result(&r)

cdef int run_program(const char* command, bint background) noexcept nogil:
    global fg, fg_done, njobs
    cdef int64_t pid = sdk.spawn(command, 0, 0, 0)
    if pid < 0:
        sdk.printf(b"sh: %s: %e (help lists the programs)\n", <uint64_t>argv[0], pid)
        return <int>pid
    if background:
        if njobs < JOBS_MAX:
            jobs[njobs] = <uint32_t>pid
            njobs += 1
        sdk.printf(b"[%u] started\n", pid)
        return 0
    fg, fg_done = <uint32_t>pid, False
    sdk.console_give(<uint32_t>pid)
    wait_child()
    fg = 0
    sdk.console_give(sdk.info().pid)        # back to us (it is already, once the job ended)
    if fg_status == 128:
        sdk.puts(b"^C\n")
    elif fg_status != 0:
        report(<uint32_t>pid, fg_status, b"ended")
    return fg_status

cdef void wait_jobs(uint32_t only) noexcept nogil:
    cdef Completion r
    while njobs > 0 and (only == 0 or has_job(only)):
        sdk.wait_result(&r)
        on_result(&r)

cdef bint has_job(uint32_t pid) noexcept nogil:
    cdef int i
    for i in range(njobs):
        if jobs[i] == pid:
            return True
    return False

# ---- words --------------------------------------------------------------------------
cdef void split(const char* text) noexcept nogil:
    global argc
    cdef size_t i = 0
    kstr.copy(cmd, text, lineedit.LINE_MAX)
    argc = 0
    while cmd[i] and argc < WORDS_MAX:
        while cmd[i] == c' ':
            cmd[i] = 0
            i += 1
        if cmd[i] == 0:
            break
        argv[argc] = &cmd[i]
        argc += 1
        while cmd[i] and cmd[i] != c' ':
            i += 1

cdef bint is_word(int i, const char* w) noexcept nogil:
    return i < argc and kstr.equal(argv[i], w)

cdef bint parse_id(int i, uint64_t* out) noexcept nogil:
    if i >= argc or not kstr.parse_u64(argv[i], kstr.length(argv[i]), out):
        sdk.printf(b"sh: %s: give a file id (ls shows them)\n", <uint64_t>argv[0])
        return False
    return True

cdef void rest(int first, char* out, size_t cap) noexcept nogil:
    """Words first.. joined by single spaces."""
    cdef int i
    cdef size_t n = 0, w
    out[0] = 0
    for i in range(first, argc):
        w = kstr.length(argv[i])
        if n + w + 2 > cap:
            break
        if n:
            out[n] = c' '
            n += 1
        memcpy(out + n, argv[i], w)
        n += w
        out[n] = 0

cdef bint failed(int64_t r) noexcept nogil:
    if r < 0:
        sdk.printf(b"sh: %s: %e\n", <uint64_t>argv[0], r)
        return True
    return False

# ---- builtins: processes and the system ------------------------------------------------------
cdef void show_ps() noexcept nogil:
    cdef int64_t n = sdk.ps(procs, PS_MAX), i
    cdef const char* states = b"?RRBZ"
    cdef const char* mark
    if failed(n):
        return
    sdk.puts(b"  PID  PPID S    TICKS  PAGES EVENTS NAME\n")
    for i in range(n if n < PS_MAX else PS_MAX):
        mark = b""
        if procs[i].console:
            mark = b" (console)"
        sdk.printf(b"%5u %5u %c %8u %6u %6u %s%s\n", procs[i].pid, procs[i].parent,
                   states[procs[i].state if procs[i].state < 5 else 0], procs[i].ticks,
                   procs[i].mem_pages, procs[i].inflight, <uint64_t>procs[i].name,
                   <uint64_t>mark)

cdef void show_stat() noexcept nogil:
    cdef SysStat s
    cdef const char* decks[abi.DECK_COUNT]
    cdef const char* state
    cdef int d
    if failed(sdk.sysstat(&s)):
        return
    decks[0], decks[1], decks[2], decks[3], decks[4] = b"execution", b"operations", b"hardware", b"storage", b"network"
    sdk.printf(b"memory: %u of %u KiB free; kernel heap %u bytes\n", s.pages_free * 4, s.pages_total * 4,
               s.heap_bytes)
    sdk.printf(b"processes: %u; events in flight %u; workflows %u registered, %u running\n",
               s.processes, s.events_in_flight, s.workflows, s.runs_in_flight)
    sdk.printf(b"deck steps: %u in all;", s.processed)
    for d in range(abi.DECK_COUNT):
        sdk.printf(b" %s %u", <uint64_t>decks[d], s.deck_steps[d])
    state = b"off"
    if s.tracing:
        state = b"on"
    sdk.printf(b"\ntracing %s; console: pid %u\n", <uint64_t>state, s.console_owner)

cdef void show_uptime() noexcept nogil:
    cdef SysStat s
    cdef uint64_t ms
    if failed(sdk.sysstat(&s)):
        return
    ms = s.ticks * 1000 / s.tick_hz if s.tick_hz else 0
    sdk.printf(b"up %u.%03u s (%u ticks at %u Hz)\n", ms / 1000, ms % 1000, s.ticks, s.tick_hz)

cdef void do_kill() noexcept nogil:
    cdef uint64_t pid
    if argc < 2 or not kstr.parse_u64(argv[1], kstr.length(argv[1]), &pid):
        sdk.puts(b"sh: kill: give a pid (ps shows them)\n")
        return
    failed(sdk.kill(<uint32_t>pid))

cdef void do_trace() noexcept nogil:
    cdef int r
    if is_word(1, b"on"):
        r = sdk.trace(abi.TRACE_ON)
    elif is_word(1, b"off"):
        r = sdk.trace(abi.TRACE_OFF)
    elif is_word(1, b"dump"):
        r = sdk.trace(abi.TRACE_DUMP)
    else:
        sdk.puts(b"sh: trace: on, off or dump\n")
        return
    if not failed(r):
        sdk.printf(b"trace: %s\n", <uint64_t>argv[1])

# ---- builtins: files ---------------------------------------------------------------------------
cdef void list_files() noexcept nogil:
    cdef char q[lineedit.LINE_MAX]
    cdef int64_t n, i
    rest(1, q, sizeof(q))
    if q[0] == 0:
        kstr.copy(q, b"type=program OR NOT type=program", sizeof(q))      # everything
    n = fs.query(q, ids, IDS_MAX)
    if failed(n):
        return
    for i in range(n if n < IDS_MAX else IDS_MAX):
        show_file(ids[i])
    if n > IDS_MAX:
        sdk.printf(b"... %u files in all, the first %u shown\n", n, IDS_MAX)

cdef void show_file(uint64_t id) noexcept nogil:
    cdef FileStat st
    cdef char tags[512]
    if fs.stat(id, &st) < 0 or fs.tags_line(id, tags, sizeof(tags)) < 0:
        sdk.printf(b"%5u  (unreadable)\n", id)
        return
    sdk.printf(b"%5u %8u  %s\n", id, st.size, <uint64_t>tags)

cdef void cat() noexcept nogil:
    cdef uint64_t id
    cdef int64_t fd, n
    if not parse_id(1, &id):
        return
    fd = fs.open(id)
    if failed(fd):
        return
    n = fs.read(<uint64_t>fd, chunk, CHUNK)
    while n > 0:
        sdk.write(<const char*>chunk, <size_t>n)
        n = fs.read(<uint64_t>fd, chunk, CHUNK)
    failed(n)
    fs.close(<uint64_t>fd)

cdef void put() noexcept nogil:
    """put TAG...: the text typed next (to a line with a single '.') is a new file."""
    cdef char tags[lineedit.LINE_MAX]
    cdef int64_t id, fd
    cdef uint64_t total = 0
    cdef const char* text
    cdef size_t n
    if argc < 2:
        sdk.puts(b"sh: put: give the new file's tags (put note lang=en)\n")
        return
    rest(1, tags, sizeof(tags))
    id = fs.create(tags)
    if failed(id):
        return
    fd = fs.open(<uint64_t>id)
    if failed(fd):
        return
    sdk.puts(b"type the text; a line with a single '.' ends it\n")
    while True:
        text = lineedit.read_plain(b"> ")
        if text == NULL or kstr.equal(text, b"."):
            break
        n = kstr.length(text)
        if total + n + 1 > PUT_MAX:
            sdk.printf(b"sh: put: more than %u bytes; the file keeps what came before\n", PUT_MAX)
            break
        if failed(fs.write(<uint64_t>fd, text, <uint32_t>n, False)) or failed(fs.write(<uint64_t>fd, b"\n", 1, False)):
            break
        total += n + 1
    fs.close(<uint64_t>fd)
    fs.sync()
    sdk.printf(b"file %u: %u bytes\n", id, total)

cdef void retag(bint add) noexcept nogil:
    cdef uint64_t id
    cdef int i
    if not parse_id(1, &id):
        return
    if argc < 3:
        sdk.printf(b"sh: %s: give a file id and tags\n", <uint64_t>argv[0])
    for i in range(2, argc):
        if failed(fs.tag(id, argv[i]) if add else fs.untag(id, argv[i])):
            return

cdef void remove() noexcept nogil:
    cdef uint64_t id
    if parse_id(1, &id):
        failed(fs.delete(id))

# ---- builtins: workflows ----------------------------------------------------------------------
cdef void do_wf() noexcept nogil:
    global last_status
    if is_word(1, b"run") and argc == 3:
        last_status = wffile.run(argv[2])
    elif is_word(1, b"show") and argc == 3:
        last_status = wffile.show(argv[2])
    elif is_word(1, b"list") or argc == 1:
        last_status = wffile.list()
    else:
        sdk.puts(b"sh: wf: run NAME|ID, show NAME|ID or list (docs/workflows.md)\n")
        last_status = abi.E_INVAL

# ---- help ------------------------------------------------------------------------------------------
cdef void help() noexcept nogil:
    cdef int i
    sdk.puts(b"builtins:\n"
             b"  help                 this\n"
             b"  ps                   processes (the console's owner is marked)\n"
             b"  kill PID             end a process you started (or any, with CAP_SYSTEM)\n"
             b"  PROGRAM [ARGS] [&]   run a program; & runs it beside the shell; Ctrl-C ends the foreground one\n"
             b"  wait [PID]           wait for background programs (all, or one)\n"
             b"  jobs                 the background programs still running\n"
             b"  ls [QUERY]           files (id, size, tags) matching a tag query, or all\n"
             b"  cat ID               a file's bytes\n"
             b"  put TAG...           a new file with these tags, from the lines typed next\n"
             b"  tag ID TAG... / untag ID TAG... / rm ID\n"
             b"  wf run NAME|ID       run a workflow file (type=workflow name=NAME); each node as it ends\n"
             b"  wf show NAME|ID / wf list   a workflow's DAG / the workflow files\n"
             b"  trace on|off|dump    the kernel's event trace (dump: to the console)\n"
             b"  stat / uptime        memory, processes, workflows, per-deck counts / time since boot\n"
             b"  net                  the network interface, its counters and what it dropped\n"
             b"  poweroff (or exit, or Ctrl-D)   end the background programs and the shell\n"
             b"keys: left/right, Home/End (Ctrl-A/E), up/down history, Tab completes, Ctrl-U clears, Ctrl-C cancels\n"
             b"programs:")
    for i in range(lineedit.nprograms()):
        sdk.printf(b" %s", <uint64_t>lineedit.program(i))
    sdk.puts(b"\n")

cdef void show_jobs() noexcept nogil:
    cdef int i
    for i in range(njobs):
        sdk.printf(b"[%u] running\n", jobs[i])

cdef void poweroff() noexcept nogil:
    global quitting
    cdef int i
    for i in range(njobs):
        sdk.kill(jobs[i])
    wait_jobs(0)
    quitting = True

# ---- the loop -------------------------------------------------------------------------------------
cdef bint builtin() noexcept nogil:
    cdef uint64_t pid = 0
    if is_word(0, b"help"):
        help()
    elif is_word(0, b"ps"):
        show_ps()
    elif is_word(0, b"kill"):
        do_kill()
    elif is_word(0, b"wait"):
        if argc > 1:
            kstr.parse_u64(argv[1], kstr.length(argv[1]), &pid)
        wait_jobs(<uint32_t>pid)
    elif is_word(0, b"jobs"):
        show_jobs()
    elif is_word(0, b"ls"):
        list_files()
    elif is_word(0, b"cat"):
        cat()
    elif is_word(0, b"put"):
        put()
    elif is_word(0, b"tag") or is_word(0, b"untag"):
        retag(is_word(0, b"tag"))
    elif is_word(0, b"rm"):
        remove()
    elif is_word(0, b"trace"):
        do_trace()
    elif is_word(0, b"wf"):
        do_wf()
    elif is_word(0, b"stat"):
        show_stat()
    elif is_word(0, b"uptime"):
        show_uptime()
    elif is_word(0, b"net"):
        failed(net.show())
    elif is_word(0, b"poweroff") or is_word(0, b"exit"):
        poweroff()
    else:
        return False
    return True

cdef void execute(const char* text) noexcept nogil:
    global argc, last_status
    cdef char command[lineedit.LINE_MAX]
    cdef bint background = False
    split(text)
    if argc == 0:
        return
    if kstr.equal(argv[argc - 1], b"&"):
        background = True
        argc -= 1
        if argc == 0:
            return
    last_status = 0
    if builtin():
        return
    rest(0, command, sizeof(command))
    last_status = run_program(command, background)

cdef int command_mode() noexcept nogil:
    """sh -c WORDS: run one command and exit 0 if it went well (tools/kwe wf)."""
    cdef const char* words = sdk.info().args
    while words[0] == c' ':
        words += 1
    execute(words + 2)                          # past the -c that umain found
    wait_jobs(0)
    return 0 if last_status == 0 else 1

cdef public int umain() noexcept nogil:
    cdef const char* text
    cdef char word[4]
    sdk.on_result(on_result)
    if sdk.arg(0, word, sizeof(word)) == 2 and kstr.equal(word, b"-c"):
        return command_mode()
    lineedit.init()
    sdk.printf(b"KWE shell (pid %u); help lists what it does\n", sdk.info().pid)
    while not quitting:
        text = lineedit.read_line(b"kwe> ")
        if text == NULL:                        # Ctrl-D on an empty line
            sdk.puts(b"exit\n")
            poweroff()
            break
        execute(text)
    return 0
