"""The HTML pages: 自查 (/) for units, 审核台 (/desk) for the bureau."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from xltool.i18n import _
from xltool.plaintext import plain
from xltool.web import services as svc
from xltool.web.actions import audit_busy_with, start_templates
from xltool.web.helpers import (
    XLSX_TYPE,
    attachment,
    form_choices,
    parse_form as _form,
    parse_year as _year,
    read_uploads,
    render,
    services,
    templates_zip,
)
from xltool.web.auth import check_csrf, end_session, logged_in, start_session, try_password
from xltool.web.selfcheck import annotated_bytes, cites_places, grouped, issue_list_bytes

router = APIRouter(include_in_schema=False)


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# -- 自查 -------------------------------------------------------------------------------------------------

@router.get("/")
async def selfcheck_page(request: Request):
    return render(request, "selfcheck.html", max_mb=services(request).cfg.max_upload_bytes // (1024 * 1024))


def _result_page(request: Request, checked, status: int = 200):
    return render(request, "selfcheck_result.html", status=status, checked=checked,
                  groups=grouped(checked.report) if checked.report else [], report_places=cites_places(checked.report),
                  keep=services(request).cfg.selfcheck_keep_minutes)


@router.post("/selfcheck")
async def selfcheck_post(request: Request):
    checked = await svc.selfcheck_upload(request, lambda fields: check_csrf(request, fields.get("csrf_token")))
    return _result_page(request, checked, 200 if checked.report is not None else 422)


@router.get("/selfcheck/{token}")
async def selfcheck_again(request: Request, token: str):
    """The result page again (e.g. back from the confirmation), while the result is kept."""
    return _result_page(request, svc.cached(request, token, readable=False))


@router.get("/selfcheck/{token}/annotated")
async def selfcheck_annotated(request: Request, token: str):
    checked = svc.annotatable(request, token)
    data = await run_in_threadpool(annotated_bytes, checked)
    return attachment(data, f"{checked.stem}_审核标注.xlsx")


@router.get("/selfcheck/{token}/issues")
async def selfcheck_issues(request: Request, token: str):
    checked = svc.cached(request, token)
    data = await run_in_threadpool(issue_list_bytes, checked)
    return attachment(data, "问题清单.xlsx")


@router.post("/selfcheck/{token}/submit")
async def selfcheck_submit(request: Request, token: str):
    form = await request.form(max_files=0, max_fields=6)
    check_csrf(request, form.get("csrf_token"))
    checked = svc.cached(request, token)
    if checked.submitted:
        return _receipt_page(request, checked, again=True)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    errors = checked.report.errors if checked.report is not None else 0
    if errors and fields.get("confirm") != "1":
        # 必须修改 left: say how many and which, and ask before the file goes to the bureau.
        first = [f for f in checked.report.findings if f.severity.value == "error"][:5]  # type: ignore[union-attr]
        return render(request, "submit_confirm.html", checked=checked, first=first, errors=errors,
                      unit_code=plain(fields.get("unit_code"), 40), submit_code=str(fields.get("submit_code") or "")[:64])
    await run_in_threadpool(svc.submit, request, checked, fields)
    return _receipt_page(request, checked, again=False)


def _receipt_page(request: Request, checked, again: bool):
    if checked.receipt is None:  # submitted by another request that has not finished: it will have one
        raise HTTPException(409, _("This file has already been submitted."))
    return render(request, "receipt.html", checked=checked, receipt=checked.receipt, again=again,
                  hours=services(request).cfg.pending_keep_hours)


@router.get("/selfcheck/{token}/receipt")
async def selfcheck_receipt(request: Request, token: str):
    """The printable receipt again, while the result is kept."""
    checked = svc.cached(request, token)
    if not checked.submitted:
        raise HTTPException(404, _("This file has not been submitted yet."))
    return _receipt_page(request, checked, again=False)


# -- login ------------------------------------------------------------------------------------------------

@router.get("/login")
async def login_page(request: Request):
    return render(request, "login.html", failed=False, configured=bool(services(request).cfg.password_hash))


@router.post("/login")
async def login_post(request: Request):
    s = services(request)
    form = await request.form(max_files=0, max_fields=5)
    check_csrf(request, form.get("csrf_token"))
    password = str(form.get("password") or "")
    if not await try_password(request, password):  # the one throttle, checked before the hash
        return render(request, "login.html", status=401, failed=True, configured=bool(s.cfg.password_hash))
    start_session(request)  # a fresh session (and CSRF token) after logging in
    return _see("/desk")


@router.post("/logout")
async def logout(request: Request):
    form = await request.form(max_files=0, max_fields=5)
    check_csrf(request, form.get("csrf_token"))
    end_session(request)  # the server forgets it: a copy of the cookie opens nothing
    return _see("/")


# -- 审核台 -----------------------------------------------------------------------------------------------

def _guard(request: Request):
    if not logged_in(request):
        return _see("/login")
    return None


@router.get("/desk")
async def desk(request: Request):
    if (back := _guard(request)) is not None:
        return back
    store = services(request).store
    rounds = [(r, len(store.files(r.id)), store.latest_audit(r.id)) for r in store.rounds()]
    return render(request, "desk.html", rounds=rounds, forms=form_choices())


@router.post("/desk/rounds")
async def desk_new_round(request: Request):
    if (back := _guard(request)) is not None:
        return back
    form = await request.form(max_files=0, max_fields=5)
    check_csrf(request, form.get("csrf_token"))
    name = plain(form.get("name"), 60) or _("Round {n}").format(n=len(services(request).store.rounds()) + 1)
    r = services(request).store.add_round(name)
    return _see(f"/desk/rounds/{r.id}")


def status_filters() -> list[tuple[str, str]]:
    """(status, label) of each tab: the audit's statuses, in its order."""
    from xltool.audit.model import Status

    return [(s.value, s.label) for s in Status]


@router.get("/desk/rounds/{round_id}")
async def desk_round(request: Request, round_id: int, status: str = "", audit: int | None = None):
    if (back := _guard(request)) is not None:
        return back
    s = services(request)
    r = svc.get_round(request, round_id)
    latest = s.store.latest_audit(r.id)
    job = s.auditor.current if s.auditor.busy() and s.auditor.current.round_id == r.id else None  # type: ignore[union-attr]
    filters = status_filters()
    status = status if status in dict(filters) else ""
    units, unread = [], []
    if latest is not None:
        units = [(n, u) for n, u in enumerate(latest.result["units"]) if not status or u["status"] == status]
        if status == "unreadable":  # the files that could not be read: the count the summary line gives
            unread = [a for a in latest.result.get("anomalies", []) if a.get("unread")]
    failed = next((a for a in s.store.audits(r.id) if a.status == "failed"), None)
    return render(request, "round.html", round=r, files=s.store.files(r.id), latest=latest, units=units,
                  unread=unread, mail=s.store.mail_files(r.id), held_mail=s.store.held_mail(r.id),
                  status_filter=status, filters=filters, job=job,
                  failed=failed if failed and (latest is None or failed.id > latest.id) else None,
                  audits=s.store.audits(r.id), max_mb=s.cfg.max_batch_bytes // (1024 * 1024),
                  max_files=s.cfg.max_batch_files, pending=s.store.pending(r.id),
                  pending_hours=s.cfg.pending_keep_hours)


@router.post("/desk/pending/{pending_id}/{action}")
async def desk_pending(request: Request, pending_id: int, action: str):
    """Accept a pending 报送 into its round, or delete it."""
    if (back := _guard(request)) is not None:
        return back
    form = await request.form(max_files=0, max_fields=5)
    check_csrf(request, form.get("csrf_token"))
    p = svc.decide_pending(request, pending_id, action)
    return _see(f"/desk/rounds/{p.round_id}")


@router.get("/desk/rounds/{round_id}/codes")
async def desk_codes(request: Request, round_id: int):
    if (back := _guard(request)) is not None:
        return back
    from xltool.web.codes import codes_csv

    units = svc.round_codes(request, svc.get_round(request, round_id))
    return attachment(codes_csv(units), _("Submission codes") + ".csv", "text/csv; charset=utf-8")


@router.post("/desk/rounds/{round_id}/files")
async def desk_files(request: Request, round_id: int):
    if (back := _guard(request)) is not None:
        return back
    r = svc.get_round(request, round_id)
    await svc.receive_files(request, r, lambda fields: check_csrf(request, fields.get("csrf_token")))
    return _see(f"/desk/rounds/{r.id}")


@router.post("/desk/rounds/{round_id}/roster")
async def desk_roster(request: Request, round_id: int):
    if (back := _guard(request)) is not None:
        return back
    r = svc.get_round(request, round_id)
    fields, files = await read_uploads(request, max_files=1, max_bytes=services(request).cfg.max_upload_bytes)
    check_csrf(request, fields.get("csrf_token"))
    if not files:
        raise HTTPException(400, _("Choose the roster file (.xlsx or .csv)."))
    services(request).store.set_roster(r.id, files[0][0], files[0][1])
    return _see(f"/desk/rounds/{r.id}")


@router.post("/desk/rounds/{round_id}/audit")
async def desk_audit(request: Request, round_id: int):
    if (back := _guard(request)) is not None:
        return back
    form = await request.form(max_files=0, max_fields=5)
    check_csrf(request, form.get("csrf_token"))
    r = svc.get_round(request, round_id)
    if audit_busy_with(request, r.id):
        raise HTTPException(409, _("The round's results are being mailed; run the audit when that has finished."))
    job = services(request).auditor.start(r.id, email=form.get("email") == "1")
    if job is None:
        raise HTTPException(409, _("An audit is already running. Wait until it has finished."))
    return _see(f"/desk/rounds/{r.id}?audit={job.audit_id}")


@router.get("/desk/audits/{audit_id}/units/{n}")
async def desk_unit(request: Request, audit_id: int, n: int):
    if (back := _guard(request)) is not None:
        return back
    result, unit = svc.audit_unit(request, audit_id, n)
    audit = services(request).store.audit(audit_id)
    r = svc.get_round(request, audit.round_id)  # type: ignore[union-attr]
    from xltool.check.finding import WorkbookReport

    report = WorkbookReport(path=unit["file"], unit=unit["unit"], findings=unit["findings"])
    return render(request, "unit.html", round=r, unit=unit, groups=grouped(report), audit_id=audit_id,
                  report_places=cites_places(report))


@router.get("/desk/rounds/{round_id}/download/{which}")
async def desk_download(request: Request, round_id: int, which: str):
    if (back := _guard(request)) is not None:
        return back
    data, name = svc.output_file(request, round_id, which)
    return attachment(data, name, "text/csv; charset=utf-8" if which == "csv" else XLSX_TYPE)


@router.post("/desk/templates")
async def desk_templates(request: Request):
    """The templates zip, made in the background with a progress bar and a download link."""
    if (back := _guard(request)) is not None:
        return back
    s = services(request)
    fields, files = await read_uploads(request, max_files=1, max_bytes=s.cfg.max_upload_bytes)
    check_csrf(request, fields.get("csrf_token"))
    task = await start_templates(request, fields, files)
    return _see(f"/desk/tasks/{task.id}")


async def roster_templates(s, fields: dict, files: list):
    """One template per roster unit, as a zip (the desk page and the API)."""
    year = _year(fields.get("year"))
    form_id = _form(fields.get("form"))
    if not files:
        raise HTTPException(400, _("Choose the roster file (.xlsx or .csv)."))
    data = await run_in_threadpool(_templates, year, files[0][0], files[0][1], s.cfg.audit_jobs, form_id,
                                   s.cfg.submit_key)
    return attachment(data, _("Templates {year}").format(year=year) + ".zip", "application/zip")


def _templates(year: int, name: str, data: bytes, jobs: int, form_id: str | None = None, key: str = "") -> bytes:
    from xltool.audit.roster import RosterError

    try:
        return templates_zip(year, name, data, jobs, form_id, key)
    except RosterError as exc:
        raise HTTPException(400, str(exc)) from None
