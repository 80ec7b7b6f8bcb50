"""Shared helpers of the security tests (tests/security/): the path to tests/ and a web client.

The tests here attack what a stranger can reach: the web desk, uploads, .docx and .xlsx parts,
mail fields and the add-in server. Each test names the attack in docs/security.md.
"""

from __future__ import annotations

import base64
import re
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from webtools import EXAMPLE, PASSWORD  # noqa: E402

HTML = {"accept": "text/html"}


def make_app(data: Path, **settings):
    """The web app on a fresh data folder with the desk password set and *settings* in web.toml."""
    from xltool.web.app import create_app
    from xltool.web.auth import set_password
    from xltool.web.config import load_config, save_config

    cfg = load_config(data)
    for key, value in settings.items():
        setattr(cfg, key, value)
    save_config(cfg)
    set_password(cfg, PASSWORD)
    return create_app(cfg)


def client_of(app, host: str = "203.0.113.7"):
    """A TestClient for *app* as seen from the address *host*."""
    from fastapi.testclient import TestClient

    return TestClient(app, client=(host, 50000))


def make_client(data: Path, host: str = "203.0.113.7", **settings):
    """A TestClient on a fresh data folder with the desk password set, from the address *host*."""
    return client_of(make_app(data, **settings), host)


def basic(password: str = PASSWORD) -> dict:
    return {"authorization": "Basic " + base64.b64encode(f"desk:{password}".encode()).decode()}


def token_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, password: str = PASSWORD) -> str:
    token = token_of(client.get("/login", headers=HTML).text)
    r = client.post("/login", data={"csrf_token": token, "password": password}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/desk", r.text
    return token_of(client.get("/desk", headers=HTML).text)


def no_traceback(text: str) -> bool:
    return "Traceback" not in text and 'File "' not in text and "Internal Server Error" not in text


__all__ = ["EXAMPLE", "HTML", "PASSWORD", "TESTS", "basic", "client_of", "login", "make_app", "make_client", "no_traceback", "token_of"]
