"""Limits in front of the application: request body size and read time, and the self-check rate.

``BodyLimit`` is pure ASGI, so a 200 MB upload is counted as it arrives, never buffered: past
the limit the rest is read and dropped (up to a hard cap, so the browser gets the answer instead
of a reset connection) and a 413 with a Chinese sentence is returned. Larger declared bodies are
answered at once.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable

from xltool.i18n import _

DRAIN_CAP = 1024 * 1024 * 1024  # bytes of an oversized body read and dropped before answering


def too_large_message(limit: int) -> str:
    return _("The upload is too large: at most {mb} MB at a time. Split it into smaller parts.").format(
        mb=round(limit / 1024 / 1024))


class BodyLimit:
    """413 for a request body above ``limit_for(path)`` bytes."""

    def __init__(self, app, limit_for: Callable[[str], int], render: Callable[[str, str, int], tuple[bytes, str]]) -> None:
        self.app, self.limit_for, self.render = app, limit_for, render

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        limit = self.limit_for(scope["path"])
        declared = None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
        if declared is not None and declared > limit:
            if declared <= DRAIN_CAP:
                await _drain(receive)
            return await self._refuse(scope, send, limit)
        seen = 0
        refused = False
        started = False

        async def counted():
            nonlocal seen, refused
            if refused:
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # The application gets a truncated body and fails on it; its answer is
                    # replaced by ours once the rest has been read and dropped.
                    refused = True
                    if message.get("more_body"):
                        await _drain(receive)
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def guarded_send(message):
            nonlocal started
            if refused:
                return
            started = True
            await send(message)

        await self.app(scope, counted, guarded_send)
        if refused and not started:
            await self._refuse(scope, send, limit)

    async def _refuse(self, scope, send, limit: int) -> None:
        accept = dict(scope.get("headers", [])).get(b"accept", b"").decode("latin-1")
        body, ctype = self.render(scope["path"], accept, limit)
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


async def _drain(receive) -> None:
    total = 0
    while total <= DRAIN_CAP:
        message = await receive()
        if message["type"] != "http.request":
            return
        total += len(message.get("body", b""))
        if not message.get("more_body"):
            return


class BodyTimeout:
    """408 for a request body that trickles in: after *grace* seconds it must keep arriving at
    *min_rate* bytes per second on average (Apache's mod_reqtimeout ``body=20,MinRate=500``).
    A slow client then holds a connection for seconds, not hours. The head of the request is
    bounded earlier, by the HTTP server (:mod:`xltool.web.server`)."""

    def __init__(self, app, grace: float, min_rate: float, render: Callable[[str, str], tuple[bytes, str]]) -> None:
        self.app, self.grace, self.min_rate, self.render = app, float(grace), float(min_rate), render

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.grace <= 0:
            return await self.app(scope, receive, send)
        start = time.monotonic()
        seen = 0
        timed_out = False
        done = False
        started = False

        async def timed():
            nonlocal seen, timed_out, done
            if done:
                return await receive()  # the body is complete: only a disconnect can come
            if timed_out:
                return {"type": "http.disconnect"}
            deadline = start + self.grace + (seen / self.min_rate if self.min_rate > 0 else 1e9)
            try:
                message = await asyncio.wait_for(receive(), max(0.001, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                # The application gets an empty end of body and fails on it; its answer is replaced.
                timed_out = True
                return {"type": "http.request", "body": b"", "more_body": False}
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                done = not message.get("more_body", False)
            else:
                done = True
            return message

        async def guarded_send(message):
            nonlocal started
            if timed_out and not started:
                return
            started = True
            await send(message)

        await self.app(scope, timed, guarded_send)
        if timed_out and not started:
            accept = dict(scope.get("headers", [])).get(b"accept", b"").decode("latin-1")
            body, ctype = self.render(scope["path"], accept)
            await send({"type": "http.response.start", "status": 408,
                        "headers": [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode()),
                                    (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": body})


def json_error(message: str) -> bytes:
    return json.dumps({"detail": message}, ensure_ascii=False).encode("utf-8")


class RateLimit:
    """A token bucket per client address: *per_minute* requests, refilled continuously."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(max(1, per_minute))
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if len(self._buckets) > 10_000:  # forget idle clients
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 120}
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                return False
            self._buckets[client] = (tokens - 1.0, now)
            return True
