# See lineedit.pxd.
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy, memmove
from user cimport sdk, fs
from kwe.common cimport kstr
from kwe.common.tags cimport value_of

cdef enum:
    OUT_MAX = 1024
    IN_MAX = 256
    NCOMMANDS = 19

cdef char line[LINE_MAX]
cdef uint32_t n = 0, cur = 0, shown = 0
cdef const char* prompt_now = NULL
cdef char hist[HISTORY][LINE_MAX]
cdef uint32_t hcount = 0, back = 0
cdef char draft[LINE_MAX]
cdef uint8_t inbuf[IN_MAX]
cdef int64_t inlen = 0, inpos = 0
cdef bint after_cr = False
cdef bint plain = False               # read_plain: no history, no Tab
cdef char names[PROGRAMS_MAX][NAME_MAX]
cdef int nnames = 0
cdef char out[OUT_MAX]
cdef const char* commands[NCOMMANDS]

# ---- what Tab completes ------------------------------------------------------------
cdef void init() noexcept nogil:
    global nnames
    cdef uint64_t ids[PROGRAMS_MAX]
    cdef int64_t found = fs.query(b"type=program", ids, PROGRAMS_MAX), i
    set_commands()
    nnames = 0
    for i in range(found if found < PROGRAMS_MAX else PROGRAMS_MAX):      # E_*: none
        add_program(ids[i])

cdef void set_commands() noexcept nogil:
    commands[0], commands[1], commands[2], commands[3] = b"help", b"ps", b"kill", b"wait"
    commands[4], commands[5], commands[6], commands[7] = b"jobs", b"ls", b"cat", b"put"
    commands[8], commands[9], commands[10], commands[11] = b"tag", b"untag", b"rm", b"trace"
    commands[12], commands[13], commands[14], commands[15] = b"stat", b"uptime", b"poweroff", b"exit"
    commands[16], commands[17], commands[18] = b"wf", b"on", b"off"

cdef void add_program(uint64_t id) noexcept nogil:
    """Its name= tag into names[] (tags come one per line)."""
    global nnames
    cdef char tags[512]
    cdef int64_t len = fs.tags(id, tags, sizeof(tags) - 1), j = 0
    cdef long at
    if len < 0:
        return
    len = len if len < <int64_t>sizeof(tags) - 1 else <int64_t>sizeof(tags) - 1
    tags[len] = 0
    at = value_of(tags, <size_t>len, b"name")
    if at < 0:
        return
    while tags[at + j] and tags[at + j] != c'\n' and j < NAME_MAX - 1:
        names[nnames][j] = tags[at + j]
        j += 1
    names[nnames][j] = 0
    nnames += 1

cdef int nprograms() noexcept nogil:
    return nnames

cdef const char* program(int i) noexcept nogil:
    if 0 <= i < nnames:
        return names[i]
    return NULL

# ---- the screen -----------------------------------------------------------------------
cdef size_t put_text(size_t k, const char* s, size_t len) noexcept nogil:
    if k + len > OUT_MAX:
        len = OUT_MAX - k
    memcpy(out + k, s, len)
    return k + len

cdef void redraw() noexcept nogil:
    """Prompt and line again from the start of the row, blanks over what
    was longer, then back to the cursor."""
    global shown
    cdef size_t k = put_text(0, b"\r", 1)
    cdef uint32_t i, wide = n if n > shown else shown
    k = put_text(k, prompt_now, kstr.length(prompt_now))
    k = put_text(k, line, n)
    for i in range(n, wide):
        k = put_text(k, b" ", 1)
    for i in range(cur, wide):
        k = put_text(k, b"\b", 1)
    sdk.write(out, k)
    shown = n

cdef void fresh_line() noexcept nogil:
    global shown
    sdk.puts(b"\n")
    shown = 0
    redraw()

# ---- editing ------------------------------------------------------------------------------
cdef void insert(char c) noexcept nogil:
    global n, cur, shown
    if n >= LINE_MAX - 1:
        sdk.puts(b"\a")
        return
    memmove(line + cur + 1, line + cur, n - cur)
    line[cur] = c
    n += 1
    cur += 1
    if cur == n and shown == n - 1:             # typed at the end: only the character
        sdk.write(&c, 1)
        shown = n
    else:
        redraw()

cdef void delete_at(uint32_t at) noexcept nogil:
    global n, cur
    if at >= n:
        return
    memmove(line + at, line + at + 1, n - at - 1)
    n -= 1
    if cur > at:
        cur -= 1
    redraw()

cdef void set_line(const char* s) noexcept nogil:
    global n, cur
    n = <uint32_t>kstr.length(s)
    if n > LINE_MAX - 1:
        n = LINE_MAX - 1
    memcpy(line, s, n)
    cur = n
    redraw()

cdef void move(int64_t to) noexcept nogil:
    global cur
    if to < 0 or to > n:
        return
    cur = <uint32_t>to
    redraw()

cdef void browse(int step) noexcept nogil:
    """History: step 1 older, -1 newer; the line being typed is kept aside."""
    global back
    cdef uint32_t most = hcount if hcount < HISTORY else HISTORY
    if plain:
        return
    if step > 0 and back < most:
        if back == 0:
            line[n] = 0
            kstr.copy(draft, line, LINE_MAX)
        back += 1
    elif step < 0 and back > 0:
        back -= 1
    else:
        return
    if back == 0:
        set_line(draft)
    else:
        set_line(hist[(hcount - back) % HISTORY])

cdef void remember() noexcept nogil:
    global hcount
    line[n] = 0
    if n == 0 or (hcount and kstr.equal(hist[(hcount - 1) % HISTORY], line)):
        return
    kstr.copy(hist[hcount % HISTORY], line, LINE_MAX)
    hcount += 1

# ---- Tab ---------------------------------------------------------------------------------
cdef const char* candidate(int i) noexcept nogil:
    if i < NCOMMANDS:
        return commands[i]
    return names[i - NCOMMANDS]

cdef bint prefixed(const char* word, uint32_t len) noexcept nogil:
    cdef uint32_t i
    for i in range(len):
        if word[i] != line[i]:
            return False
    return True

cdef void complete() noexcept nogil:
    """The first word: as far as every match agrees, a space after a
    single match; with nothing to add, the matches are listed."""
    cdef uint32_t i, common = 0, j
    cdef int k, count = 0, first = -1
    cdef const char* w
    for i in range(cur):
        if line[i] == c' ':
            return                              # only the command word completes
    for k in range(NCOMMANDS + nnames):
        w = candidate(k)
        if kstr.length(w) >= cur and prefixed(w, cur):
            if first < 0:
                first, common = k, <uint32_t>kstr.length(w)
            j = 0
            while j < common and w[j] == candidate(first)[j]:
                j += 1
            common = j
            count += 1
    if count == 0:
        return
    w = candidate(first)
    for i in range(cur, common):
        insert(w[i])
    if count == 1:
        insert(c' ')
    elif common == cur:
        list_matches()

cdef void list_matches() noexcept nogil:
    cdef int k
    cdef const char* w
    sdk.puts(b"\n")
    for k in range(NCOMMANDS + nnames):
        w = candidate(k)
        if kstr.length(w) >= cur and prefixed(w, cur):
            sdk.printf(b"%s  ", <uint64_t>w)
    fresh_line()

# ---- keys -----------------------------------------------------------------------------------
cdef int next_byte() noexcept nogil:
    global inlen, inpos
    while inpos >= inlen:
        inlen = sdk.console_read(inbuf, IN_MAX)
        inpos = 0
        if inlen < 0:
            inlen = 0
            return -1
    inpos += 1
    return inbuf[inpos - 1]

cdef void escape() noexcept nogil:
    """ESC [ X (or ESC O X): arrows, Home, End; ESC [ n ~: Delete and such."""
    cdef int c = next_byte(), final
    if c != c'[' and c != c'O':
        return
    final = next_byte()
    while c'0' <= final <= c'9' or final == c';':
        c = final
        final = next_byte()
    if final == c'A':
        browse(1)
    elif final == c'B':
        browse(-1)
    elif final == c'C':
        move(cur + 1)
    elif final == c'D':
        move(<int64_t>cur - 1)
    elif final == c'H':
        move(0)
    elif final == c'F':
        move(n)
    elif final == c'~' and c == c'3':
        delete_at(cur)

cdef int key(int c) noexcept nogil:
    """Act on one byte: 1 the line is done, -1 the end (Ctrl-D), 0 go on."""
    global n, cur, shown, after_cr
    cdef bint was_cr = after_cr
    after_cr = c == c'\r'
    if c == c'\r' or (c == c'\n' and not was_cr):
        sdk.puts(b"\n")
        return 1
    if c == 0x04 and n == 0:
        return -1
    if c == 0x03:
        sdk.puts(b"^C")
        n = cur = 0
        fresh_line()
    elif c == 0x7F or c == 0x08:
        if cur > 0:
            delete_at(cur - 1)
    elif c == 0x04:
        delete_at(cur)
    elif c == 0x1B:
        escape()
    elif c == 0x01:
        move(0)
    elif c == 0x05:
        move(n)
    elif c == 0x15:
        n = cur = 0
        redraw()
    elif c == 0x0B:
        n = cur
        redraw()
    elif c == c'\t':
        if not plain:
            complete()
    elif 0x20 <= c < 0x7F:
        insert(<char>c)
    return 0

cdef const char* edit(const char* prompt, bint history) noexcept nogil:
    global n, cur, shown, back, prompt_now, plain
    cdef int c, r
    prompt_now, plain = prompt, not history
    n = cur = shown = back = 0
    redraw()
    while True:
        c = next_byte()
        r = key(c) if c >= 0 else -1
        if r < 0:
            return NULL
        if r > 0:
            line[n] = 0
            return line

cdef const char* read_line(const char* prompt) noexcept nogil:
    cdef const char* got = edit(prompt, True)
    if got != NULL:
        remember()
    return got

cdef const char* read_plain(const char* prompt) noexcept nogil:
    return edit(prompt, False)
