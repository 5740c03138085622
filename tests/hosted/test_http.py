"""The HTTP/1.1 request-head parser and its helpers (kwe.common.http): the
requests real clients send, every error class, every split point of a
valid head, and properties: arbitrary bytes never make it read or claim
past the buffer, random valid requests round-trip, query decoding agrees
with urllib.parse, and Python's http.client reads format_head's output."""
import http.client
import io
import re
import urllib.parse

import pytest
from hypothesis import given, settings, strategies as st

from kwe.common import http as h

C = h.py_constants()
GET, PUT, HEAD, OTHER = C["HTTP_GET"], C["HTTP_PUT"], C["HTTP_HEAD"], C["HTTP_OTHER"]
INCOMPLETE, BAD, TOOBIG = C["HTTP_INCOMPLETE"], C["HTTP_BAD"], C["HTTP_TOOBIG"]
VERSION, LENGTH, CHUNKED = C["HTTP_VERSION"], C["HTTP_LENGTH"], C["HTTP_CHUNKED"]
HEAD_MAX, HEADERS_MAX = C["HEAD_MAX"], C["HEADERS_MAX"]

CURL_GET = (b"GET /files/17 HTTP/1.1\r\nHost: 10.0.2.15:8080\r\nUser-Agent: curl/7.88.1\r\n"
            b"Accept: */*\r\n\r\n")
CURL_PUT = (b"PUT /files?name=notes.txt HTTP/1.1\r\nHost: 10.0.2.15:8080\r\nUser-Agent: curl/7.88.1\r\n"
            b"Accept: */*\r\nContent-Length: 2048\r\nExpect: 100-continue\r\n\r\n")


def req(*headers, line=b"GET / HTTP/1.1", eol=b"\r\n"):
    return line + eol + b"".join(x + eol for x in headers) + eol


# ---- what clients send ---------------------------------------------------------------
def test_curl_get():
    r = h.py_parse(CURL_GET)
    assert r["head_len"] == len(CURL_GET) and r["method"] == GET and r["minor"] == 1
    assert r["path"] == b"/files/17" and (r["query_off"], r["query_len"]) == (0, 0)
    assert r["keep_alive"] and not r["has_length"] and not r["expect_continue"]
    assert CURL_GET[r["path_off"]:r["path_off"] + r["path_len"]] == b"/files/17"


def test_curl_put_with_expect_100_continue():
    r = h.py_parse(CURL_PUT + b"body")
    assert r["head_len"] == len(CURL_PUT) and r["method"] == PUT
    assert r["has_length"] and r["content_length"] == 2048 and r["expect_continue"]
    assert r["path"] == b"/files" and r["query"] == b"name=notes.txt"


class Capture:
    """A socket that keeps what http.client sends."""
    def __init__(self):
        self.sent = b""

    def sendall(self, data):
        self.sent += bytes(data)


def client_request(method, url, body=None, headers=None):
    conn = http.client.HTTPConnection("10.0.2.15", 8080)
    conn.sock = Capture()
    conn.request(method, url, body=body, headers=headers or {})
    return conn.sock.sent


def test_python_http_client_put_and_get():
    sent = client_request("PUT", "/files?name=a%20b&x=1", body=b"x" * 300, headers={"Expect": "100-continue"})
    r = h.py_parse(sent)
    assert sent[r["head_len"]:] == b"x" * 300
    assert (r["method"], r["content_length"], r["expect_continue"], r["keep_alive"]) == (PUT, 300, True, True)
    assert h.py_query_param(r["query"], b"name") == b"a b"
    sent = client_request("HEAD", "/files/9", headers={"Connection": "close"})
    r = h.py_parse(sent)
    assert (r["head_len"], r["method"], r["keep_alive"], r["has_length"]) == (len(sent), HEAD, False, False)
    assert h.py_path_id(r["path"], b"/files/") == 9


def test_http_1_0_keeps_alive_only_when_asked():
    plain = h.py_parse(req(b"Host: x", line=b"GET / HTTP/1.0"))
    asked = h.py_parse(req(b"Connection: Keep-Alive", line=b"GET / HTTP/1.0"))
    assert plain["minor"] == 0 and not plain["keep_alive"]
    assert asked["minor"] == 0 and asked["keep_alive"]
    # Expect in 1.0 means nothing: a 1.0 client does not wait for a 100
    assert not h.py_parse(req(b"Expect: 100-continue", line=b"PUT / HTTP/1.0"))["expect_continue"]


@pytest.mark.parametrize("value,alive", [(b"close", False), (b"CLOSE", False), (b"keep-alive, close", False),
                                         (b"Upgrade,  Close ", False), (b"keep-alive", True),
                                         (b"closed", True), (b"x-close", True), (b"", True)])
def test_connection_tokens_in_1_1(value, alive):
    assert h.py_parse(req(b"Connection: " + value))["keep_alive"] == alive


def test_two_connection_headers_add_up():
    assert not h.py_parse(req(b"Connection: keep-alive", b"connection: close"))["keep_alive"]
    assert h.py_parse(req(b"Connection: Upgrade", b"Connection: keep-alive", line=b"GET / HTTP/1.0"))["keep_alive"]


def test_pipelined_requests_are_read_one_at_a_time():
    first, second = req(b"Host: a", line=b"GET /one HTTP/1.1"), CURL_PUT
    r = h.py_parse(first + second)
    assert r["head_len"] == len(first) and r["path"] == b"/one"
    r2 = h.py_parse((first + second)[r["head_len"]:])
    assert r2["head_len"] == len(second) and r2["path"] == b"/files"


def test_methods():
    for line, method in [(b"GET / HTTP/1.1", GET), (b"PUT / HTTP/1.1", PUT), (b"HEAD / HTTP/1.1", HEAD),
                         (b"DELETE / HTTP/1.1", OTHER), (b"get / HTTP/1.1", OTHER), (b"GETS / HTTP/1.1", OTHER),
                         (b"M-SEARCH / HTTP/1.1", OTHER), (b"X!#$%&'*+-.^_`|~ / HTTP/1.1", OTHER)]:
        assert h.py_parse(req(line=line))["method"] == method, line


def test_line_ends_bare_lf_and_leading_empty_lines():
    for data in [b"GET /a HTTP/1.1\nHost: x\n\n", b"GET /a HTTP/1.1\r\nHost: x\n\r\n",
                 b"\r\nGET /a HTTP/1.1\r\n\r\n", b"\n\r\n\nGET /a HTTP/1.1\r\n\r\n"]:
        r = h.py_parse(data)
        assert r["head_len"] == len(data) and r["path"] == b"/a", data


def test_values_are_trimmed_and_names_case_insensitive():
    r = h.py_parse(req(b"CONTENT-length:\t 42 \t", b"X-Empty:", b"X-Odd: a\tb \x80\xff"))
    assert r["content_length"] == 42 and r["has_length"]
    assert h.py_parse(req(b"Content-Length: 7", b"content-length: 7"))["content_length"] == 7


def test_query_and_path_offsets():
    data = req(line=b"GET /a/b?x=1&y=2 HTTP/1.1")
    r = h.py_parse(data)
    assert (r["path"], r["query"]) == (b"/a/b", b"x=1&y=2")
    assert data[r["query_off"]:r["query_off"] + r["query_len"]] == b"x=1&y=2"
    r = h.py_parse(req(line=b"GET /a? HTTP/1.1"))
    assert (r["path"], r["query_len"]) == (b"/a", 0)
    assert h.py_parse(req(line=b"GET /??a HTTP/1.1"))["query"] == b"?a"


# ---- every error class ---------------------------------------------------------------
BAD_HEADS = [
    req(line=b"GET  / HTTP/1.1"), req(line=b"GET /  HTTP/1.1"), req(line=b"GET / HTTP/1.1 "),
    req(line=b" GET / HTTP/1.1"), req(line=b"GET /"), req(line=b"GET"), req(line=b"/ HTTP/1.1"),
    req(line=b"G(T / HTTP/1.1"), req(line=b"G\x80T / HTTP/1.1"), req(line=b"GET\t/ HTTP/1.1"),
    req(line=b"GET * HTTP/1.1"), req(line=b"GET http://x/ HTTP/1.1"), req(line=b"GET a/b HTTP/1.1"),
    req(line=b"GET / HTTP/1.1"[:4] + b" " + b"HTTP/1.1"), req(line=b"GET /a\x01 HTTP/1.1"),
    req(line=b"GET /a\x7f HTTP/1.1"), req(line=b"GET /\xc3\xa9 HTTP/1.1"), req(line=b"GET /a#f HTTP/1.1"),
    req(line=b"GET / HTTX/1.1"), req(line=b"GET / http/1.1"), req(line=b"GET / HTTP/1.x"),
    req(line=b"GET / HTTP/11"), req(line=b"GET / HTTP/1.10"), req(line=b"GET / HTTP/1"),
    req(b"Host : x"), req(b"Host\t: x"), req(b"Host x"), req(b": x"), req(b"Ho(st: x"), req(b"H\x80: x"),
    req(b"Host: x", b" folded"), req(b"Host: x", b"\tfolded"), req(b" Host: x"),
    req(b"Host: a\x00b"), req(b"Host: a\x1bb"), req(b"Host: a\x7fb"), req(b"Host: a\rb"),
    b"GET / HTTP/1.1\rHost: x\r\n\r\n", b"GET / HTTP/1.1\r\n\r\r\n", b"GET / HTTP/1.1\r\r\n\r\n",
    b"\rGET / HTTP/1.1\r\n\r\n",
]


@pytest.mark.parametrize("data", BAD_HEADS)
def test_malformed_heads_are_bad(data):
    assert h.py_parse(data) == BAD


@pytest.mark.parametrize("version", [b"HTTP/2.0", b"HTTP/1.2", b"HTTP/0.9", b"HTTP/3.0", b"HTTP/1.9"])
def test_other_versions(version):
    assert h.py_parse(req(line=b"GET / " + version)) == VERSION


@pytest.mark.parametrize("value", [b"abc", b"-1", b"+1", b"1 2", b"1,1", b"", b"0x10", b"1.0",
                                   str(1 << 64).encode(), b"99999999999999999999999"])
def test_bad_content_lengths(value):
    assert h.py_parse(req(b"Content-Length: " + value)) == LENGTH


def test_content_length_limits_and_duplicates():
    top = (1 << 64) - 1
    assert h.py_parse(req(b"Content-Length: %d" % top))["content_length"] == top
    assert h.py_parse(req(b"Content-Length: 0000012"))["content_length"] == 12
    assert h.py_parse(req(b"Content-Length: 5", b"Content-Length: 6")) == LENGTH
    assert h.py_parse(req(b"Content-Length: 5", b"Content-Length: 05"))["content_length"] == 5


def test_transfer_encoding():
    assert h.py_parse(req(b"Transfer-Encoding: chunked", line=b"PUT / HTTP/1.1")) == CHUNKED
    assert h.py_parse(req(b"transfer-encoding: gzip")) == CHUNKED
    assert h.py_parse(req(b"Transfer-Encoding: chunked", b"Content-Length: 3")) == LENGTH
    assert h.py_parse(req(b"Content-Length: 3", b"Transfer-Encoding: chunked")) == LENGTH


def test_header_count_limit():
    many = [b"X-%d: v" % i for i in range(HEADERS_MAX)]
    assert h.py_parse(req(*many))["head_len"] > 0
    assert h.py_parse(req(*many, b"X-One-More: v")) == TOOBIG


def test_head_size_limit():
    line = b"GET / HTTP/1.1\r\n"
    exact = line + b"X: " + b"a" * (HEAD_MAX - len(line) - 7) + b"\r\n\r\n"
    assert len(exact) == HEAD_MAX and h.py_parse(exact)["head_len"] == HEAD_MAX
    over = line + b"X: " + b"a" * (HEAD_MAX - len(line) - 6) + b"\r\n\r\n"
    assert h.py_parse(over) == TOOBIG
    endless = line + b"X: " + b"a" * HEAD_MAX
    assert h.py_parse(endless[:HEAD_MAX - 1]) == INCOMPLETE
    assert h.py_parse(endless[:HEAD_MAX]) == TOOBIG and h.py_parse(endless) == TOOBIG
    assert h.py_parse(b"\r\n" * HEAD_MAX) == TOOBIG and h.py_parse(b"\r\n" * 100) == INCOMPLETE


def test_an_error_in_a_complete_line_is_answered_before_the_end():
    assert h.py_parse(b"GET / HTTP/2.0\r\nHost: x\r\n") == VERSION
    assert h.py_parse(b"GET / HTTP/1.1\r\nHost : x\r\n") == BAD
    assert h.py_parse(b"GET / HTTP/1.1\r\nContent-Length: x\r\nHo") == LENGTH


# ---- incomplete heads ------------------------------------------------------------------
VALID = [CURL_GET, CURL_PUT, req(b"Host: x", eol=b"\n"), b"\r\n" + req(b"A: b", b"C:d"),
         req(b"Connection: close", b"Transfer-Encoding: chunked"), req(line=b"GET /x?y HTTP/1.0")]


@pytest.mark.parametrize("data", VALID)
def test_every_prefix_is_incomplete(data):
    full = h.py_parse(data)
    assert full == CHUNKED or full["head_len"] == len(data)
    assert [k for k in range(len(data)) if h.py_parse(data[:k]) != INCOMPLETE] == []


# ---- properties ------------------------------------------------------------------------
PIECES = [b"GET", b"PUT", b"HEAD", b" ", b"  ", b"/", b"/files/1", b"?", b"a=b", b"&", b"%2", b"HTTP/1.1",
          b"HTTP/1.0", b"\r\n", b"\n", b"\r", b"\r\n\r\n", b":", b": ", b"\t", b"Content-Length", b"12",
          b"18446744073709551616", b"Connection", b"close", b"keep-alive", b",", b"Expect", b"100-continue",
          b"Transfer-Encoding", b"Host", b"x", b"\x00", b"\x80", b"\x7f"]
headish = st.lists(st.sampled_from(PIECES), max_size=40).map(b"".join)


def check_result(data, got):
    """Whatever parse says of data, it stays inside it; a head it takes parses alone the same."""
    assert got in (INCOMPLETE, BAD, TOOBIG, VERSION, LENGTH, CHUNKED) or isinstance(got, dict), got
    if not isinstance(got, dict):
        return
    n = got["head_len"]
    assert 0 < n <= min(len(data), HEAD_MAX)
    assert data[:n].endswith(b"\n\n") or data[:n].endswith(b"\n\r\n")
    assert got["path_off"] + got["path_len"] <= n and got["query_off"] + got["query_len"] <= n
    assert got["path"].startswith(b"/") and not re.search(rb"[\x00-\x20\x7f-\xff#?]", got["path"])
    assert h.py_parse(data[:n]) == got


@settings(max_examples=600, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes(data):
    check_result(data, h.py_parse(data))


@settings(max_examples=1500, deadline=None)
@given(headish)
def test_header_ish_bytes(data):
    check_result(data, h.py_parse(data))


TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
PCHARS = "abcXYZ0189-._~!$&'()*+,;=:@%/"
VCHARS = "".join(chr(c) for c in range(0x21, 0x7F))
token = st.text(TCHARS, min_size=1, max_size=12)
SPECIAL = {"content-length", "transfer-encoding", "connection", "expect"}


@st.composite
def requests(draw):
    method = draw(st.sampled_from(["GET", "PUT", "HEAD"]) | token)
    path = "/" + draw(st.text(PCHARS, max_size=30))
    query = draw(st.none() | st.text(PCHARS + "?", max_size=30))
    length = draw(st.none() | st.integers(0, (1 << 64) - 1))
    minor = draw(st.sampled_from([0, 1]))
    names = draw(st.lists(token.filter(lambda t: t.lower() not in SPECIAL), max_size=8))
    fields = [(n, draw(st.text(VCHARS + " \t", max_size=20)).strip(" \t")) for n in names]
    if length is not None:
        fields.insert(draw(st.integers(0, len(fields))), ("Content-Length", str(length)))
    eols = draw(st.lists(st.sampled_from(["\r\n", "\n"]), min_size=len(fields) + 2, max_size=len(fields) + 2))
    target = path + ("" if query is None else "?" + query)
    ows = st.sampled_from(["", " ", "\t "])
    lines = [f"{method} {target} HTTP/1.{minor}"] + [n + ":" + draw(ows) + v for n, v in fields]
    text = "".join(line + eol for line, eol in zip(lines, eols)) + eols[-1]
    return text.encode(), method, path, query, length, minor


@settings(max_examples=500, deadline=None)
@given(requests(), st.binary(max_size=20))
def test_random_valid_requests_round_trip(request, after):
    data, method, path, query, length, minor = request
    r = h.py_parse(data + after)
    assert r["head_len"] == len(data)
    assert r["method"] == {"GET": GET, "PUT": PUT, "HEAD": HEAD}.get(method, OTHER)
    assert (r["path"], r["minor"], r["keep_alive"]) == (path.encode(), minor, minor == 1)
    assert r["query"] == (query or "").encode() and (r["query_len"] == 0) == (not query)
    assert (r["has_length"], r["content_length"]) == (length is not None, length or 0)
    assert h.py_parse(data[:len(data) // 2]) == INCOMPLETE


# ---- query_param -----------------------------------------------------------------------
def test_query_param_examples():
    q = b"name=a+b%20c&empty=&bare&x=1&x=2&k%61y=v&eq=a=b"
    assert h.py_query_param(q, b"name") == b"a b c"
    assert h.py_query_param(q, b"empty") == b"" and h.py_query_param(q, b"bare") == b""
    assert h.py_query_param(q, b"x") == b"1" and h.py_query_param(q, b"kay") == b"v"
    assert h.py_query_param(q, b"eq") == b"a=b" and h.py_query_param(q, b"nope") == -1
    assert h.py_query_param(q, b"nam") == -1 and h.py_query_param(q, b"names") == -1
    assert h.py_query_param(b"", b"a") == -1 and h.py_query_param(b"&&a=1&", b"a") == b"1"


@pytest.mark.parametrize("value", [b"%", b"%2", b"%zz", b"%2g", b"a%0", b"%00", b"a\x00b"])
def test_query_param_malformed(value):
    assert h.py_query_param(b"a=" + value + b"&b=1", b"a") == -2
    assert h.py_query_param(b"a=" + value + b"&b=1", b"b") == b"1"


def test_query_param_capacity():
    assert h.py_query_param(b"a=12345", b"a", cap=6) == b"12345"
    assert h.py_query_param(b"a=12345", b"a", cap=5) == -2
    assert h.py_query_param(b"a=%41%42", b"a", cap=3) == b"AB"
    assert h.py_query_param(b"a=", b"a", cap=1) == b"" and h.py_query_param(b"a=", b"a", cap=0) == -2
    assert h.py_query_param(b"%zz=1&a=2", b"a") == b"2"          # a key that does not decode is no match


qchar = st.sampled_from(["a", "b", "=", "&", "+", " ", "%41", "%2B", "%26", "%3D", "%e9", "\xe9", "~", "/", "?"])
qstring = st.lists(qchar, max_size=30).map("".join)


@settings(max_examples=800, deadline=None)
@given(qstring, st.sampled_from(["a", "b", "ab", "a b", "=", "A", "\xe9"]))
def test_query_param_matches_parse_qs(q, name):
    want = urllib.parse.parse_qs(q, keep_blank_values=True, encoding="latin-1").get(name)
    got = h.py_query_param(q.encode("latin-1"), name.encode("latin-1"), cap=1024)
    assert got == (-1 if want is None else want[0].encode("latin-1"))


@settings(max_examples=800, deadline=None)
@given(st.binary(max_size=60))
def test_query_param_value_matches_unquote_plus(raw):
    value = raw.replace(b"&", b"")
    got = h.py_query_param(b"x=1&v=" + value + b"&y", b"v", cap=1024)
    if re.search(rb"%(?![0-9A-Fa-f]{2})", value):
        assert got == -2
        return
    want = urllib.parse.unquote_plus(value.decode("latin-1"), encoding="latin-1").encode("latin-1")
    assert got == (-2 if b"\x00" in want else want)


# ---- path_id ---------------------------------------------------------------------------
@pytest.mark.parametrize("path,want", [(b"/files/0", 0), (b"/files/123", 123), (b"/files/007", 7),
                                       (b"/files/9223372036854775807", (1 << 63) - 1),
                                       (b"/files/9223372036854775808", -1), (b"/files/18446744073709551616", -1),
                                       (b"/files/", -1), (b"/files/-1", -1), (b"/files/+1", -1),
                                       (b"/files/1/", -1), (b"/files/1x", -1), (b"/files/ 1", -1),
                                       (b"/file/1", -1), (b"/files", -1), (b"", -1), (b"/Files/1", -1)])
def test_path_id(path, want):
    assert h.py_path_id(path, b"/files/") == want


@given(st.integers(0, (1 << 63) - 1))
def test_path_id_round_trips(n):
    assert h.py_path_id(b"/files/%d" % n, b"/files/") == n
    assert h.py_path_id(b"/x%d" % n, b"/x") == n


# ---- responses ---------------------------------------------------------------------------
def test_reasons():
    assert [h.py_reason(s) for s in (200, 201, 204, 400, 404, 411, 431, 501, 505)] == [
        "OK", "Created", "No Content", "Bad Request", "Not Found", "Length Required",
        "Request Header Fields Too Large", "Not Implemented", "HTTP Version Not Supported"]
    assert h.py_reason(299) == "" and h.py_reason(0) == "" and h.py_reason(1 << 31) == ""


def test_format_head_example():
    assert h.py_format_head(201, 0, C["HH_LOCATION"] | C["HH_ETAG"], etag=0xBEEF, id=5) == (
        b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\nETag: \"0000beef\"\r\nLocation: /files/5\r\n"
        b"Connection: keep-alive\r\nContent-Type: application/octet-stream\r\n\r\n")


def test_format_head_needs_room_for_all_of_it():
    full = h.py_format_head(404, 9, C["HH_TEXT"] | C["HH_CLOSE"])
    assert full.endswith(b"\r\n\r\n")
    assert [cap for cap in range(len(full) + 1) if h.py_format_head(404, 9, C["HH_TEXT"] | C["HH_CLOSE"],
                                                                     cap=cap)] == []
    assert h.py_format_head(404, 9, C["HH_TEXT"] | C["HH_CLOSE"], cap=len(full) + 1) == full
    assert h.py_format_head(99, 0) == b"" and h.py_format_head(1000, 0) == b""


class Replay:
    """A socket whose stream is data, for http.client.HTTPResponse."""
    def __init__(self, data):
        self.data = data

    def makefile(self, mode, *args, **kw):
        return io.BytesIO(self.data)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([200, 201, 204, 400, 404, 411, 413, 431, 500, 501, 505, 299, 599]),
       st.integers(0, (1 << 64) - 1), st.integers(0, 15), st.integers(0, (1 << 32) - 1),
       st.integers(0, (1 << 64) - 1))
def test_http_client_reads_format_head(status, length, flags, etag, id):
    head = h.py_format_head(status, length, flags, etag, id)
    resp = http.client.HTTPResponse(Replay(head), method="HEAD")
    resp.begin()
    assert (resp.status, resp.reason, resp.version) == (status, h.py_reason(status), 11)
    assert resp.getheader("Content-Length") == str(length)
    assert resp.getheader("ETag") == (f'"{etag:08x}"' if flags & C["HH_ETAG"] else None)
    assert resp.getheader("Location") == (f"/files/{id}" if flags & C["HH_LOCATION"] else None)
    assert resp.getheader("Connection") == ("close" if flags & C["HH_CLOSE"] else "keep-alive")
    assert resp.will_close == bool(flags & C["HH_CLOSE"])
    assert resp.getheader("Content-Type") == ("text/plain; charset=utf-8" if flags & C["HH_TEXT"]
                                              else "application/octet-stream")
    assert len(resp.getheaders()) == 3 + bin(flags & 0x05).count("1")
