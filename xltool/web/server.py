"""The HTTP server in front of the web app: uvicorn, with limits on what a slow or greedy client
can hold.

uvicorn alone waits for a request head as long as the client keeps trickling bytes, and accepts
connections until the process runs out of file descriptors: ~1,100 trickling connections made
``GET /`` time out. Here each connection must deliver a complete request head within
``header_seconds`` (again before each further request on a kept-alive connection), at most
``max_connections`` are open at once (beyond that a new connection is closed at once, so a
flood cannot take the last file descriptor), heads are limited to ``max_header_kb`` and idle
connections close after ``keep_alive_seconds``. The body's read time is bounded by
:class:`xltool.web.guard.BodyTimeout` inside the application. Behind nginx, nginx bounds the
same things per client address (docs/web.md).
"""

from __future__ import annotations

import asyncio
import sys

from uvicorn.protocols.http.h11_impl import H11Protocol

from xltool.web.config import WebConfig

FD_RESERVE = 64  # descriptors kept for the database, stored files, the audit and logging


def protocol_class(cfg: WebConfig, max_connections: int | None = None) -> type[H11Protocol]:
    """An h11 protocol for uvicorn with a deadline for every request head and a connection cap."""
    header_seconds = float(cfg.header_seconds)
    cap = max_connections or cfg.max_connections

    class GuardedH11Protocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None
        _refused = False

        def connection_made(self, transport) -> None:  # type: ignore[override]
            if len(self.connections) >= cap:
                self._refused = True  # too many open: close at once, keep the descriptor budget
                self.transport = transport
                transport.close()
                return
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc) -> None:
            self._disarm()
            if self._refused:
                return
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return
            before = self.cycle
            super().data_received(data)
            if self.cycle is not before:  # a complete request head arrived
                self._disarm()

        def on_response_complete(self) -> None:
            before = self.cycle
            super().on_response_complete()
            if self.cycle is before and not self.transport.is_closing():
                self._arm()  # the next request's head has the same deadline

        def _arm(self) -> None:
            self._disarm()
            if header_seconds > 0:
                self._head_timer = self.loop.call_later(header_seconds, self._head_too_slow)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_too_slow(self) -> None:
            self._head_timer = None
            if not self.transport.is_closing():
                self.transport.close()

    return GuardedH11Protocol


def connection_budget(wanted: int) -> int:
    """How many connections this process can hold: raise the soft file-descriptor limit up to the
    hard one, and keep FD_RESERVE descriptors for everything else."""
    if sys.platform == "win32":
        return wanted
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted + FD_RESERVE
    if soft != resource.RLIM_INFINITY and soft < target:
        new = target if hard == resource.RLIM_INFINITY else min(target, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(16, min(wanted, soft - FD_RESERVE))


def run(app, cfg: WebConfig, host: str, port: int) -> None:
    """Serve *app* until interrupted, with the limits of *cfg*."""
    import uvicorn

    cap = connection_budget(cfg.max_connections)
    # X-Forwarded-For is believed only from a reverse proxy on this computer (rate limits per unit PC).
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=True, forwarded_allow_ips="127.0.0.1",
                http=protocol_class(cfg, cap), ws="none", lifespan="on", limit_concurrency=cap + 1,
                timeout_keep_alive=cfg.keep_alive_seconds, h11_max_incomplete_event_size=cfg.max_header_kb * 1024)
