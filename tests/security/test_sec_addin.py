"""The add-in server bounds a body while reading it, chunked or not.

Attack (docs/security.md): A18 a 400 MB chunked body to the add-in's script endpoint (no
Content-Length, so the declared-size check never fires): the server buffered all of it before
its 32 MB check (855 MiB RSS).
"""

from __future__ import annotations

import asyncio

from xltool.addin.licence import ensure_licence

ensure_licence()

from xltool.addin.server import MAX_BODY, create_app  # noqa: E402

CHUNK = 1024 * 1024


def _post(app, total: int, path: str) -> tuple[int, int, bytes]:
    """POST *total* bytes to *path* in 1 MB chunks without Content-Length, straight through ASGI;
    returns (status, bytes the application took from the stream, response body)."""
    taken = 0
    sent: list[dict] = []

    async def receive():
        nonlocal taken
        if taken >= total:
            return {"type": "http.disconnect"}
        taken += CHUNK
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": taken < total}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
             "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                         (b"transfer-encoding", b"chunked")]}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], taken, body


def _script_path() -> str:
    from xltool.addin import scripts

    return f"/xlwings/custom-scripts-call/{next(iter(scripts.registered()))}"


def test_a_chunked_body_is_cut_off_at_the_limit_while_it_arrives():
    status, taken, body = _post(create_app(base_url="https://addin.example.gov.cn/"), 4 * MAX_BODY, _script_path())
    assert status == 413 and "过大" in body.decode("utf-8")
    assert taken <= MAX_BODY + 2 * CHUNK, taken  # stopped reading at the limit, not after 128 MB


def test_a_body_under_the_limit_still_reaches_the_check():
    status, taken, _body = _post(create_app(), 2 * CHUNK, _script_path())
    assert status == 400 and taken == 2 * CHUNK  # read whole, then refused as unreadable JSON (not as too large)
