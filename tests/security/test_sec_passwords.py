"""Every way the desk password is tried passes one throttle, checked before the argon2 hash,
and the hashing itself is bounded so anonymous traffic cannot exhaust memory.

Attacks (docs/security.md): A1 Basic brute force beside a throttled /login, A2 many clients
guessing at once, A3 argon2 as a memory amplifier.
"""

from __future__ import annotations

import threading
import time

import pytest
from argon2 import PasswordHasher

from secsupport import HTML, PASSWORD, basic, client_of, make_app, token_of
from helpers import zh_locale  # noqa: F401 - autouse


class HashCounter:
    """Counts argon2 verifications (and the most running at once) by wrapping the real one."""

    def __init__(self, monkeypatch, hold: float = 0.0) -> None:
        self.calls = 0
        self.running = 0
        self.peak = 0
        self.hold = hold
        self._lock = threading.Lock()
        real = PasswordHasher.verify
        counter = self

        def verify(hasher, hash_, password):
            with counter._lock:
                counter.calls += 1
                counter.running += 1
                counter.peak = max(counter.peak, counter.running)
            try:
                if counter.hold:
                    time.sleep(counter.hold)  # keep attempts overlapping, as a flood does
                return real(hasher, hash_, password)
            finally:
                with counter._lock:
                    counter.running -= 1

        monkeypatch.setattr(PasswordHasher, "verify", verify)


def test_basic_auth_on_the_api_is_throttled_like_the_login_form(tmp_path):
    """A1: 25 wrong passwords over HTTP Basic; then the right one is refused too, until the window passes."""
    client = client_of(make_app(tmp_path / "data"))
    codes = [client.get("/api/rounds", headers=basic(f"guess-{i}")).status_code for i in range(25)]
    assert codes[:10] == [401] * 10 and set(codes[10:]) == {429}
    r = client.get("/api/rounds", headers=basic())
    assert r.status_code == 429 and "几分钟" in r.json()["detail"]


def test_form_and_basic_count_in_the_same_throttle(tmp_path):
    """Failures at /login block Basic on the API for that client, and the other way round."""
    app = make_app(tmp_path / "data")
    client = client_of(app, "198.51.100.1")
    token = token_of(client.get("/login", headers=HTML).text)
    for i in range(5):
        assert client.post("/login", data={"csrf_token": token, "password": f"x{i}"}, headers=HTML).status_code == 401
    for i in range(5):
        assert client.get("/api/rounds", headers=basic(f"y{i}")).status_code == 401
    assert client.get("/api/rounds", headers=basic()).status_code == 429
    r = client.post("/login", data={"csrf_token": token, "password": PASSWORD}, headers=HTML, follow_redirects=False)
    assert r.status_code == 429
    # Another computer is not blocked by this one's failures.
    assert client_of(app, "198.51.100.2").get("/api/rounds", headers=basic()).status_code == 200


def test_a_global_limit_stops_guessing_spread_over_many_addresses(tmp_path, monkeypatch):
    """A2: each address stays under its own limit, yet the sum is stopped, before any hash."""
    app = make_app(tmp_path / "data", login_failures_global=12)
    counter = HashCounter(monkeypatch)
    for n in range(12):
        assert client_of(app, f"192.0.2.{n + 1}").get("/api/rounds", headers=basic("wrong")).status_code == 401
    assert counter.calls == 12
    fresh = client_of(app, "192.0.2.200")
    r = fresh.get("/api/rounds", headers=basic("still-wrong"))
    assert r.status_code == 429 and "几分钟" in r.json()["detail"]
    assert counter.calls == 12  # refused before hashing
    # The server's own computer (a person at the console, or an SSH tunnel) is not locked out by strangers.
    assert client_of(app, "127.0.0.1").get("/api/rounds", headers=basic()).status_code == 200


def test_the_throttle_is_checked_before_the_expensive_hash(tmp_path, monkeypatch):
    """A1: once a client is blocked, its further attempts cost no argon2 work at all."""
    app = make_app(tmp_path / "data")
    counter = HashCounter(monkeypatch)
    client = client_of(app)
    token = token_of(client.get("/login", headers=HTML).text)
    for i in range(10):
        client.get("/api/rounds", headers=basic(f"g{i}"))
    assert counter.calls == 10
    for i in range(20):
        assert client.get("/api/rounds", headers=basic(f"h{i}")).status_code == 429
        assert client.post("/login", data={"csrf_token": token, "password": f"h{i}"}, headers=HTML).status_code == 429
    assert counter.calls == 10


def test_argon2_work_is_bounded_under_a_flood(tmp_path, monkeypatch):
    """A3: 16 clients at once (each under its own limit): at most argon2_concurrency hashes run
    together (64 MiB each), the rest wait or are told the server is busy; none is a 500."""
    app = make_app(tmp_path / "data", argon2_concurrency=2)
    counter = HashCounter(monkeypatch, hold=0.3)
    statuses: list[int] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        status = client_of(app, f"203.0.113.{n + 10}").get("/api/rounds", headers=basic(f"flood-{n}")).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(statuses) == 16 and set(statuses) <= {401, 503}, statuses
    assert counter.peak <= 2, counter.peak


@pytest.mark.parametrize("header", ["Basic !!!notbase64", "Basic " + "QQ==" * 5000, "Bearer x", "Basic Og=="])
def test_malformed_authorization_headers_are_a_plain_401(tmp_path, header):
    client = client_of(make_app(tmp_path / "data"))
    r = client.get("/api/rounds", headers={"authorization": header})
    assert r.status_code in (401, 429) and "detail" in r.json()
