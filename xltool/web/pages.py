"""The HTML pages: 自查 (/) for units, 审核台 (/desk) for the bureau."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from xltool.i18n import _
from xltool.plaintext import plain
from xltool.web import services as svc
from xltool.web.helpers import XLSX_TYPE, attachment, read_uploads, render, services, templates_zip
from xltool.web.auth import check_csrf, end_session, logged_in, start_session, try_password
from xltool.web.selfcheck import annotated_bytes, grouped, issue_list_bytes

router = APIRouter(include_in_schema=False)


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# -- 自查 -------------------------------------------------------------------------------------------------

@router.get("/")
async def selfcheck_page(request: Request):
    return render(request, "selfcheck.html", max_mb=services(request).cfg.max_upload_bytes // (1024 * 1024))


@router.post("/selfcheck")
async def selfcheck_post(request: Request):
    checked = await svc.selfcheck_upload(request, lambda fields: check_csrf(request, fields.get("csrf_token")))
    status = 200 if checked.report is not None else 422
    return render(request, "selfcheck_result.html", status=status, checked=checked,
                  groups=grouped(checked.report) if checked.report else [],
                  keep=services(request).cfg.selfcheck_keep_minutes)


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
    form = await request.form(max_files=0, max_fields=5)
    check_csrf(request, form.get("csrf_token"))
    checked = svc.cached(request, token)
    if checked.submitted:
        return render(request, "submitted.html", checked=checked, again=True)
    done = await run_in_threadpool(svc.submit, request, checked, {k: v for k, v in form.items() if isinstance(v, str)})
    return render(request, "submitted.html", checked=checked, round=done.round, stored=done.stored,
                  pending=done.pending, receipt=done.receipt, hours=services(request).cfg.pending_keep_hours, again=False)


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


STATUS_FILTERS = ("passed", "explain", "fix", "blank", "unreadable")


@router.get("/desk/rounds/{round_id}")
async def desk_round(request: Request, round_id: int, status: str = "", audit: int | None = None):
    if (back := _guard(request)) is not None:
        return back
    s = services(request)
    r = svc.get_round(request, round_id)
    latest = s.store.latest_audit(r.id)
    job = s.auditor.current if s.auditor.busy() and s.auditor.current.round_id == r.id else None  # type: ignore[union-attr]
    units = []
    if latest is not None:
        units = [(n, u) for n, u in enumerate(latest.result["units"]) if not status or u["status"] == status]
    failed = next((a for a in s.store.audits(r.id) if a.status == "failed"), None)
    return render(request, "round.html", round=r, files=s.store.files(r.id), latest=latest, units=units,
                  mail=s.store.mail_files(r.id), held_mail=s.store.held_mail(r.id),
                  status_filter=status if status in STATUS_FILTERS else "", filters=STATUS_FILTERS, job=job,
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


@router.post("/desk/rounds/{round_id}/codes/mail")
async def desk_mail_codes(request: Request, round_id: int):
    if (back := _guard(request)) is not None:
        return back
    form = await request.form(max_files=0, max_fields=5)
    check_csrf(request, form.get("csrf_token"))
    r = svc.get_round(request, round_id)
    tally = await run_in_threadpool(svc.mail_codes, request, r)
    return render(request, "notice.html", title=_("Submission codes"), back=f"/desk/rounds/{r.id}",
                  lines=[f"{label}：{n}" for label, n in tally.items()] or [_("The roster lists no unit with a unit code.")])


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
    return render(request, "unit.html", round=r, unit=unit, groups=grouped(report), audit_id=audit_id)


@router.get("/desk/rounds/{round_id}/download/{which}")
async def desk_download(request: Request, round_id: int, which: str):
    if (back := _guard(request)) is not None:
        return back
    data, name = svc.output_file(request, round_id, which)
    return attachment(data, name, "text/csv; charset=utf-8" if which == "csv" else XLSX_TYPE)


@router.post("/desk/templates")
async def desk_templates(request: Request):
    if (back := _guard(request)) is not None:
        return back
    s = services(request)
    fields, files = await read_uploads(request, max_files=1, max_bytes=s.cfg.max_upload_bytes)
    check_csrf(request, fields.get("csrf_token"))
    return await roster_templates(s, fields, files)


async def roster_templates(s, fields: dict, files: list):
    """One template per roster unit, as a zip (the desk page and the API)."""
    year = _year(fields.get("year"))
    form_id = _form(fields.get("form"))
    if not files:
        raise HTTPException(400, _("Choose the roster file (.xlsx or .csv)."))
    data = await run_in_threadpool(_templates, year, files[0][0], files[0][1], s.cfg.audit_jobs, form_id,
                                   s.cfg.submit_key)
    return attachment(data, _("Templates {year}").format(year=year) + ".zip", "application/zip")


def _year(value) -> int:
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


def _form(value) -> str | None:
    """A form pack id chosen on the page: only a registered id, never a path."""
    from xltool.form.registry import UnknownForm, is_registered

    from xltool.form.pack import PackError
    from xltool.form.registry import get_pack

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


def _templates(year: int, name: str, data: bytes, jobs: int, form_id: str | None = None, key: str = "") -> bytes:
    from xltool.audit.roster import RosterError

    try:
        return templates_zip(year, name, data, jobs, form_id, key)
    except RosterError as exc:
        raise HTTPException(400, str(exc)) from None
