"""The FastAPI application: pages (自查, 审核台) and the JSON API under /api/.

``create_app(cfg)`` wires the settings of one data folder; :mod:`xltool.web.pages` and
:mod:`xltool.web.api` hold the routes, both calling the same small services here.
"""

from __future__ import annotations

import errno
import io
import logging
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import ClientDisconnect
from starlette.staticfiles import StaticFiles

import xltool
from xltool.i18n import _, current_locale
from xltool.numbers import fmt_amount
from xltool.read.safety import Limits
from xltool.web.audits import Auditor
from xltool.plaintext import plain
from xltool.web.auth import HashPool, PasswordGate, csrf_token, logged_in
from xltool.web.config import WebConfig
from xltool.web.guard import BodyLimit, BodyTimeout, RateLimit, json_error, too_large_message
from xltool.web.selfcheck import ResultCache, fmt_value
from xltool.web.store import StorageFull, Store

log = logging.getLogger("xltool.web")
HERE = Path(__file__).parent
MULTIPART_OVERHEAD = 1024 * 1024  # form fields and part headers around the file itself
SESSION_COOKIE = "xltool_session"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@lru_cache(maxsize=1)
def env() -> Environment:
    e = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(["html"]),
                    trim_blocks=True, lstrip_blocks=True)
    e.globals["_"] = _
    e.filters["num"] = fmt_value
    e.filters["amount"] = lambda v: "" if v is None else fmt_amount(v)
    e.filters["pct"] = lambda v: "" if v is None else f"{v * 100:.2f}%"
    e.filters["plain"] = plain  # workbook text shown as a title: no bidi or control characters
    return e


@dataclass
class Services:
    cfg: WebConfig
    store: Store
    auditor: Auditor
    cache: ResultCache
    rate: RateLimit
    logins: PasswordGate  # the desk password, by the form and by HTTP Basic
    codes: PasswordGate  # units' submission codes
    hashes: HashPool
    limits: Limits


def services(request: Request) -> Services:
    return request.app.state.services


def render(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    context.update(request=request, csrf=csrf_token(request), desk=logged_in(request), lang=current_locale(),
                   version=xltool.__version__)
    return HTMLResponse(env().get_template(template).render(**context), status_code=status)


def attachment(data: bytes, filename: str, media_type: str = XLSX_TYPE) -> Response:
    """A download; the (Chinese) file name goes in filename* (RFC 6266), an ASCII fallback beside it."""
    fallback = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in filename) or "download"
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
    return Response(data, media_type=media_type, headers={"Content-Disposition": disposition})


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", "")


def refusal(request: Request, status: int, message: str, headers: dict | None = None) -> Response:
    """A Chinese sentence as JSON (API, scripts) or as the error page (browsers)."""
    if wants_json(request):
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    try:
        return render(request, "error.html", status=status, message=message)
    except Exception:  # noqa: BLE001 - even the page failing must not become a traceback
        return Response(message, status_code=status, media_type="text/plain; charset=utf-8")


async def read_uploads(request: Request, *, max_files: int, max_bytes: int, field: str = "file") -> tuple[dict, list[tuple[str, bytes]]]:
    """The form's plain fields and its uploaded files (name, bytes); a clear 400 when they are unusable."""
    try:
        form = await request.form(max_files=max_files, max_fields=20)
    except (MultiPartException, StarletteHTTPException):  # Starlette turns a parser error into a 400 in English
        raise HTTPException(400, _("The upload could not be read, or it holds too many files (at most {n}).").format(
            n=max_files)) from None
    fields: dict = {}
    files: list[tuple[str, bytes]] = []
    total = 0
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key != field:
                continue
            data = await value.read(max_bytes + 1)
            total += len(data)
            if len(data) > max_bytes or total > max_bytes:
                raise HTTPException(413, too_large_message(max_bytes))
            if not data and not value.filename:
                continue  # the browser's empty file input
            files.append((value.filename or "", data))
        else:
            fields[key] = value
    await form.close()
    return fields, files


def templates_zip(year: int, roster_name: str, roster: bytes, jobs: int = 1, form_id: str | None = None,
                  submit_key: str = "") -> bytes:
    """One locked template per roster unit, zipped (the roster is read by xltool.audit.roster);
    *form_id*: a registered form pack (the default form when None). With *submit_key* each
    template carries its unit's submission code, and the zip a CSV of the codes."""
    from functools import partial

    from xltool.audit.distribute import write_unit_templates
    from xltool.web.codes import codes_csv, roster_codes, submission_code
    from xltool.web.store import ROSTER_EXT, safe_ext

    ext = safe_ext(roster_name, ROSTER_EXT)
    with tempfile.TemporaryDirectory(prefix="xltool-web-") as tmp:
        path = Path(tmp) / f"roster.{'xlsx' if ext == 'bin' else ext}"
        path.write_bytes(roster)
        code = partial(submission_code, submit_key) if submit_key else None
        written = write_unit_templates(year, path, Path(tmp) / "out", jobs=jobs, form_id=form_id, submit_code=code)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for file in written:
                zf.write(file, arcname=file.name)
            if submit_key:
                zf.writestr(_("Submission codes") + ".csv", codes_csv(roster_codes(submit_key, path)))
        return buffer.getvalue()


def _body_limit(cfg: WebConfig):
    def limit_for(path: str) -> int:
        if path.startswith(("/desk/", "/api/rounds", "/api/templates")):
            return cfg.max_batch_bytes + MULTIPART_OVERHEAD
        return cfg.max_upload_bytes + MULTIPART_OVERHEAD

    def render_refusal(path: str, accept: str, limit: int) -> tuple[bytes, str]:
        message = too_large_message(limit - MULTIPART_OVERHEAD)
        if path.startswith("/api/") or "text/html" not in accept:
            return json_error(message), "application/json; charset=utf-8"
        page = env().get_template("error.html").render(message=message, status=413, desk=False, csrf="",
                                                       lang=current_locale(), version=xltool.__version__)
        return page.encode("utf-8"), "text/html; charset=utf-8"

    return limit_for, render_refusal


CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def create_app(cfg: WebConfig) -> FastAPI:
    from xltool.web import api, pages

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
    )
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if wants_json(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return refusal(request, exc.status_code, str(exc.detail), exc.headers)

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
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": message, "errors": jsonable(exc.errors())}, status_code=422)
        return render(request, "error.html", status=422, message=message)

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


def storage_message(exc: BaseException) -> str:
    if isinstance(exc, StorageFull) or getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or (
            isinstance(exc, sqlite3.Error) and "full" in str(exc).lower()):
        return _("The server's disk is full, so nothing was stored. Tell the finance bureau; try again later.")
    return _("The server cannot use its data folder just now (it may be read-only or a file has gone missing), "
             "so nothing was changed. Tell the finance bureau; try again later.")


def _timeout_page(path: str, accept: str) -> tuple[bytes, str]:
    message = _("The upload arrived too slowly and was stopped. Check the network connection and try again.")
    if path.startswith("/api/") or "text/html" not in accept:
        return json_error(message), "application/json; charset=utf-8"
    page = env().get_template("error.html").render(message=message, status=408, desk=False, csrf="",
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
    return [{"loc": list(map(str, e.get("loc", ()))), "msg": str(e.get("msg", ""))} for e in errors]
