"""The FastAPI application: pages (自查, 审核台) and the JSON API under /api/.

``create_app(cfg)`` wires the settings of one data folder; :mod:`xltool.web.pages` and
:mod:`xltool.web.api` hold the routes, both calling the same small services of
:mod:`xltool.web.helpers`.
"""

from __future__ import annotations

import errno
import sqlite3

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import ClientDisconnect
from starlette.staticfiles import StaticFiles

import xltool
from xltool.i18n import _, current_locale
from xltool.read.safety import Limits
from xltool.web.audits import Auditor
from xltool.web.auth import HashPool, PasswordGate
from xltool.web.config import WebConfig
from xltool.web.errors import message_for, storage_message, title_for, validation_errors
from xltool.web.guard import (
    BodyLimit,
    BodyTimeout,
    RateLimit,
    json_error,
    too_large_message,
)
from xltool.web.helpers import (  # noqa: F401 - re-exported for older imports
    HERE,
    MULTIPART_OVERHEAD,
    SESSION_COOKIE,
    XLSX_TYPE,
    Services,
    attachment,
    client_of,
    env,
    log,
    read_uploads,
    refusal,
    render,
    services,
    templates_zip,
    wants_json,
)
from xltool.web.selfcheck import ResultCache
from xltool.web.store import StorageFull, Store
from xltool.web.tasks import Tasks


def _body_limit(cfg: WebConfig):
    def limit_for(path: str) -> int:
        if path.startswith(("/desk/", "/api/rounds", "/api/templates")):
            return cfg.max_batch_bytes + MULTIPART_OVERHEAD
        return cfg.max_upload_bytes + MULTIPART_OVERHEAD

    def render_refusal(path: str, accept: str, limit: int) -> tuple[bytes, str]:
        message = too_large_message(limit - MULTIPART_OVERHEAD)
        if path.startswith("/api/") or "text/html" not in accept:
            return json_error(message), "application/json; charset=utf-8"
        page = env().get_template("error.html").render(message=message, title=title_for(413), desk=False, csrf="",
                                                       lang=current_locale(), version=xltool.__version__)
        return page.encode("utf-8"), "text/html; charset=utf-8"

    return limit_for, render_refusal


CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def create_app(cfg: WebConfig) -> FastAPI:
    from xltool.web import actions, api, pages

    app = FastAPI(
        title=_("xltool web API"), version=xltool.__version__,
        description=_("Self-check of a workbook (no login) and the bureau's audit desk (HTTP Basic with the "
                      "desk password, or the session cookie with the X-CSRF-Token header)."),
        # No Swagger page: it loads its script from a CDN, which the CSP and an offline intranet refuse.
        docs_url=None, redoc_url=None, openapi_url="/api/openapi.json",
    )
    store = Store(cfg.data, min_free_bytes=cfg.min_free_mb * 1024 * 1024)
    store.fail_running(_("The server stopped while this audit was running; run it again."))
    store.purge_pending(cfg.pending_keep_hours * 3600)
    window = float(cfg.login_window_seconds)
    app.state.services = Services(
        cfg=cfg, store=store, auditor=Auditor(store, jobs=cfg.audit_jobs, mail_config=cfg.mail_config),
        cache=ResultCache(cfg.selfcheck_keep_minutes * 60), rate=RateLimit(cfg.selfcheck_per_minute),
        logins=PasswordGate(cfg.login_failures_per_client, cfg.login_failures_global, window),
        codes=PasswordGate(cfg.login_failures_per_client, cfg.login_failures_global, window, what="code"),
        hashes=HashPool(cfg.argon2_concurrency, cfg.argon2_queue),
        limits=Limits(max_file_bytes=cfg.max_upload_bytes),
        tasks=Tasks(store.tasks_dir),
    )
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(actions.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        # Starlette's own reasons (Not Found, Method Not Allowed) become Chinese sentences.
        return refusal(request, exc.status_code, message_for(exc.status_code, exc.detail), exc.headers)

    # Fail closed: a full or read-only disk, a vanished file or database, any fault, is a Chinese
    # sentence; the trace goes to the server's log only, and nothing half-stored stays behind.
    @app.exception_handler(StorageFull)
    async def storage_full(request: Request, exc: StorageFull):
        return refusal(request, 507, storage_message(exc))

    @app.exception_handler(OSError)
    async def storage_error(request: Request, exc: OSError):
        log.warning("storage error on %s: %r", request.url.path, exc)
        return refusal(request, 507 if exc.errno in (errno.ENOSPC, errno.EDQUOT) else 503, storage_message(exc))

    @app.exception_handler(sqlite3.Error)
    async def database_error(request: Request, exc: sqlite3.Error):
        log.warning("database error on %s: %r", request.url.path, exc)
        full = "full" in str(exc).lower()
        return refusal(request, 507 if full else 503, storage_message(exc))

    @app.exception_handler(ClientDisconnect)
    async def gone(request: Request, exc: ClientDisconnect):
        return Response(status_code=400)  # nobody is listening; nothing to log either

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception):
        log.error("internal error on %s", request.url.path, exc_info=exc)
        return refusal(request, 500, _("Something went wrong on the server; nothing was changed. Try again, and if "
                                       "it happens again tell the finance bureau (the details are in the server's log)."))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        message = _("The request is incomplete or malformed.")
        if wants_json(request):
            return JSONResponse({"detail": message, "errors": validation_errors(exc.errors())}, status_code=422)
        return refusal(request, 422, message)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.add_middleware(SessionMiddleware, secret_key=cfg.secret, session_cookie=SESSION_COOKIE,
                       max_age=cfg.session_hours * 3600, same_site="lax", https_only=cfg.secure_cookie)
    limit_for, render_refusal = _body_limit(cfg)
    app.add_middleware(BodyLimit, limit_for=limit_for, render=render_refusal)
    app.add_middleware(BodyTimeout, grace=cfg.body_seconds, min_rate=cfg.body_min_rate, render=_timeout_page)
    app.router.lifespan_context = _lifespan(store, cfg)
    return app


def _timeout_page(path: str, accept: str) -> tuple[bytes, str]:
    message = _("The upload arrived too slowly and was stopped. Check the network connection and try again.")
    if path.startswith("/api/") or "text/html" not in accept:
        return json_error(message), "application/json; charset=utf-8"
    page = env().get_template("error.html").render(message=message, title=title_for(408), desk=False, csrf="",
                                                   lang=current_locale(), version=xltool.__version__)
    return page.encode("utf-8"), "text/html; charset=utf-8"


def _lifespan(store: Store, cfg: WebConfig):
    """While the server runs: purge the pending area every pending_purge_seconds (a quarter of an hour)."""
    import asyncio
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(_app):
        async def purge_forever():
            while True:
                await asyncio.sleep(max(1, cfg.pending_purge_seconds))
                try:
                    store.purge_pending(cfg.pending_keep_hours * 3600)
                except (OSError, sqlite3.Error) as exc:
                    log.warning("purging the pending area failed: %r", exc)

        task = asyncio.create_task(purge_forever())
        try:
            yield
        finally:
            task.cancel()

    return lifespan


def jsonable(errors) -> list:
    """Validation errors as JSON, each with a Chinese reason (kept for older imports)."""
    return validation_errors(errors)
