"""httpd in the booted kernel, through QEMU's user networking (restrict=on,
the port forwarded from 127.0.0.1 only), with clients nobody here wrote:
curl and Python's http.client.  One boot serves every check: uploads and
queries, a 10 MiB round trip checked by SHA-256, 100 concurrent keep-alive
connections, clients that leave in the middle of a download and of an
upload, and requests that are wrong in every way a server must answer."""
import hashlib
import http.client
import os
import socket
import subprocess
import threading
import zlib

import pytest

from kwecli import netbench, qemu

LOOPBACK = qemu.LOOPBACK


@pytest.fixture(scope="module")
def server():
    port = qemu.free_port()
    s = qemu.Session("run=init args=net,shell", net=netbench.nic_args(port))
    s.wait_for("httpd: listening on TCP port 80", timeout=60)
    s.wait_for("kwe> ", timeout=30)
    s.port = port
    yield s
    s.close()


def conn(server):
    return http.client.HTTPConnection(LOOPBACK, server.port, timeout=120)


def request(c, method, path, body=None, headers=None):
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    return r.status, dict(r.getheaders()), r.read()


def curl(server, *args):
    out = subprocess.run(["curl", "-sS", "--max-time", "120", *args], capture_output=True, timeout=150)
    assert out.returncode == 0, out.stderr
    return out.stdout


def url(server, path):
    return f"http://{LOOPBACK}:{server.port}{path}"


def put(server, data, tags):
    status, headers, body = request(conn(server), "PUT", f"/files?tags={tags}", body=data)
    assert status == 201, (status, body)
    fid = int(body)
    assert headers["Location"] == f"/files/{fid}"
    return fid


def test_curl_uploads_queries_and_fetches(server, tmp_path):
    f = tmp_path / "note.txt"
    f.write_bytes(b"a note for the tag query\n")
    fid = int(curl(server, "-T", str(f), url(server, "/files?tags=kind%3Dnote%20owner%3Dann")))
    listing = curl(server, url(server, "/files?q=kind%3Dnote%20AND%20owner%3Dann")).decode()
    assert f"{fid} - kind=note owner=ann\n" in listing
    assert curl(server, url(server, "/files?q=kind%3Dnothing-has-this")) == b""
    head = curl(server, "-i", url(server, f"/files/{fid}")).decode()
    assert head.startswith("HTTP/1.1 200 OK\r\n")
    assert "Content-Length: 25\r\n" in head
    assert f'ETag: "{zlib.crc32(f.read_bytes()):08x}"\r\n' in head      # computed by the Operations deck
    assert head.endswith("\r\n\r\na note for the tag query\n")


def test_a_10_mib_round_trip_is_checked_by_sha256(server):
    data = hashlib.sha256(b"kwe httpd").digest() * (10 << 15)          # 10 MiB
    fid = put(server, data, "kind%3Dbig")
    c = conn(server)
    status, headers, body = request(c, "GET", f"/files/{fid}")
    assert status == 200 and int(headers["Content-Length"]) == len(data)
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(data).hexdigest()
    assert headers["ETag"] == f'"{zlib.crc32(data):08x}"'
    status, headers, body = request(c, "HEAD", f"/files/{fid}")            # same connection: keep-alive
    assert (status, body, headers["Content-Length"]) == (200, b"", str(len(data)))


def test_100_concurrent_keep_alive_connections(server):
    """100 connections open at once, all asking at once, 3 GETs each.  They
    are opened one after another: QEMU's forward listens on 127.0.0.1 with a
    backlog of 1 (`ss -ltn`), and 100 connects in the same instant overflow
    the host's accept queue before QEMU takes them, which the host may answer
    with resets that KWE never sees.  Once open, they are all served together."""
    small = os.urandom(1000)
    fid = put(server, small, "kind%3Dsmall")
    errors, done = [], []
    conns = []
    for _ in range(100):
        c = conn(server)
        c.connect()
        conns.append(c)
    start = threading.Barrier(100)

    def client(k, c):
        try:
            start.wait(60)
            for i in range(3):
                status, headers, body = request(c, "GET", f"/files/{fid}")
                assert status == 200 and body == small and headers["Connection"] == "keep-alive", i
            done.append(k)
            c.close()
        except Exception as e:          # noqa: BLE001 -- reported below, with which client
            errors.append((k, repr(e)))
    threads = [threading.Thread(target=client, args=(k, c)) for k, c in enumerate(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    if errors:                          # the kernel's side of it: drops by reason, from the shell
        server.send_serial(b"net\n")
        server.wait_for("dropped", timeout=30)
    assert errors == [] and len(done) == 100, (errors[:5], len(errors), server.log[-3000:])


def test_clients_that_leave_mid_transfer_leave_nothing_behind(server):
    data = os.urandom(3 << 20)
    fid = put(server, data, "kind%3Dleaver")
    s = socket.create_connection((LOOPBACK, server.port), timeout=60)
    s.sendall(f"GET /files/{fid} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert s.recv(65536).startswith(b"HTTP/1.1 200 OK")
    s.close()                                                   # 3 MiB unread
    s = socket.create_connection((LOOPBACK, server.port), timeout=60)
    s.sendall(b"PUT /files?tags=kind%3Dhalf HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n")
    s.sendall(bytes(300000))
    s.close()                                                   # 300 KiB of 1 MiB
    c = conn(server)
    for _ in range(50):                                         # the upload's workflow fails, its file goes
        if request(c, "GET", "/files?q=kind%3Dhalf")[2] == b"":
            break
    assert request(c, "GET", "/files?q=kind%3Dhalf")[2] == b""
    assert request(c, "GET", f"/files/{fid}")[2] == data        # and the server still serves


def test_wrong_requests_get_their_answers(server):
    c = conn(server)
    assert request(c, "GET", "/files/4000000000")[0] == 404
    assert request(c, "GET", "/elsewhere")[0] == 404
    assert request(c, "DELETE", "/files/1")[0] == 501
    assert request(c, "GET", "/files")[0] == 400                # no query
    status, _, body = request(c, "GET", "/files?q=%28unbalanced")
    assert status == 400 and body.startswith(b"E_")
    status, _, body = request(c, "PUT", "/files?tags=type%3Dprogram%20name%3Devil", body=b"x")
    assert status == 403, body                                  # httpd gave up CAP_SYSTEM
    for raw, want in ((b"GET /files/1 HTTP/2.0\r\n\r\n", b"505"), (b"GARBAGE\r\n\r\n", b"400"),
                      (b"GET /files/1 HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"y" * 20000, b"431")):
        s = socket.create_connection((LOOPBACK, server.port), timeout=60)
        s.sendall(raw)
        assert s.recv(4096).split(b" ")[1] == want
        s.close()


def test_zz_the_kernel_ends_clean(server):
    """Last: the shell powers off; every check at power-off passes."""
    server.send_serial(b"poweroff\n")
    b = server.finish(timeout=60)
    open("/tmp/httpd_end.log", "w").write(b.log)
    assert b.ok, b.log[-3000:]


def test_tools_kwe_run_net_prints_a_url_curl_opens():
    """What the README tells a person to do: `tools/kwe run --net`, then curl."""
    import os
    import re
    import signal
    import sys
    import time
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    p = subprocess.Popen([str(root / "tools/kwe"), "run", "--net", "--timeout", "120"], cwd=root, env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, start_new_session=True)
    try:
        seen, base, end = "", None, time.monotonic() + 90
        while "httpd: listening" not in seen and time.monotonic() < end:
            seen += p.stdout.readline()
            found = re.search(r"httpd at (http://127\.0\.0\.1:\d+)/files", seen)
            base = base or (found and found[1])
        assert base and "httpd: listening" in seen, seen
        out = subprocess.run(["curl", "-sS", "--max-time", "60", "--data-binary", "hi", "-X", "PUT",
                              f"{base}/files?tags=kind%3Dreadme"], capture_output=True, timeout=90)
        fid = int(out.stdout)
        out = subprocess.run(["curl", "-sS", "--max-time", "60", f"{base}/files/{fid}"], capture_output=True,
                             timeout=90)
        assert out.stdout == b"hi"
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
