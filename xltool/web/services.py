"""What the pages and the API both do: self-check an upload, 报送, receive files, look up results."""

from __future__ import annotations

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from xltool.i18n import _
from xltool.web.helpers import client_of, read_uploads, services
from xltool.web.selfcheck import Checked, check_bytes
from xltool.web.store import Round, StoredFile


def default_round_name() -> str:
    return _("Round 1")


async def selfcheck_upload(request: Request, authorise=None) -> Checked:
    """Check the uploaded workbook (after *authorise(fields)*, e.g. the CSRF check) and remember the result."""
    s = services(request)
    if not s.rate.allow(client_of(request)):
        raise HTTPException(429, _("Too many checks from this computer in a short time. Wait a minute and try again."))
    fields, files = await read_uploads(request, max_files=1, max_bytes=s.cfg.max_upload_bytes)
    if authorise is not None:
        authorise(fields)
    if not files:
        raise HTTPException(400, _("Choose a workbook (.xlsx) to check."))
    name, data = files[0]
    checked = await run_in_threadpool(check_bytes, name, data, s.limits)
    s.cache.put(checked)
    return checked


def cached(request: Request, token: str, *, readable: bool = True) -> Checked:
    checked = services(request).cache.get(token)
    if checked is None:
        raise HTTPException(404, _("This check result is no longer available (results are kept for {minutes} minutes "
                                   "and never stored). Upload the workbook again.").format(
            minutes=services(request).cfg.selfcheck_keep_minutes))
    if readable and checked.report is None:
        raise HTTPException(404, checked.unreadable)
    return checked


def annotatable(request: Request, token: str) -> Checked:
    """The cached result of a workbook (a Word report has no annotated copy)."""
    checked = cached(request, token)
    if checked.is_report:
        raise HTTPException(404, _("A Word report has no annotated copy: download the issue list instead."))
    return checked


def submit(request: Request, checked: Checked) -> tuple[Round, StoredFile]:
    """报送: store the checked file in the current round, for the bureau's audit."""
    if checked.report is None:
        raise HTTPException(400, _("A file that cannot be read cannot be submitted. Fix it and check it again."))
    s = services(request)
    r = s.store.current_round(default_round_name())
    stored = s.store.add_file(r.id, checked.name, checked.data, checked.sha256, "selfcheck",
                              unit=checked.report.unit or "", unit_code=checked.report.unit_code or "")
    checked.submitted = True
    return r, stored


def get_round(request: Request, round_id: int) -> Round:
    r = services(request).store.round(round_id)
    if r is None:
        raise HTTPException(404, _("No such round."))
    return r


async def receive_files(request: Request, r: Round, authorise=None) -> list[StoredFile]:
    """Store uploaded workbooks and zip archives in the round (after *authorise(fields)*, e.g. the CSRF check)."""
    import hashlib

    s = services(request)
    fields, files = await read_uploads(request, max_files=s.cfg.max_batch_files, max_bytes=s.cfg.max_batch_bytes)
    if authorise is not None:
        authorise(fields)
    if not files:
        raise HTTPException(400, _("Choose the workbooks or zip archives to add."))
    stored = [s.store.add_file(r.id, name, data, hashlib.sha256(data).hexdigest(), "desk") for name, data in files]
    return stored


def latest(request: Request, round_id: int):
    return services(request).store.latest_audit(round_id)


def audit_unit(request: Request, audit_id: int, n: int) -> tuple[dict, dict]:
    audit = services(request).store.audit(audit_id)
    if audit is None or audit.result is None or not 0 <= n < len(audit.result["units"]):
        raise HTTPException(404, _("No such unit in this audit."))
    return audit.result, audit.result["units"][n]


def output_file(request: Request, round_id: int, which: str) -> tuple[bytes, str]:
    from xltool.audit.summary import csv_name, summary_name

    name = {"summary": summary_name(), "csv": csv_name()}.get(which)
    if name is None or latest(request, round_id) is None:
        raise HTTPException(404, _("Run the audit first."))
    path = services(request).store.audit_dir(round_id) / name
    if not path.is_file():
        raise HTTPException(404, _("Run the audit first."))
    return path.read_bytes(), name
