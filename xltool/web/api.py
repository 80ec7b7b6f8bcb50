"""The JSON API under /api/ (OpenAPI schema at /api/openapi.json), for the bureau's other systems.

Self-check endpoints need no login; the desk's need HTTP Basic with the desk password (any user
name) or the session cookie plus the ``X-CSRF-Token`` header for changes.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from xltool.check.finding import WorkbookReport
from xltool.i18n import _
from xltool.plaintext import plain
from xltool.web import services as svc
from xltool.web.helpers import SESSION_COOKIE, XLSX_TYPE, attachment, read_uploads, services
from xltool.web.auth import CSRF_HEADER, api_desk, check_csrf
from xltool.web.selfcheck import annotated_bytes, issue_list_bytes

router = APIRouter(prefix="/api")


def _csrf_if_cookie(request: Request) -> None:
    """A browser holding the session cookie must prove the request came from our page."""
    if request.method == "POST" and SESSION_COOKIE in request.cookies:
        check_csrf(request, request.headers.get(CSRF_HEADER))


async def desk_auth(request: Request) -> None:
    await api_desk(request)


class SelfCheckResult(BaseModel):
    token: str = Field(description="identifies this result for the downloads and 报送, for a short while")
    file: str
    sha256: str
    readable: bool
    reason: str = Field("", description="machine-readable reason when the file cannot be read")
    message: str = Field("", description="Chinese sentence when the file cannot be read")
    report: WorkbookReport | None = None
    annotated_url: str | None = None
    issues_url: str | None = None
    submit_url: str | None = None


class Submitted(BaseModel):
    round_id: int
    round: str
    file_id: int = Field(description="the file's id in the round, or in the pending area when pending")
    file: str
    status: str = Field("stored", description="stored (in the round: the submission code was right) or pending "
                                              "(no valid code: it waits for the bureau to accept it)")
    receipt: str = Field("", description="the receipt number shown to the unit (P… for a pending file)")
    received: str = Field("", description="when the bureau's server stored it")
    sha256: str = ""
    errors: int = Field(0, description="必须修改 findings of the file as submitted (the page asks before submitting them)")
    warnings: int = 0


class SubmitBody(BaseModel):
    unit_code: str = Field("", max_length=40, description="only for a file that does not state its unit code (a Word report)")
    submit_code: str = Field("", max_length=64, description="the unit's submission code (not needed when the file is "
                                                            "the template the bureau made for the unit)")


class RoundOut(BaseModel):
    id: int
    name: str
    created: str
    roster: str
    files: int
    latest_audit: int | None


class FileOut(BaseModel):
    id: int
    name: str
    size: int
    sha256: str
    received: str
    origin: str = Field(description="selfcheck (报送 by the unit), desk (uploaded by the bureau) or mail (xltool intake)")


class AuditState(BaseModel):
    audit_id: int
    round_id: int
    phase: str
    total: int
    done: int
    percent: int
    state: str = Field(description="running, done or failed")
    message: str
    seconds: float


def _result(checked) -> SelfCheckResult:
    base = f"/api/selfcheck/{checked.token}"
    ok = checked.report is not None
    return SelfCheckResult(token=checked.token, file=checked.name, sha256=checked.sha256, readable=ok,
                           reason=checked.reason, message=checked.unreadable, report=checked.report,
                           annotated_url=f"{base}/annotated" if ok and not checked.is_report else None, issues_url=f"{base}/issues" if ok else None,
                           submit_url=f"{base}/submit" if ok else None)


@router.post("/selfcheck", response_model=SelfCheckResult, tags=["self-check"],
             summary="Check one workbook (multipart field 'file'); nothing is stored")
async def api_selfcheck(request: Request):
    _csrf_if_cookie(request)
    return _result(await svc.selfcheck_upload(request))


@router.get("/selfcheck/{token}/annotated", tags=["self-check"], summary="The annotated copy (.xlsx)",
            responses={200: {"content": {XLSX_TYPE: {}}}})
async def api_annotated(request: Request, token: str):
    checked = svc.annotatable(request, token)
    return attachment(await run_in_threadpool(annotated_bytes, checked), f"{checked.stem}_审核标注.xlsx")


@router.get("/selfcheck/{token}/issues", tags=["self-check"], summary="问题清单.xlsx",
            responses={200: {"content": {XLSX_TYPE: {}}}})
async def api_issues(request: Request, token: str):
    checked = svc.cached(request, token)
    return attachment(await run_in_threadpool(issue_list_bytes, checked), "问题清单.xlsx")


@router.post("/selfcheck/{token}/submit", response_model=Submitted, tags=["self-check"],
             summary="报送: store the checked file for the bureau's audit (the current round)")
async def api_submit(request: Request, token: str, body: SubmitBody | None = None):
    _csrf_if_cookie(request)
    checked = svc.cached(request, token)
    if checked.submitted:
        raise HTTPException(409, _("This file has already been submitted."))
    done = await run_in_threadpool(svc.submit, request, checked, body.model_dump() if body is not None else {})
    item = done.stored or done.pending
    receipt = checked.receipt
    return Submitted(round_id=done.round.id, round=done.round.name, file_id=item.id, file=item.name,  # type: ignore[union-attr]
                     status="stored" if done.stored else "pending", receipt=done.receipt, received=receipt.received,
                     sha256=receipt.sha256, errors=receipt.errors, warnings=receipt.warnings)


# -- the desk --------------------------------------------------------------------------------------------

class NewRound(BaseModel):
    name: str = Field("", max_length=60)


def _round_out(request: Request, r) -> RoundOut:
    store = services(request).store
    latest = store.latest_audit(r.id)
    return RoundOut(id=r.id, name=r.name, created=r.created, roster=r.roster_name, files=len(store.files(r.id)),
                    latest_audit=latest.id if latest else None)


@router.get("/rounds", response_model=list[RoundOut], tags=["desk"], dependencies=[Depends(desk_auth)],
            summary="Rounds of submissions, newest first")
async def api_rounds(request: Request):
    return [_round_out(request, r) for r in services(request).store.rounds()]


@router.post("/rounds", response_model=RoundOut, tags=["desk"], dependencies=[Depends(desk_auth)],
             summary="Open a new round (units' 报送 go to the newest round)")
async def api_new_round(request: Request, body: NewRound):
    store = services(request).store
    name = plain(body.name, 60) or _("Round {n}").format(n=len(store.rounds()) + 1)
    return _round_out(request, store.add_round(name))


@router.get("/rounds/{round_id}/files", response_model=list[FileOut], tags=["desk"], dependencies=[Depends(desk_auth)])
async def api_files(request: Request, round_id: int):
    r = svc.get_round(request, round_id)
    return [FileOut(id=f.id, name=f.name, size=f.size, sha256=f.sha256, received=f.received, origin=f.origin)
            for f in services(request).store.files(r.id)]


@router.post("/rounds/{round_id}/files", response_model=list[FileOut], tags=["desk"], dependencies=[Depends(desk_auth)],
             summary="Add workbooks or zip archives (multipart field 'file', repeated)")
async def api_add_files(request: Request, round_id: int):
    r = svc.get_round(request, round_id)
    stored = await svc.receive_files(request, r)
    return [FileOut(id=f.id, name=f.name, size=f.size, sha256=f.sha256, received=f.received, origin=f.origin)
            for f in stored]


@router.post("/rounds/{round_id}/roster", response_model=RoundOut, tags=["desk"], dependencies=[Depends(desk_auth)],
             summary="Set the round's roster (multipart field 'file': .xlsx or .csv)")
async def api_roster(request: Request, round_id: int):
    r = svc.get_round(request, round_id)
    _fields, files = await read_uploads(request, max_files=1, max_bytes=services(request).cfg.max_upload_bytes)
    if not files:
        raise HTTPException(400, _("Choose the roster file (.xlsx or .csv)."))
    services(request).store.set_roster(r.id, files[0][0], files[0][1])
    return _round_out(request, svc.get_round(request, round_id))


class StartAudit(BaseModel):
    email: bool = Field(False, description="e-mail each unit its result (outbox, never twice)")


@router.post("/rounds/{round_id}/audit", response_model=AuditState, status_code=202, tags=["desk"],
             dependencies=[Depends(desk_auth)], summary="Start the audit of the round; poll /api/audits/{id}")
async def api_start_audit(request: Request, round_id: int, body: StartAudit | None = None):
    r = svc.get_round(request, round_id)
    job = services(request).auditor.start(r.id, email=bool(body and body.email))
    if job is None:
        raise HTTPException(409, _("An audit is already running. Wait until it has finished."))
    return AuditState(**job.as_dict())


@router.get("/audits/{audit_id}", response_model=AuditState, tags=["desk"], dependencies=[Depends(desk_auth)],
            summary="Progress of an audit")
async def api_audit_state(request: Request, audit_id: int):
    job = services(request).auditor.job(audit_id)
    if job is None:
        raise HTTPException(404, _("No such audit."))
    return AuditState(**job.as_dict())


@router.get("/rounds/{round_id}/summary", tags=["desk"], dependencies=[Depends(desk_auth)],
            summary="The latest audit of the round: counts, every unit with its findings, charts, anomalies")
async def api_summary(request: Request, round_id: int):
    svc.get_round(request, round_id)
    latest = svc.latest(request, round_id)
    if latest is None:
        raise HTTPException(404, _("Run the audit first."))
    return {"audit_id": latest.id, "finished": latest.finished, **latest.result}


@router.get("/rounds/{round_id}/download/{which}", tags=["desk"], dependencies=[Depends(desk_auth)],
            summary="审核汇总.xlsx (which=summary) or the consolidated CSV (which=csv)")
async def api_download(request: Request, round_id: int, which: str):
    data, name = svc.output_file(request, round_id, which)
    return attachment(data, name, "text/csv; charset=utf-8" if which == "csv" else XLSX_TYPE)


@router.post("/templates", tags=["desk"], dependencies=[Depends(desk_auth)],
             summary="One locked template per roster unit, as a zip (multipart: 'file' the roster, 'year', optional 'form' pack id)",
             responses={200: {"content": {"application/zip": {}}}})
async def api_templates(request: Request):
    """Kept for scripts that wait for the zip; /api/templates/tasks reports progress instead."""
    from xltool.web.pages import roster_templates

    s = services(request)
    fields, files = await read_uploads(request, max_files=1, max_bytes=s.cfg.max_upload_bytes)
    return await roster_templates(s, fields, files)


# -- 报送 without a code, and the units' submission codes ----------------------------------------------------

class PendingOut(BaseModel):
    id: int
    round_id: int
    name: str
    size: int
    sha256: str
    received: str
    client: str = Field(description="the address it came from")
    unit: str
    unit_code: str


class UnitCodeOut(BaseModel):
    unit: str
    unit_code: str
    email: str
    code: str = Field(description="the unit's submission code")


@router.get("/rounds/{round_id}/pending", response_model=list[PendingOut], tags=["desk"],
            dependencies=[Depends(desk_auth)], summary="报送 waiting for confirmation (they came without a valid code)")
async def api_pending(request: Request, round_id: int):
    r = svc.get_round(request, round_id)
    return [PendingOut(id=p.id, round_id=p.round_id, name=p.name, size=p.size, sha256=p.sha256, received=p.received,
                       client=p.client, unit=p.unit, unit_code=p.unit_code) for p in services(request).store.pending(r.id)]


@router.post("/pending/{pending_id}/{action}", tags=["desk"], dependencies=[Depends(desk_auth)],
             summary="Accept a pending 报送 into its round (action=accept) or delete it (action=drop)")
async def api_decide_pending(request: Request, pending_id: int, action: str):
    p = svc.decide_pending(request, pending_id, action)
    return {"id": p.id, "round_id": p.round_id, "action": action}


@router.get("/rounds/{round_id}/codes", response_model=list[UnitCodeOut], tags=["desk"],
            dependencies=[Depends(desk_auth)], summary="The submission code of every unit on the round's roster")
async def api_codes(request: Request, round_id: int):
    units = svc.round_codes(request, svc.get_round(request, round_id))
    return [UnitCodeOut(unit=u.name, unit_code=u.unit_code, email=u.email, code=u.code) for u in units]


# -- actions on many units: shown first, then done in the background --------------------------------------

class PlannedUnit(BaseModel):
    unit: str
    unit_code: str
    to: list[str]
    cc: list[str]
    errors: int | None
    warnings: int | None
    status: str = Field(description="the unit's audit status (results only)")
    attachments: list[str]
    send: bool = Field(description="true: it will be sent; false: skipped, see reason")
    reason: str


class PlanOut(BaseModel):
    kind: str
    round_id: int
    audit_id: int | None = Field(description="the stored audit whose results are mailed (the audit is not run again)")
    plan: str = Field(description="give it back to the POST: what is sent is what this answer showed")
    options: dict
    notes: list[str]
    sending: int
    skipped: int
    units: list[PlannedUnit]


class ConfirmPlan(BaseModel):
    plan: str = Field("", max_length=64, description="the plan from the GET; empty: whatever the list is now")
    passed: bool = Field(True, description="results: also mail the units that passed")
    year: int | None = Field(None, description="reminders: the year of the templates (default: the round's)")
    form: str = Field("", max_length=60, description="reminders: a registered form pack id")


class TaskState(BaseModel):
    task_id: int
    kind: str
    title: str
    round_id: int | None
    phase: str
    total: int
    done: int
    percent: int
    state: str = Field(description="running, done or failed")
    message: str
    summary: list[str] = Field(description="what happened, in Chinese sentences")
    rows: list[dict] = Field(description="one per unit: unit, unit_code, to, outcome (sent, queued, not_again, "
                                         "failed, skipped), label, detail")
    download: bool
    seconds: float


def _params(body: ConfirmPlan | None) -> dict:
    if body is None:
        return {}
    return {"passed": "1" if body.passed else "0", "year": body.year or "", "form": body.form}


@router.get("/rounds/{round_id}/mail/{kind}", response_model=PlanOut, tags=["desk"],
            dependencies=[Depends(desk_auth)],
            summary="Who would get what (kind: results, codes, reminders) and who is skipped, and why")
async def api_plan(request: Request, round_id: int, kind: str, passed: bool = True, year: int | None = None,
                   form: str = ""):
    from xltool.web.actions import _kind, make_plan

    plan = await make_plan(request, _kind(kind), round_id,
                           {"passed": "1" if passed else "0", "year": year or "", "form": form})
    return plan.public()


@router.post("/rounds/{round_id}/mail/{kind}", response_model=TaskState, status_code=202, tags=["desk"],
             dependencies=[Depends(desk_auth)],
             summary="Send what the GET showed (give its plan back); poll /api/tasks/{task_id}")
async def api_send_plan(request: Request, round_id: int, kind: str, body: ConfirmPlan | None = None):
    from xltool.web.actions import _kind, make_plan, start_plan

    plan = await make_plan(request, _kind(kind), round_id, _params(body))
    if body is not None and body.plan and body.plan != plan.digest:
        raise HTTPException(409, _("The list has changed since it was shown (a new audit, roster or file): look at "
                                   "it again before sending."))
    return TaskState(**start_plan(request, plan).as_dict())


@router.get("/tasks/{task_id}", response_model=TaskState, tags=["desk"], dependencies=[Depends(desk_auth)],
            summary="Progress and outcome of a background task (mail to many units, the templates zip)")
async def api_task(request: Request, task_id: int):
    from xltool.web.actions import get_task

    return TaskState(**get_task(request, task_id).as_dict())


@router.get("/tasks/{task_id}/download", tags=["desk"], dependencies=[Depends(desk_auth)],
            summary="What a finished task made (the templates zip)", responses={200: {"content": {"application/zip": {}}}})
async def api_task_download(request: Request, task_id: int):
    from xltool.web.actions import task_download

    return task_download(request, task_id)


@router.post("/templates/tasks", response_model=TaskState, status_code=202, tags=["desk"],
             dependencies=[Depends(desk_auth)],
             summary="The templates zip in the background (same fields as /api/templates); poll /api/tasks/{task_id}")
async def api_templates_task(request: Request):
    from xltool.web.actions import start_templates

    s = services(request)
    fields, files = await read_uploads(request, max_files=1, max_bytes=s.cfg.max_upload_bytes)
    return TaskState(**(await start_templates(request, fields, files)).as_dict())
