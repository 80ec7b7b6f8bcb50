"""What the page, API and service routers share: the Jinja environment and rendering, the
services of the running app, uploads, downloads, refusals. Below ``xltool.web.app`` (which mounts
the routers) and the routers themselves, so that none of them imports the other back."""

from __future__ import annotations

import io
import logging
import tempfile
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

import xltool
from xltool.i18n import _, current_locale
from xltool.numbers import fmt_kind
from xltool.plaintext import plain
from xltool.read.safety import Limits
from xltool.web.audits import Auditor
from xltool.web.auth import HashPool, PasswordGate, csrf_token, logged_in
from xltool.web.config import WebConfig
from xltool.web.guard import RateLimit, too_large_message
from xltool.web.selfcheck import ResultCache, place_of
from xltool.web.store import Store
from xltool.web.tasks import Tasks

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
    # Every figure on every page: {{ value|num("amount") }}, "rate", "score", "count", or a
    # finding cell's own kind; the one formatter of xltool.numbers (2,450.21, 97.58%, 100.00, 12).
    e.filters["num"] = lambda value, kind=None: fmt_kind(kind, value)
    e.filters["place"] = place_of  # a workbook cell, or the place in a Word report
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
    tasks: Tasks  # the templates zip and the actions on many units, in the background


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
    from xltool.web.errors import title_for

    try:
        response = render(request, "error.html", status=status, message=message, title=title_for(status),
                          not_found=status == 404)
        for key, value in (headers or {}).items():
            response.headers.setdefault(key, value)
        return response
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
                  submit_key: str = "", progress=None) -> bytes:
    """One locked template per roster unit, zipped (the roster is read by xltool.audit.roster);
    *form_id*: a registered form pack (the default form when None). With *submit_key* each
    template carries its unit's submission code, and the zip a CSV of the codes. *progress*:
    called with (done, total) as the templates are written (see write_unit_templates)."""
    from functools import partial

    from xltool.audit.distribute import write_unit_templates
    from xltool.web.codes import codes_csv, roster_codes, submission_code
    from xltool.web.store import ROSTER_EXT, safe_ext

    ext = safe_ext(roster_name, ROSTER_EXT)
    with tempfile.TemporaryDirectory(prefix="xltool-web-") as tmp:
        path = Path(tmp) / f"roster.{'xlsx' if ext == 'bin' else ext}"
        path.write_bytes(roster)
        code = partial(submission_code, submit_key) if submit_key else None
        written = write_unit_templates(year, path, Path(tmp) / "out", jobs=jobs, form_id=form_id, submit_code=code,
                                       progress=progress)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for file in written:
                zf.write(file, arcname=file.name)
            if submit_key:
                zf.writestr(_("Submission codes") + ".csv", codes_csv(roster_codes(submit_key, path)))
        return buffer.getvalue()


def parse_year(value) -> int:
    try:
        year = int(str(value))
    except ValueError:
        raise HTTPException(400, _("Give the year as four digits, e.g. 2023.")) from None
    if not 2000 <= year <= 2100:
        raise HTTPException(400, _("Give the year as four digits, e.g. 2023."))
    return year


def form_choices() -> list[tuple[str, str]]:
    """(pack id, name) of the registered form packs (each id's newest version), the default
    first; a bureau pack that is not valid is left out (``xltool forms`` says why)."""
    from xltool.form.pack import PackError
    from xltool.form.registry import DEFAULT_FORM, available, get_pack

    out = []
    for i in sorted(available(), key=lambda i: (i != DEFAULT_FORM, i)):
        try:
            out.append((i, get_pack(i, session=False).name))
        except PackError:
            continue
    return out


def parse_form(value) -> str | None:
    """A form pack id chosen on the page: only a registered id, never a path."""
    from xltool.form.pack import PackError
    from xltool.form.registry import UnknownForm, get_pack, is_registered

    value = str(value or "").strip()
    if not value:
        return None
    if not is_registered(value):
        raise HTTPException(400, str(UnknownForm(value[:60])))
    try:
        get_pack(value, session=False)
    except PackError as exc:
        raise HTTPException(400, _("The form pack {ref} is not valid here: {problem}").format(
            ref=value[:60], problem=str(exc.problems[0]) if exc.problems else "")) from None
    return value
