"""Deployment 1, xlwings Server style: a FastAPI app for the Office.js add-in 检查本表.

Routes:

- ``GET /manifest.xml``: the add-in manifest (ribbon tab with 检查本表 and the task pane,
  Chinese labels with English overrides, requirement SharedRuntime 1.1);
- ``GET /taskpane.html``: the task pane (Jinja2, text through the gettext catalogue);
- ``GET /static/xltool-addin.js``: the Office.js client (see that file for why it is ours);
- ``GET /icons/icon-{16,32,64,80}.png``, ``GET /help``;
- ``POST /xlwings/custom-scripts-call/{name}``: an xlwings client's payload in, ``{"actions":
  [...], "xltool": summary}`` out, exactly as xlwings Server answers (``xw.Book(json=...)``,
  ``xlwings.server.custom_scripts_call``, ``book.json()``); ``GET /xlwings/custom-scripts-meta``.

The server keeps nothing: each request is checked in memory and forgotten. It listens on
127.0.0.1 by default, since each PC runs its own (see docs/addin.md).
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from xltool.addin.licence import ensure_licence

ensure_licence()

import xlwings as xw  # noqa: E402
from fastapi import FastAPI, HTTPException, Request  # noqa: E402
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response  # noqa: E402
from jinja2 import Environment, FileSystemLoader  # noqa: E402
from xlwings.server import custom_scripts_call, custom_scripts_meta  # noqa: E402

from xltool.addin import scripts  # noqa: E402
from xltool.addin.icons import SIZES, icon_png  # noqa: E402
from xltool.addin.plan import SEVERITY_COLOURS  # noqa: E402
from xltool.addin.remote import CONFIG, SUMMARY  # noqa: E402
from xltool.check.finding import Severity  # noqa: E402
from xltool.form.scoring import ScoringConfig  # noqa: E402
from xltool.i18n import _, current_locale, translations  # noqa: E402

HERE = Path(__file__).parent
ADDIN_ID = "a36fb163-07a2-48e2-a06a-23b36109b1a5"
MANIFEST_VERSION = "1.0.0.0"
SCRIPT = "check_workbook"
MAX_BODY = 32 * 1024 * 1024  # bytes; a template's payload is well under 1 MB
log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=True,
                       trim_blocks=False, lstrip_blocks=False, keep_trailing_newline=True)


def _both(msgid: str) -> dict[str, str]:
    """A string in the manifest's default locale (zh-CN) and its en-US override."""
    return {"zh": translations("zh_CN").gettext(msgid), "en": translations("en").gettext(msgid)}


MANIFEST_IDS = {"tab": "Tab.Label", "group": "Group.Label", "check": "CheckButton.Label",
                "taskpane": "TaskpaneButton.Label", "started": "GetStarted.Title",
                "check_tip": "CheckButton.Tooltip", "taskpane_tip": "TaskpaneButton.Tooltip",
                "started_tip": "GetStarted.Description"}


def normalise_base_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(_("The base URL must look like https://host:port, got “{url}”.").format(url=url))
    return url.strip().rstrip("/")


def render_manifest(base_url: str, addin_id: str = ADDIN_ID) -> str:
    strings = {
        "name": _both("Self-evaluation check"),
        "description": _both("Checks the budget performance self-evaluation workbook with the finance bureau's rules "
                             "and marks the cells to fix."),
        "tab": _both("Self-evaluation"),
        "group": _both("Review"),
        "check": _both("Check this workbook"),
        "taskpane": _both("Review pane"),
        "started": _both("Check this workbook"),
        "check_tip": _both("Check the open workbook: colour the cells to fix, add notes, list every problem on the 审核 sheet."),
        "taskpane_tip": _both("Open the review pane with the list of problems."),
        "started_tip": _both("Click Check this workbook on the Self-evaluation tab to check the open workbook."),
    }
    return _env().get_template("manifest.xml.j2").render(
        base_url=normalise_base_url(base_url), addin_id=addin_id, version=MANIFEST_VERSION, s=strings, ids=MANIFEST_IDS)


def taskpane_texts() -> dict[str, str]:
    return {
        "checking": _("Checking…"),
        "failed": _("The check did not run: {error}"),
        "noSummary": _("The server answered without a result; is it the xltool add-in server?"),
        "noteFailures": _("{n} notes could not be written; the cells are coloured and the list is on the 审核 sheet."),
        "more": _("{n} more problems are listed on the 审核 sheet."),
        "unknownAction": _("The server asked for an action this add-in does not know ({name}); update the add-in."),
        "noOffice": _("Open this page from Excel: it is the task pane of the self-evaluation check add-in."),
    }


OFFICE_JS = "https://appsforoffice.microsoft.com/lib/1/hosted/office.js"


def office_js_url() -> str:
    """Microsoft's CDN by default; an intranet that blocks it sets XLTOOL_OFFICE_JS to its own copy."""
    import os

    return os.environ.get("XLTOOL_OFFICE_JS", "").strip() or OFFICE_JS


def render_taskpane(base_url: str) -> str:
    return _env().get_template("taskpane.html.j2").render(
        _=_, lang="zh-CN" if current_locale().startswith("zh") else "en", base_url=base_url, office_js=office_js_url(),
        colours={"error": SEVERITY_COLOURS[Severity.ERROR], "warning": SEVERITY_COLOURS[Severity.WARNING]},
        texts=taskpane_texts(),
        config={"scriptUrl": f"xlwings/custom-scripts-call/{SCRIPT}", "xlwingsVersion": xw.__version__},
    )


def setup_notes(base_url: str) -> str:
    return _(
        "xltool: the Check this workbook add-in for Excel\n"
        "\n"
        "Server address: {base_url}\n"
        "\n"
        "1. Start the server on this PC: xltool addin serve --port {port} --certfile cert.pem --keyfile key.pem\n"
        "   (Excel only loads add-ins over HTTPS; a certificate for localhost can be made with mkcert or\n"
        "   `npx office-addin-dev-certs install`.)\n"
        "2. Excel (Microsoft 365 or Excel 2021 and later): Home > Add-ins > More add-ins > My add-ins >\n"
        "   Upload my add-in, and choose manifest.xml from this folder. An administrator can instead deploy\n"
        "   it to all users (Microsoft 365 admin centre > Integrated apps) or through a shared-folder catalogue.\n"
        "3. Open the self-evaluation workbook and click Self-evaluation > Check this workbook. The cells to fix\n"
        "   turn red (must fix)"
        " or yellow (needs explanation) with a note, and the list appears on the 审核 sheet from column K.\n"
        "\n"
        "Excel 2016/2019 with Python installed: use the classic add-in instead (xltool_classic.bas, see\n"
        "docs/addin.md). WPS cannot run either: use the live 审核 sheet and the bureau's check-workbook.\n"
    ).format(base_url=base_url, port=urlsplit(base_url).port or (443 if base_url.startswith("https") else 80))


def _base_url(request: Request, configured: str | None) -> str:
    return configured or str(request.base_url).rstrip("/")


def create_app(*, base_url: str | None = None, cfg: ScoringConfig | None = None) -> FastAPI:
    """The add-in server. *base_url*: the public address (default: the request's own);
    *cfg*: a scoring configuration overriding the one stored in each workbook."""
    if not scripts.registered() or "remote" not in [engine.name for engine in xw.engines]:
        raise RuntimeError("xlwings' remote engine is not available: xlwings was imported before XLWINGS_LICENSE_KEY "
                           "was set (import xltool.addin first, or set the variable)")
    configured = normalise_base_url(base_url) if base_url else None
    app = FastAPI(title="xltool add-in", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("taskpane.html")

    @app.get("/manifest.xml")
    async def manifest(request: Request) -> Response:
        return Response(render_manifest(_base_url(request, configured)), media_type="application/xml")

    @app.get("/taskpane.html", response_class=HTMLResponse)
    async def taskpane(request: Request) -> HTMLResponse:
        return HTMLResponse(render_taskpane(_base_url(request, configured)))

    @app.get("/help")
    async def help_page(request: Request) -> Response:
        return Response(setup_notes(_base_url(request, configured)), media_type="text/plain; charset=utf-8")

    @app.get("/static/xltool-addin.js")
    async def client_js() -> Response:
        return Response((HERE / "static" / "xltool-addin.js").read_bytes(), media_type="text/javascript; charset=utf-8")

    @app.get("/icons/icon-{size}.png")
    async def icon(size: int) -> Response:
        if size not in SIZES:
            raise HTTPException(404)
        return Response(icon_png(size), media_type="image/png")

    @app.get("/xlwings/custom-scripts-meta")
    @app.get("/xlwings/custom-scripts-meta.json")
    async def scripts_meta() -> list:
        return custom_scripts_meta(scripts)

    @app.post("/xlwings/custom-scripts-call/{script_name}")
    async def scripts_call(script_name: str, request: Request) -> JSONResponse:
        if script_name not in scripts.registered():
            raise HTTPException(404, _("There is no script called “{name}”.").format(name=script_name))
        too_large = HTTPException(413, _("The workbook sent is too large for the add-in; check it with check-workbook."),
                                  headers={"Connection": "close"})
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY:
            raise too_large
        parts: list[bytes] = []
        size = 0
        async for chunk in request.stream():  # counted as it arrives: a chunked body has no declared size
            size += len(chunk)
            if size > MAX_BODY:
                raise too_large
            parts.append(chunk)
        body = b"".join(parts)
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise HTTPException(400, _("The add-in sent data that xltool cannot read; update the add-in or check the file "
                                       "with check-workbook.")) from None
        if not isinstance(payload, dict) or not isinstance(payload.get("sheets"), list) or not isinstance(
                payload.get("book"), dict):
            raise HTTPException(400, _("The add-in sent data that xltool cannot read; update the add-in or check the file "
                                       "with check-workbook."))
        payload.setdefault("names", [])
        payload.setdefault("version", xw.__version__)
        payload.setdefault("client", "Office.js")
        for sheet in payload["sheets"]:
            if isinstance(sheet, dict):  # keys xlwings' remote engine may look up
                for key, empty in (("values", [[]]), ("pictures", []), ("tables", [])):
                    sheet.setdefault(key, empty)
        try:
            book = xw.Book(json=payload)
        except (xw.XlwingsError, KeyError, TypeError, ValueError) as exc:
            # e.g. a VBA client of another xlwings version than the server's
            raise HTTPException(400, str(exc)) from None
        config_token = CONFIG.set(cfg)
        summary_token = SUMMARY.set(None)
        try:
            book = await custom_scripts_call(scripts, script_name, typehint_to_value={xw.Book: book})
            answer = dict(book.json())
            answer["xltool"] = SUMMARY.get()
        except Exception as exc:  # noqa: BLE001 - the user gets a sentence, the log the trace
            log.exception("check failed")
            raise HTTPException(500, _("xltool could not check this workbook ({error}); check it with check-workbook and "
                                       "report the problem to the finance bureau.").format(error=type(exc).__name__)) from None
        finally:
            CONFIG.reset(config_token)
            SUMMARY.reset(summary_token)
            try:
                book.close()
            except Exception:  # noqa: BLE001
                pass
        return JSONResponse(answer)

    return app
