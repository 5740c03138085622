# files: TagFS from a process -- every file operation, its error codes,
# and a file read feeding a CRC32 inside one workflow.  Exits 0 when every
# check held.
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcmp, memset
from user cimport sdk, fs, wf
from kwe.common cimport abi, kstr, operations, tags, crc
from kwe.common.abi cimport FileStat, Completion

cdef int checks = 0, passed = 0
cdef uint8_t big[20000]
cdef uint8_t back[20000]
cdef uint64_t ids[64]
cdef char text[512]
cdef wf.WfNode nodes[4]
cdef uint8_t data[64]
cdef uint8_t blob[1024]

cdef void check(bint ok, const char* what) noexcept nogil:
    global checks, passed
    checks += 1
    passed += ok
    if not ok:
        sdk.printf(b"files: FAILED %s\n", <uint64_t>what)

cdef uint64_t file_crc = 0

cdef const char* crc_path_name() noexcept nogil:
    cdef int p = crc.path()
    return b"vpclmul" if p == crc.PATH_VPCLMUL else b"clmul" if p == crc.PATH_CLMUL else b"table"

cdef void on_node(Completion* r) noexcept nogil:
    global file_crc
    if r.opcode == abi.OP_CRC32:
        file_crc = r.value

cdef void tag_rules(uint64_t a) noexcept nogil:
    """The kernel keeps kwe.common.tags' rules, the same C this program links:
    what tags.check() refuses it refuses with E_INVAL; operators in any case."""
    cdef const char* bad[6]
    cdef int i
    bad[0], bad[1], bad[2], bad[3] = b"x=", b"=v", b"and", b"Not"
    bad[4], bad[5] = b"a\xc2\xa0b", b"\xc0\xaf"           # a no-break space; an overlong '/'
    check(fs.create(b"x=") == abi.E_INVAL, b"create x= is E_INVAL")
    for i in range(6):
        check(tags.check(bad[i], kstr.length(bad[i])) != tags.TAG_OK and fs.tag(a, bad[i]) == abi.E_INVAL,
              b"a tag check() refuses is E_INVAL")
    check(fs.tag(a, b"f\xc3\xa4rg=r\xc3\xb6d") == 0, b"a UTF-8 tag")
    check(fs.query(b"kind=demo and important", ids, 64) == 1, b"query with lowercase and")
    check(fs.query(b"f\xc3\xa4rg=r\xc3\xb6d And Not important", ids, 64) == 0, b"query with And Not")
    check(fs.query(b"nothing or kind=demo", ids, 64) == 1, b"query with lowercase or")
    check(fs.query(b"kind=demo x=", ids, 64) == abi.E_INVAL, b"a query word that is no tag")

cdef public int umain() noexcept nogil:
    cdef int64_t a, fd, n
    cdef uint32_t i
    cdef FileStat st
    cdef wf.Graph g
    cdef Completion s
    cdef int get, sum
    for i in range(sizeof(big)):
        big[i] = <uint8_t>(i * 7)
    a = fs.create(b"kind=demo owner=files")
    check(a > 0, b"create")
    fd = fs.open(a)
    check(fd >= 3, b"open")
    check(fs.write(fd, big, sizeof(big), True) == sizeof(big), b"write (by pointer, committed)")
    check(fs.seek(fd, 0) == 0, b"seek")
    check(fs.read(fd, back, sizeof(back)) == sizeof(back) and memcmp(big, back, sizeof(big)) == 0,
          b"read back")
    check(fs.read(fd, back, 10) == 0, b"read at the end")
    check(fs.stat(a, &st) == 0 and st.size == sizeof(big) and st.ntags == 2 and st.mtime > 1700000000,
          b"stat (size, tags, a real clock)")
    check(fs.tag(a, b"important") == 0 and fs.tag(a, b"important") == abi.E_EXIST, b"tag, twice")
    check(fs.untag(a, b"owner=files") == 0, b"untag")
    n = fs.tags(a, text, sizeof(text))
    check(n > 0 and kstr.starts_with(text, b"kind=demo\nimportant\n"), b"tags")
    check(fs.query(b"kind=demo AND important", ids, 64) == 1 and ids[0] == <uint64_t>a, b"query")
    check(fs.query(b"kind=demo AND NOT important", ids, 64) == 0, b"query with NOT")
    check(fs.query(b"kind=demo AND (", ids, 64) == abi.E_INVAL, b"bad query")
    check(fs.tag(a, b"has space") == abi.E_INVAL, b"bad tag")
    tag_rules(<uint64_t>a)
    # a workflow: read the whole file (Storage) and CRC it (Operations), one submit
    wf.init(&g, nodes, 4, data, sizeof(data))
    get = wf.add(&g, abi.OP_FS_GET)
    wf.args(&g, get, <uint64_t>a, 0)
    sum = wf.add(&g, abi.OP_CRC32)
    wf.input_from(&g, sum, get)
    wf.emit(&g, sum)
    check(wf.register(11, blob, wf.encode(&g, blob, sizeof(blob))) == 0, b"register a file workflow")
    # the deck's CRC against this program's own, the fastest folding ring 3 may use
    sdk.printf(b"files: CRC32 here by %s\n", <uint64_t>crc_path_name())
    check(wf.run(11, &s, on_node) == 0 and file_crc == crc.crc32(0, big, sizeof(big)),
          b"workflow: file -> CRC32")
    check(fs.truncate(a, 100) == 0 and fs.stat(a, &st) == 0 and st.size == 100, b"truncate")
    check(wf.run(11, &s, on_node) == 0 and file_crc == operations.crc32(0, big, 100),
          b"the same workflow on the truncated file")
    check(fs.close(fd) == 0 and fs.close(fd) == abi.E_BADF, b"close, twice")
    check(fs.read(fd, back, 10) == abi.E_BADF, b"read a closed fd")
    check(fs.delete(a) == 0 and fs.open(a) == abi.E_NOENT and fs.delete(a) == abi.E_NOENT, b"delete")
    check(fs.query(b"kind=demo", ids, 64) == 0, b"gone from the index")
    check(fs.sync() == 0, b"sync")
    sdk.printf(b"files: %d of %d checks\n", passed, checks)
    return 0 if passed == checks else 1
