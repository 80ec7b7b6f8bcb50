"""The real ``xltool serve`` under slow and greedy clients (loopback only, bounded count and time).

Attacks (docs/security.md): A15 trickling request heads, trickling bodies, more connections than
file descriptors; A2/A3 again against the real server: 16 clients guessing passwords while 300
slow connections are open, and ``GET /`` must still answer within 1 s.
"""

from __future__ import annotations

import base64
import http.client
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from secsupport import TESTS  # noqa: F401 - puts tests/ on the path
from webtools import Server


def _get_root(port: int, timeout: float = 5.0) -> float:
    """Seconds for a complete ``GET /`` on a fresh connection."""
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/")
        r = conn.getresponse()
        r.read()
        assert r.status == 200
    finally:
        conn.close()
    return time.monotonic() - start


def _closed_within(sock: socket.socket, seconds: float, trickle: bytes = b"") -> bool:
    """Whether the server closes *sock* within *seconds* while we keep trickling *trickle*."""
    deadline = time.monotonic() + seconds
    sock.settimeout(0.25)
    while time.monotonic() < deadline:
        try:
            if trickle:
                sock.sendall(trickle)
            data = sock.recv(4096)
            if data == b"" or b"HTTP/1.1 408" in data:
                return True
        except socket.timeout:
            continue
        except OSError:
            return True
    return False


def _slow(port: int, head: bytes = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n") -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(head)
    return s


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("srv") / "data",
                 extra={"header_seconds": 2, "body_seconds": 2, "body_min_rate": 500, "max_connections": 400})
    yield srv
    srv.stop()


def test_a_trickled_request_head_is_cut_off(server):
    """A15: a head sent a byte at a time never completes; the server closes it after header_seconds."""
    s = _slow(server.port)
    try:
        assert _closed_within(s, 6, trickle=b"X")
    finally:
        s.close()


def test_a_kept_alive_connection_gets_the_same_deadline_for_its_next_head(server):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        s.settimeout(5)
        got = b""
        while b"</html>" not in got:
            got += s.recv(65536)
        s.sendall(b"GET / HTTP/1.1\r\n")  # the second request's head then trickles
        assert _closed_within(s, 6, trickle=b"X")
    finally:
        s.close()


def test_a_trickled_body_is_answered_408_in_chinese(server):
    s = _slow(server.port, b"POST /api/selfcheck HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
                           b"boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\n")
    try:
        s.settimeout(0.3)
        got = b""
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and b"\r\n\r\n" not in got:
            try:
                s.sendall(b"x")
                got += s.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
        assert got.startswith(b"HTTP/1.1 408"), got[:200]
        s.settimeout(2)
        try:
            while chunk := s.recv(65536):
                got += chunk
        except OSError:
            pass
        assert "上传速度过慢" in got.decode("utf-8", "replace")
    finally:
        s.close()


def test_connections_beyond_the_cap_are_closed_at_once(tmp_path):
    srv = Server(tmp_path / "data", extra={"max_connections": 40, "header_seconds": 3})
    held: list[socket.socket] = []
    try:
        for _n in range(60):
            held.append(_slow(srv.port))
        time.sleep(0.5)
        closed = sum(_closed_within(s, 0.3) for s in held[40:])
        assert closed >= 15, closed
        # Once the slow ones are cut off (header_seconds), the server answers again.
        time.sleep(3.5)
        assert _get_root(srv.port) < 1.0
    finally:
        for s in held:
            s.close()
        srv.stop()


def test_get_root_answers_within_a_second_under_password_guessing_and_slow_connections(tmp_path):
    """The issue's bound: 16 clients try passwords and 300 slow connections are open (loopback only,
    about ten seconds); ``GET /`` answers within 1 s each time and memory stays bounded."""
    srv = Server(tmp_path / "data", extra={"header_seconds": 15})
    stop = threading.Event()
    statuses: list[int] = []
    lock = threading.Lock()
    slow: list[socket.socket] = []

    def guesser(n: int) -> None:
        # Each thread is its own client (X-Forwarded-For is believed from the loopback proxy).
        auth = "Basic " + base64.b64encode(f"desk:guess-{n}".encode()).decode()
        while not stop.is_set():
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
            try:
                conn.request("GET", "/api/rounds", headers={"Authorization": auth, "X-Forwarded-For": f"10.9.0.{n + 1}"})
                status = conn.getresponse().status
            except OSError:
                status = 0
            finally:
                conn.close()
            with lock:
                statuses.append(status)

    try:
        base_rss = _rss_mib(srv.proc.pid)
        for _n in range(300):
            slow.append(_slow(srv.port))
        threads = [threading.Thread(target=guesser, args=(n,), daemon=True) for n in range(16)]
        for t in threads:
            t.start()
        times, peak = [], base_rss
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            for s in slow[::30]:
                try:
                    s.sendall(b"X")  # still trickling
                except OSError:
                    pass
            times.append(_get_root(srv.port))
            peak = max(peak, _rss_mib(srv.proc.pid))
            time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join(30)
        assert len(times) >= 10 and max(times) < 1.0, times
        assert statuses and set(statuses) <= {401, 429, 503}, set(statuses)
        assert statuses.count(401) <= 16 * 10  # each guesser's own limit, then 429 before any hash
        assert peak - base_rss < 400, (base_rss, peak)  # two argon2 hashes at a time (64 MiB each), not sixteen
    finally:
        stop.set()
        for s in slow:
            s.close()
        srv.stop()
    assert os.path.exists(tmp_path / "data" / "web.sqlite")
