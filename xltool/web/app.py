"""The FastAPI application: pages (自查, 审核台) and the JSON API under /api/.

``create_app(cfg)`` wires the settings of one data folder; :mod:`xltool.web.pages` and
:mod:`xltool.web.api` hold the routes, both calling the same small services of
:mod:`xltool.web.helpers`.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.staticfiles import StaticFiles

import xltool
from xltool.i18n import _, current_locale
from xltool.read.safety import Limits
from xltool.web.audits import Auditor
from xltool.web.auth import LoginThrottle
from xltool.web.config import WebConfig
from xltool.web.guard import BodyLimit, RateLimit, json_error, too_large_message
from xltool.web.helpers import (  # noqa: F401 - re-exported for older imports
    HERE, MULTIPART_OVERHEAD, SESSION_COOKIE, XLSX_TYPE, Services, attachment, client_of, env, read_uploads, render,
    services, templates_zip)
from xltool.web.selfcheck import ResultCache
from xltool.web.store import Store


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
    store = Store(cfg.data)
    store.fail_running(_("The server stopped while this audit was running; run it again."))
    app.state.services = Services(
        cfg=cfg, store=store, auditor=Auditor(store, jobs=cfg.audit_jobs, mail_config=cfg.mail_config),
        cache=ResultCache(cfg.selfcheck_keep_minutes * 60), rate=RateLimit(cfg.selfcheck_per_minute),
        logins=LoginThrottle(), limits=Limits(max_file_bytes=cfg.max_upload_bytes),
    )
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return render(request, "error.html", status=exc.status_code, message=exc.detail)

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
                       max_age=8 * 3600, same_site="lax", https_only=False)
    limit_for, render_refusal = _body_limit(cfg)
    app.add_middleware(BodyLimit, limit_for=limit_for, render=render_refusal)
    return app


def jsonable(errors) -> list:
    return [{"loc": list(map(str, e.get("loc", ()))), "msg": str(e.get("msg", ""))} for e in errors]
