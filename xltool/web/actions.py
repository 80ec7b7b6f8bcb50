"""The desk's actions on many units, asked before they are done, and the background tasks.

``/desk/rounds/<id>/mail/<kind>`` (kind: results, codes, reminders): GET shows who gets what and
who is skipped and why; POST (CSRF, and the plan's digest from that page) starts the task and
leads to ``/desk/tasks/<n>``, whose progress bar polls ``/api/tasks/<n>`` like an audit's and
which ends with a Chinese summary. The API has the same under ``/api/`` (see xltool.web.api).
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from xltool.i18n import _
from xltool.web import mailing
from xltool.web import services as svc
from xltool.web.auth import check_csrf, logged_in
from xltool.web.helpers import attachment, form_choices, parse_form, parse_year, render, services, templates_zip
from xltool.web.mailing import CODES, REMINDERS, RESULTS, Plan
from xltool.web.tasks import Task, TaskRefused

router = APIRouter(include_in_schema=False)

KINDS = {"results": RESULTS, "codes": CODES, "reminders": REMINDERS}


def titles() -> dict[str, str]:
    return {RESULTS: _("Mail each unit its audit result"), CODES: _("Mail each unit of the roster its code"),
            REMINDERS: _("Remind the units that have not submitted")}


def _kind(value: str) -> str:
    kind = KINDS.get(value)
    if kind is None:
        raise HTTPException(404, _("There is no page at this address. Check the address, or start again from the "
                                   "self-check page or the audit desk."))
    return kind


def _flag(value, default: bool = True) -> bool:
    if value is None or value == "":
        return default
    return str(value).strip().lower() not in ("0", "false", "no", "off")


def default_year(request: Request, round_id: int) -> int:
    """The year of the round's last audit, else last year (self-evaluations look back a year)."""
    latest = services(request).store.latest_audit(round_id)
    year = (latest.result or {}).get("year") if latest is not None else None
    try:
        return int(year) if year else date.today().year - 1
    except (TypeError, ValueError):
        return date.today().year - 1


def site_of(request: Request) -> str:
    """The self-check page's address for a reminder, unless it is this computer only."""
    from xltool.netaddr import is_loopback

    host = request.url.hostname or ""
    return "" if not host or is_loopback(host) or host == "localhost" else str(request.base_url)


async def make_plan(request: Request, kind: str, round_id: int, params: dict) -> Plan:
    """The plan of *kind* for the round with the options in *params* (from a query or a form)."""
    from xltool.mail.errors import MailError

    s = services(request)
    r = svc.get_round(request, round_id)

    def build() -> Plan:
        if kind == RESULTS:
            return mailing.plan_results(s.cfg, s.store, r, s.store.latest_audit(r.id), passed=_flag(params.get("passed")))
        if kind == CODES:
            return mailing.plan_codes(s.cfg, s.store, r)
        year = parse_year(params.get("year")) if params.get("year") not in (None, "") else default_year(request, r.id)
        return mailing.plan_reminders(s.cfg, s.store, r, s.store.latest_audit(r.id), year=year,
                                      form_id=parse_form(params.get("form")), site=site_of(request))

    try:
        return await run_in_threadpool(build)
    except TaskRefused as exc:
        raise HTTPException(409 if kind == RESULTS else 400, str(exc)) from None
    except MailError as exc:
        raise HTTPException(400, exc.message) from None


def start_plan(request: Request, plan: Plan) -> Task:
    """Start sending what *plan* says, in the background (409 while the round's audit or the same
    action runs)."""
    s = services(request)
    job = s.auditor.current
    if plan.kind == RESULTS and s.auditor.busy() and job is not None and job.round_id == plan.round_id:
        raise HTTPException(409, _("The round is being audited; mail the results when the audit has finished."))
    back = f"/desk/rounds/{plan.round_id}"

    def work(task: Task) -> None:
        if plan.kind == RESULTS:
            mailing.send_results(plan, s.cfg, s.store, task)
        elif plan.kind == CODES:
            mailing.send_codes(plan, s.cfg, task)
        else:
            mailing.send_reminders(plan, s.cfg, s.store, task)

    r = svc.get_round(request, plan.round_id)
    task = s.tasks.start(plan.kind, titles()[plan.kind], work, back=back, round_id=plan.round_id, back_label=r.name)
    if task is None:
        raise HTTPException(409, _("The same action is already running. Wait until it has finished."))
    return task


def audit_busy_with(request: Request, round_id: int) -> bool:
    """Whether the round's results are being mailed (an audit would rewrite their attachments)."""
    task = services(request).tasks.busy(RESULTS)
    return task is not None and task.round_id == round_id


# -- pages ---------------------------------------------------------------------------------------------------

def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _preview(request: Request, plan: Plan, status: int = 200, changed: bool = False):
    s = services(request)
    r = svc.get_round(request, plan.round_id)
    audit = s.store.audit(plan.audit_id) if plan.audit_id else None
    return render(request, "mail_preview.html", status=status, round=r, plan=plan, kind=plan.kind,
                  slug=next(k for k, v in KINDS.items() if v == plan.kind), title=titles()[plan.kind], audit=audit,
                  forms=form_choices() if plan.kind == REMINDERS else [], changed=changed)


@router.get("/desk/rounds/{round_id}/mail/{kind}")
async def preview_page(request: Request, round_id: int, kind: str):
    if not logged_in(request):
        return _see("/login")
    plan = await make_plan(request, _kind(kind), round_id, dict(request.query_params))
    return _preview(request, plan)


@router.post("/desk/rounds/{round_id}/mail/{kind}")
async def confirm_page(request: Request, round_id: int, kind: str):
    if not logged_in(request):
        return _see("/login")
    form = await request.form(max_files=0, max_fields=10)
    check_csrf(request, form.get("csrf_token"))
    plan = await make_plan(request, _kind(kind), round_id, {k: v for k, v in form.items() if isinstance(v, str)})
    if form.get("plan") != plan.digest:  # the list changed since it was shown: show it again
        return _preview(request, plan, status=409, changed=True)
    task = start_plan(request, plan)
    return _see(f"/desk/tasks/{task.id}")


def get_task(request: Request, task_id: int) -> Task:
    task = services(request).tasks.get(task_id)
    if task is None:
        raise HTTPException(404, _("This task is no longer known (the server keeps the latest tasks until it "
                                   "restarts). Start it again from the desk."))
    return task


@router.get("/desk/tasks/{task_id}")
async def task_page(request: Request, task_id: int):
    if not logged_in(request):
        return _see("/login")
    return render(request, "task.html", task=get_task(request, task_id))


def task_download(request: Request, task_id: int):
    task = get_task(request, task_id)
    if task.file is None or task.state != "done":
        raise HTTPException(404, _("Nothing to download yet: wait until the task has finished."))
    return attachment(task.file.read_bytes(), task.file_name, "application/zip")


@router.get("/desk/tasks/{task_id}/download")
async def task_download_page(request: Request, task_id: int):
    if not logged_in(request):
        return _see("/login")
    return task_download(request, task_id)


# -- the templates zip in the background --------------------------------------------------------------------

async def start_templates(request: Request, fields: dict, files: list) -> Task:
    """Check the roster at once (a bad one is a 400 here), then make the zip in the background."""
    import tempfile
    from pathlib import Path

    from xltool.audit.roster import RosterError, load_roster
    from xltool.web.store import ROSTER_EXT, safe_ext

    s = services(request)
    year, form_id = parse_year(fields.get("year")), parse_form(fields.get("form"))
    if not files:
        raise HTTPException(400, _("Choose the roster file (.xlsx or .csv)."))
    name, data = files[0]

    def units() -> int:
        ext = safe_ext(name, ROSTER_EXT)
        with tempfile.TemporaryDirectory(prefix="xltool-web-") as tmp:
            path = Path(tmp) / f"roster.{'xlsx' if ext == 'bin' else ext}"
            path.write_bytes(data)
            return len(load_roster(path).units)

    try:
        n = await run_in_threadpool(units)
    except RosterError as exc:
        raise HTTPException(400, str(exc)) from None
    if not n:
        raise HTTPException(400, _("The roster lists no unit."))
    zip_name = _("Templates {year}").format(year=year) + ".zip"

    def work(task: Task) -> None:
        task.progress(0, n, _("Making the templates"))
        try:
            made = templates_zip(year, name, data, s.cfg.audit_jobs, form_id, s.cfg.submit_key,
                                 progress=lambda done, total: task.progress(done, total, _("Making the templates")))
        except RosterError as exc:
            raise TaskRefused(str(exc)) from None
        task.phase = _("Storing the zip")
        task.file, task.file_name = s.store.save_task_file(task.id, made, "zip"), zip_name
        task.summary = [_("{n} templates for {year} are ready: download the zip below.").format(n=task.total, year=year)]

    task = s.tasks.start("templates", _("Templates for the units"), work, back="/desk")
    if task is None:
        raise HTTPException(409, _("Templates are already being made. Wait until they are ready."))
    return task
