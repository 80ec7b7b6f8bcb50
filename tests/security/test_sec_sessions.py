"""Desk sessions carry a server-side generation: logout and a password change revoke them.

Attacks (docs/security.md): A4 a cookie copied before logout, A5 a cookie from before
``serve --set-password`` (server not restarted, and restarted).
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from secsupport import HTML, PASSWORD, client_of, login, make_app, token_of
from helpers import zh_locale  # noqa: F401 - autouse

from xltool.web.app import SESSION_COOKIE


def _replay(app, cookie: str) -> TestClient:
    client = client_of(app, "198.51.100.9")
    client.cookies.set(SESSION_COOKIE, cookie)
    return client


def test_a_cookie_from_before_logout_no_longer_opens_the_desk(tmp_path):
    app = make_app(tmp_path / "data")
    client = client_of(app)
    login(client)
    stolen = client.cookies.get(SESSION_COOKIE)
    assert _replay(app, stolen).get("/desk", follow_redirects=False).status_code == 200
    token = token_of(client.get("/desk", headers=HTML).text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    replayed = _replay(app, stolen)
    r = replayed.get("/desk", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert replayed.get("/api/rounds").status_code == 401


def test_set_password_revokes_every_session_without_a_restart(tmp_path):
    """The running server sees the new password and drops the old sessions at once."""
    from typer.testing import CliRunner

    from xltool.cli import app as cli

    data = tmp_path / "data"
    app = make_app(data)
    client = client_of(app)
    login(client)
    stolen = client.cookies.get(SESSION_COOKIE)
    new = PASSWORD + "-新"
    result = CliRunner().invoke(cli, ["serve", "--data", str(data), "--set-password"], input=f"{new}\n{new}\n")
    assert result.exit_code == 0, result.output
    assert _replay(app, stolen).get("/desk", follow_redirects=False).status_code == 303
    assert client.get("/desk", follow_redirects=False).status_code == 303
    # The old password is refused and the new one works, on the same running server.
    other = client_of(app, "198.51.100.20")
    token = token_of(other.get("/login", headers=HTML).text)
    assert other.post("/login", data={"csrf_token": token, "password": PASSWORD}, headers=HTML).status_code == 401
    login(other, new)


def test_set_password_revokes_sessions_across_a_restart(tmp_path):
    from xltool.web.app import create_app
    from xltool.web.auth import set_password
    from xltool.web.config import load_config

    data = tmp_path / "data"
    app = make_app(data)
    client = client_of(app)
    login(client)
    stolen = client.cookies.get(SESSION_COOKIE)
    cfg = load_config(data)
    set_password(cfg, PASSWORD + "-2")  # as `serve --set-password` does, server stopped
    restarted = create_app(load_config(data))
    assert _replay(restarted, stolen).get("/desk", follow_redirects=False).status_code == 303
    # A restart alone (same password) keeps a live session.
    app2 = make_app(tmp_path / "d2")
    c2 = client_of(app2)
    login(c2)
    kept = c2.cookies.get(SESSION_COOKIE)
    assert _replay(create_app(load_config(tmp_path / "d2")), kept).get("/desk", follow_redirects=False).status_code == 200


def test_a_cookie_saying_desk_true_is_not_a_session(tmp_path):
    """A signed cookie holding only the old ``desk: True`` flag (no server-side session) is refused."""
    import base64
    import json

    from itsdangerous import TimestampSigner

    from xltool.web.config import load_config

    data = tmp_path / "data"
    app = make_app(data)
    secret = load_config(data).secret
    payload = base64.b64encode(json.dumps({"desk": True}).encode())
    forged = TimestampSigner(str(secret)).sign(payload).decode()
    assert _replay(app, forged).get("/desk", follow_redirects=False).status_code == 303
