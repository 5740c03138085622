"""The HTTP bench's client and its Linux server (kwecli.netbench,
tools/bench/linux_httpd.c).  Speed is never asserted; correctness is: the
client checks every answer and refuses a wrong one, linux_httpd serves the
bytes the client expects, keeps serving while clients walk away mid-body,
and boots under the same QEMU/TCG as KWE.  Every socket here is on 127.0.0.1."""
import hashlib
import http.server
import socket
import struct
import subprocess
import threading
import time
import zlib

import pytest

from kwecli import netbench, qemu
from kwecli.netbench import BadResponse

TINY = dict(warmup=0.1, duration=0.4, gets=1, stall=10)     # measure() in a fraction of a second


def test_the_served_bytes_are_splitmix64_and_their_etag_zlibs_crc32():
    assert netbench.splitmix64(0, 16) == struct.pack("<QQ", 0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4)
    small, large = netbench.file_bytes(1), netbench.file_bytes(2)
    assert len(small) == 1024 and len(large) == 10 << 20 and small != large[:1024]
    assert netbench.etag_of(small) == '"%08x"' % zlib.crc32(small) and len(netbench.etag_of(large)) == 10


# ---- the client against a small Python server that can be told to lie ------------------------
class Lying(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        mode = self.server.mode
        if self.path.startswith("/files?q="):
            body, etag, mode = netbench.LISTING, None, "ok"
        else:
            body = netbench.file_bytes(int(self.path.rsplit("/", 1)[1]))
            etag = netbench.etag_of(body)
            with self.server.lock:          # the first answers are right: every one must be checked
                self.server.honest -= 1
                if self.server.honest >= 0:
                    mode = "ok"
        if mode == "etag":
            etag = '"%08x"' % (zlib.crc32(body) ^ 1)
        elif mode == "length":
            body = body[:-1]
        elif mode == "body":
            body = bytes([body[0] ^ 1]) + body[1:]
        self.send_response(500 if mode == "status" else 200)
        self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        self.end_headers()
        if mode == "cut":
            self.wfile.write(body[:len(body) // 2])
            self.close_connection = True
        else:
            self.wfile.write(body)


class Quiet(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass            # a client that walks away from a lie is what the tests do


@pytest.fixture
def liar():
    srv = Quiet(("127.0.0.1", 0), Lying)
    srv.daemon_threads = True
    srv.mode, srv.honest, srv.lock = "ok", 3, threading.Lock()
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize("client", ["python", "wrk"])
def test_the_client_measures_a_server_that_answers_right(liar, client):
    r = netbench.measure(liar.server_address[1], connections=3, client=client, **TINY)
    a, b = r["small"], r["large"]
    assert a["requests"] > 0 and a["requests_per_s"] > 0 and a["connections"] == 3
    assert a["client"].startswith({"python": "kwecli.netbench", "wrk": "wrk "}[client])
    assert b["gets"] == 1 and b["bytes"] == 10 << 20 and b["mb_per_s"] > 0
    assert 0 <= a["client_cpu"] <= 1.5 and b["client_cpu"] >= 0


# What each client says about each lie: the asyncio one stops at the first
# wrong answer; wrk's Lua script counts them and describes the first.
LIES = {"etag": ("ETag '\"[0-9a-f]{8}\"', expected", r"answers wrong.*ETag \"([0-9a-f]{8})\" \(expected \"(?!\1)"),
        "length": ("Content-Length '1023', expected 1024", r"answers wrong.*Content-Length 1023 \(expected 1024\)"),
        "body": ("SHA-256", "answers wrong.*not the expected ones"),
        "status": ("status line 'HTTP/1.1 500", "answers wrong.*status 500"),
        "cut": ("in the middle of an answer", "socket errors.*read")}


@pytest.mark.parametrize("client", ["python", "wrk"])
@pytest.mark.parametrize("mode", sorted(LIES))
def test_the_client_refuses_a_wrong_answer(liar, mode, client):
    liar.mode = mode
    with pytest.raises(BadResponse, match=LIES[mode][client == "wrk"]):
        netbench.measure(liar.server_address[1], connections=2, client=client, **TINY)


def test_the_client_refuses_a_wrong_listing_and_a_closed_port(liar):
    with pytest.raises(BadResponse, match=r"/files\?q=.*Content-Length"):
        netbench.measure(liar.server_address[1], listing=b"1 other.bin\n", **TINY)
    with pytest.raises(BadResponse, match=r"/files\?q=.*SHA-256"):
        netbench.measure(liar.server_address[1], listing=netbench.LISTING.upper(), **TINY)
    with pytest.raises(BadResponse, match="cannot connect"):
        netbench.measure(qemu.free_port(), **TINY)


# ---- linux_httpd.c on the host -----------------------------------------------------------------
@pytest.fixture(scope="module")
def httpd_exe(tmp_path_factory):
    return netbench.compile_httpd(tmp_path_factory.mktemp("httpd") / "linux_httpd")


@pytest.fixture
def httpd(httpd_exe):
    port = qemu.free_port()
    p = subprocess.Popen([str(httpd_exe), str(port), "127.0.0.1"], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().startswith(f"httpd: ready on 127.0.0.1:{port}")
        yield port, p
    finally:
        p.kill()
        p.wait()


def exchange(port, raw, expect_close=False):
    """Send raw bytes on one connection, read what comes within a moment."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(raw)
        s.settimeout(0.5 if not expect_close else 5)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
            closed = True
        except socket.timeout:
            closed = False
    return out, closed


@pytest.mark.parametrize("client", ["python", "wrk", "best"])
def test_linux_httpd_answers_the_client_with_the_same_bytes(httpd, client):
    port, p = httpd
    r = netbench.measure(port, connections=4, warmup=0.2, duration=1.0, gets=2, stall=10, client=client)
    a = r["small"]
    assert a["requests"] > 100 and r["large"]["gets"] == 2 and p.poll() is None
    assert set(a["by_client"]) == ({"python", "wrk"} if client == "best" else {client})
    assert a["requests_per_s"] == max(x["requests_per_s"] for x in a["by_client"].values())


def test_linux_httpd_speaks_http_1_1(httpd):
    port, _ = httpd
    get = lambda path, extra="": f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode()
    out, closed = exchange(port, get("/files/1") + get("/files?q=a%20AND%20b"))         # pipelined, kept alive
    small = netbench.file_bytes(1)
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1024\r\n" \
           f"ETag: {netbench.etag_of(small)}\r\n\r\n".encode()
    assert out == head + small + b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" \
        % (len(netbench.LISTING), netbench.LISTING) and not closed
    out, closed = exchange(port, get("/files/1", "Connection: close\r\n") + get("/files/1"), expect_close=True)
    assert closed and out.count(b"HTTP/1.1 200 OK") == 1 and b"Connection: close\r\n" in out
    for path, status in (("/files/3", b"404"), ("/files/0", b"404"), ("/files/1x", b"404"), ("/", b"404")):
        out, closed = exchange(port, get(path))
        assert out.startswith(b"HTTP/1.1 " + status) and not closed, path
    out, closed = exchange(port, b"POST /files/1 HTTP/1.1\r\n\r\n", expect_close=True)
    assert out.startswith(b"HTTP/1.1 405") and closed
    out, closed = exchange(port, b"nonsense\r\n\r\n", expect_close=True)
    assert out.startswith(b"HTTP/1.1 400") and closed
    out, closed = exchange(port, b"GET /files/1 HTTP/1.1\r\nX: " + b"y" * 9000, expect_close=True)
    assert out.startswith(b"HTTP/1.1 431") and closed


def walk_away(port, n, stop):
    """n clients that ask for 10 MiB and leave: some after a little of the
    body (half of them with a reset), some before reading anything."""
    for i in range(n):
        if stop.is_set():
            return
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /files/2 HTTP/1.1\r\nHost: x\r\n\r\n")
            if i % 3:
                got = 0
                while got < 100_000 and (chunk := s.recv(65536)):
                    got += len(chunk)
            if i % 2:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_linux_httpd_keeps_serving_when_clients_leave_mid_transfer(httpd):
    port, p = httpd
    stop = threading.Event()
    leavers = [threading.Thread(target=walk_away, args=(port, 30, stop)) for _ in range(2)]
    for t in leavers:
        t.start()
    try:
        r = netbench.measure(port, connections=4, warmup=0.1, duration=1.0, gets=3, stall=10)
    finally:
        stop.set()
        for t in leavers:
            t.join(20)
    assert r["small"]["requests"] > 0 and r["large"]["gets"] == 3
    # and afterwards: alive, every byte of a 10 MiB body right
    out, _ = exchange(port, b"GET /files/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", expect_close=True)
    body = out.split(b"\r\n\r\n", 1)[1]
    assert hashlib.sha256(body).digest() == hashlib.sha256(netbench.file_bytes(2)).digest()
    assert p.poll() is None


# ---- the reference itself: Linux under the same QEMU/TCG ---------------------------------------
def test_linux_httpd_under_qemu_answers_through_the_forwarded_port():
    """One short boot (~15 s): the e1000 module loads, eth0 comes up, the
    client's every answer checks.  The real figures: tools/kwe bench --net-linux."""
    t = time.monotonic()
    r = netbench.linux_figures(quick=True, connections=4, warmup=0.2, duration=1.0, gets=1, stall=30,
                                client="python")
    c = r["conditions"]
    assert r["small"]["requests"] > 0 and r["large"]["gets"] == 1 and r["kernel"].startswith("6.1")
    assert c["accelerator"] == "TCG" and "e1000" in c["nic"] and "127.0.0.1" in c["nic"]
    assert r["small"]["server_cpu"] is not None and time.monotonic() - t < 120
