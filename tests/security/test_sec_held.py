"""What held in the attack campaign, kept so: each protection of docs/security.md's "What held"
list that no other test states (the others name their tests there).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
from fastapi.testclient import TestClient

from secsupport import EXAMPLE, HTML, PASSWORD, basic, client_of, login, make_app, token_of
from helpers import zh_locale  # noqa: F401 - autouse

from xltool.web.app import SESSION_COOKIE


def test_forged_and_expired_sessions_are_refused(tmp_path):
    data = tmp_path / "data"
    app = make_app(data, session_hours=1)
    client = client_of(app)
    login(client)
    good = client.cookies.get(SESSION_COOKIE)
    payload, _dot, rest = good.partition(".")
    for forged in (payload + "." + rest[::-1], "eyJkZXNrIjogdHJ1ZX0=.forged.sig", "x" * 5000):
        other = client_of(app, "198.51.100.90")
        other.cookies.set(SESSION_COOKIE, forged)
        assert other.get("/desk", follow_redirects=False).status_code == 303
        assert other.get("/api/rounds").status_code == 401
    with sqlite3.connect(data / "web.sqlite") as db:  # the server-side session outlives its hours
        db.execute("UPDATE desk_sessions SET created = created - 2 * 3600")
    assert client.get("/desk", follow_redirects=False).status_code == 303


def test_the_session_is_replaced_at_login(tmp_path):
    client = client_of(make_app(tmp_path / "data"))
    token_before = token_of(client.get("/login", headers=HTML).text)
    cookie_before = client.cookies.get(SESSION_COOKIE)
    token_after = login(client)
    assert token_after != token_before and client.cookies.get(SESSION_COOKIE) != cookie_before
    stale = client_of(client.app, "198.51.100.91")
    stale.cookies.set(SESSION_COOKIE, cookie_before)  # the anonymous cookie from before never gains the desk
    assert stale.get("/desk", follow_redirects=False).status_code == 303


def _all_routes(routes):
    for route in routes:
        inner = getattr(route, "original_router", None) or getattr(route, "router", None)
        if inner is not None and hasattr(inner, "routes") and inner is not route:
            prefix = getattr(inner, "prefix", "")
            for sub in _all_routes(inner.routes):
                yield sub if sub.path.startswith(prefix) else _Prefixed(prefix, sub)
        else:
            yield route


class _Prefixed:
    def __init__(self, prefix: str, route) -> None:
        self.path, self.methods = prefix + route.path, getattr(route, "methods", None)


def _state_changing(app) -> list[tuple[str, str]]:
    routes = []
    for route in _all_routes(app.routes):
        for method in sorted(getattr(route, "methods", None) or ()):
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                path = route.path.replace("{round_id}", "1").replace("{token}", "t").replace(
                    "{pending_id}", "1").replace("{action}", "accept").replace("{audit_id}", "1").replace("{n}", "0")
                routes.append((method, path))
    return routes


def test_every_state_changing_route_needs_the_csrf_token_with_the_cookie(tmp_path):
    """CSRF on every state-changing route (the campaign's 10, and the desk's new ones): a logged-in
    browser's cookie alone never changes anything."""
    app = make_app(tmp_path / "data")
    client = client_of(app)
    login(client)
    client.post("/api/rounds", json={"name": "一"}, headers={"x-csrf-token": token_of(client.get("/desk", headers=HTML).text)})
    routes = _state_changing(app)
    assert len(routes) >= 15, routes
    for method, path in routes:
        r = client.request(method, path, headers=HTML, follow_redirects=False)
        assert r.status_code in (403, 404, 422), (method, path, r.status_code)
        r = client.request(method, path, data={"csrf_token": "forged"}, headers={**HTML, "x-csrf-token": "forged"},
                           follow_redirects=False)
        assert r.status_code in (403, 404, 422), (method, path, r.status_code)
    rounds = client.get("/api/rounds", headers=basic()).json()
    assert [r["name"] for r in rounds] == ["一"]  # nothing was created by the forged requests


@pytest.mark.parametrize("path", ["/static/../web.toml", "/static/%2e%2e/web.toml", "/static/..%2fweb.toml",
                                  "/static/%2e%2e%2fweb.sqlite", "/static//etc/passwd", "/static/..\\web.toml"])
def test_static_files_never_leave_their_folder(tmp_path, path):
    client = client_of(make_app(tmp_path / "data"))
    r = client.get(path)
    assert r.status_code in (400, 404) and "password_hash" not in r.text and "root:" not in r.text


def test_a_chunked_upload_over_the_limit_is_refused_while_it_arrives(tmp_path):
    """Upload limits hold for a body without Content-Length too (counted as it arrives)."""
    app = make_app(tmp_path / "data", max_upload_bytes=1024 * 1024)
    chunk = 256 * 1024
    total = 40 * 1024 * 1024
    taken = 0
    sent: list[dict] = []

    head = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.xlsx"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n")

    async def receive():
        nonlocal taken
        if taken >= total:
            return {"type": "http.disconnect"}
        body = (head if taken == 0 else b"") + b"\0" * chunk
        taken += chunk
        return {"type": "http.request", "body": body, "more_body": taken < total}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/api/selfcheck", "raw_path": b"/api/selfcheck", "query_string": b"", "root_path": "",
             "client": ("203.0.113.5", 1), "server": ("127.0.0.1", 80),
             "headers": [(b"host", b"x"), (b"content-type", b"multipart/form-data; boundary=b"),
                         (b"transfer-encoding", b"chunked")]}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body").decode("utf-8")
    assert start["status"] == 413 and "太大" in body
    # (the rest is read and dropped, never buffered, so a browser gets this answer rather than a reset)


def test_a_workbook_naming_a_pack_path_opens_nothing(tmp_path):
    import openpyxl

    wb = openpyxl.load_workbook(EXAMPLE)
    ws = wb["_xltool_meta"]
    for row in ws.iter_rows(max_col=2):
        if row[0].value == "form":
            row[1].value = "../../../../etc/passwd"
    path = tmp_path / "pack.xlsx"
    wb.save(path)
    client = client_of(make_app(tmp_path / "data"))
    body = client.post("/api/selfcheck", files={"file": ("pack.xlsx", path.read_bytes())}).json()
    assert not body["readable"] and "root:" not in body["message"]


def test_the_desk_refuses_a_second_audit_while_one_runs(tmp_path):
    """Two audits on one round (one folder) are refused at the desk too (409)."""
    app = make_app(tmp_path / "data")
    client = client_of(app)
    rid = client.post("/api/rounds", json={"name": "一"}, headers=basic()).json()["id"]
    client.post(f"/api/rounds/{rid}/files", files=[("file", ("e.xlsx", EXAMPLE.read_bytes()))] * 3, headers=basic())
    first = client.post(f"/api/rounds/{rid}/audit", json={}, headers=basic())
    second = client.post(f"/api/rounds/{rid}/audit", json={}, headers=basic())
    assert first.status_code == 202
    assert second.status_code in (202, 409)
    if second.status_code == 409:
        assert "正在运行" in second.json()["detail"] or "审核" in second.json()["detail"]
    deadline = time.monotonic() + 60
    while client.get(f"/api/audits/{first.json()['audit_id']}", headers=basic()).json()["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_a_long_password_costs_no_hash(tmp_path):
    """A 1 MB password (form or Basic) is a wrong password at once, not a megabyte for argon2."""
    client = client_of(make_app(tmp_path / "data"))
    token = token_of(client.get("/login", headers=HTML).text)
    start = time.monotonic()
    r = client.post("/login", data={"csrf_token": token, "password": "x" * 1_000_000}, headers=HTML)
    assert r.status_code == 401
    assert client.get("/api/rounds", headers=basic("y" * 100_000)).status_code == 401
    assert time.monotonic() - start < 5
    assert PASSWORD and TestClient


def _declare_size(archive: Path, member: str, size: int) -> None:
    """Rewrite the sizes a zip declares for *member* (local header and central directory), as a bomb does."""
    import struct

    data = bytearray(archive.read_bytes())
    name = member.encode()
    for signature, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        at = data.find(signature)
        while at >= 0:
            name_at = at + (46 if signature == b"PK\x01\x02" else 30)
            if data[name_at:name_at + len(name)] == name:
                struct.pack_into("<I", data, at + offset, size)
            at = data.find(signature, at + 4)
    archive.write_bytes(bytes(data))


def test_hostile_archives_are_listed_and_nothing_is_written_outside(tmp_path):
    """A zip of 10,001 members, a member declaring 3 GiB, a traversal name: refused or listed, nothing outside."""
    import zipfile
    from pathlib import Path as _Path

    from xltool.audit.inputs import collect

    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for n in range(10_001):
            zf.writestr(f"m{n}.xlsx", b"")
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.xlsx", bytes(1024))
        zf.writestr("../../escape.xlsx", EXAMPLE.read_bytes())
    _declare_size(bomb, "big.xlsx", 3 * 1024 ** 3)
    work = tmp_path / "work"
    collected = collect([many, bomb], work)
    assert collected.files == []
    reasons = {r.source.rsplit("!", 1)[-1]: r for r in collected.rejected}
    assert any("10001" in r.message or "10,001" in r.message for r in collected.rejected), [r.message for r in collected.rejected]
    assert "big.xlsx" in reasons and "../../escape.xlsx" in reasons
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert sorted(p.name for p in written if work not in p.parents) == ["bomb.zip", "many.zip"]
    assert not _Path(tmp_path.parent / "escape.xlsx").exists()
    assert sum(p.stat().st_size for p in work.rglob("*") if p.is_file()) < 1024 * 1024
