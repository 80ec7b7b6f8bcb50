"""What the pages and the API both do: self-check an upload, 报送, receive files, look up results."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from xltool.i18n import _
from xltool.plaintext import plain
from xltool.web.helpers import client_of, read_uploads, services
from xltool.web.codes import code_matches, normal_unit_code
from xltool.web.selfcheck import Checked, check_bytes
from xltool.web.store import PendingFile, Round, StoredFile

MB = 1024 * 1024
_SUBMITTING = threading.Lock()


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
    checked.client = client_of(request)
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


@dataclass
class Receipt:
    """What a unit prints after 报送: enough to prove which file the bureau received, and when."""

    number: str  # the receipt number: the file's id in the round, or P<n> while it waits for the bureau
    pending: bool
    round: str
    unit: str
    unit_code: str
    file: str
    sha256: str
    received: str
    errors: int
    warnings: int

    @property
    def sha_short(self) -> str:
        """The first 16 hex digits in groups of four: enough to tell two files apart by eye."""
        head = self.sha256[:16].upper()
        return " ".join(head[i:i + 4] for i in range(0, len(head), 4))

    def public(self) -> dict:
        return {"receipt": self.number, "pending": self.pending, "round": self.round, "unit": self.unit,
                "unit_code": self.unit_code, "file": self.file, "sha256": self.sha256, "received": self.received,
                "errors": self.errors, "warnings": self.warnings}


@dataclass
class Submission:
    """What a 报送 became: a file of the round (identity shown) or a pending one (the desk decides)."""

    round: Round
    stored: StoredFile | None = None
    pending: PendingFile | None = None

    @property
    def receipt(self) -> str:
        return f"{self.stored.id}" if self.stored is not None else f"P{self.pending.id}"  # type: ignore[union-attr]

    def receipt_of(self, checked: Checked) -> Receipt:
        item = self.stored or self.pending
        report = checked.report
        return Receipt(number=self.receipt, pending=self.pending is not None, round=self.round.name,
                       unit=(report.unit if report else "") or "", unit_code=item.unit_code,  # type: ignore[union-attr]
                       file=checked.name, sha256=checked.sha256, received=item.received,  # type: ignore[union-attr]
                       errors=report.errors if report else 0, warnings=report.warnings if report else 0)


def _refuse(status: int, message: str):
    raise HTTPException(status, message)


def _identity(request: Request, checked: Checked, fields: dict) -> tuple[str, bool]:
    """(unit code, verified): the workbook's unit code (or the one typed for a Word report) and
    whether the unit showed its submission code, typed or carried by its template."""
    s = services(request)
    report = checked.report
    assert report is not None
    declared = normal_unit_code(report.unit_code)
    typed_unit = normal_unit_code(plain(fields.get("unit_code"), 40))
    if declared and typed_unit and typed_unit != declared:
        _refuse(400, _("The unit code typed ({typed}) is not the one in the file ({declared}).").format(
            typed=typed_unit, declared=declared))
    unit_code = declared or typed_unit
    typed = str(fields.get("submit_code") or "").strip()[:64]
    code = typed or checked.embedded_code
    if not code:
        return unit_code, False
    if not unit_code:
        _refuse(400, _("Give the unit code together with the submission code."))
    client = client_of(request)
    s.codes.begin(client)  # a wrong code counts like a wrong password: guessing is throttled
    ok = code_matches(s.cfg.submit_key, unit_code, code)
    s.codes.end(client, ok)
    if typed and not ok:
        _refuse(403, _("The submission code does not belong to unit {code}. Check it in the bureau's mail, or leave "
                       "it empty: the file then waits for the bureau to confirm it.").format(code=unit_code))
    return unit_code, ok  # a template carrying a wrong code: the file waits for the desk


def _within_quota(request: Request, r: Round, size: int, unit_code: str, verified: bool) -> None:
    """Strangers' share of the disk: per client and in all per round, per unit, and the pending area."""
    s = services(request)
    cfg = s.cfg
    client = client_of(request)
    files, used = s.store.usage(r.id, client=client)
    if files >= cfg.submit_per_client or used + size > cfg.submit_client_mb * MB:
        _refuse(429, _("This computer has already submitted {n} files ({mb} MB) in this round, the most allowed. "
                       "If more are needed, ask the finance bureau.").format(n=files, mb=round(used / MB)))
    files, used = s.store.usage(r.id)
    if files >= cfg.submit_round_files or used + size > cfg.submit_round_mb * MB:
        _refuse(507, _("The bureau's server has received as many submissions as it takes for this round. "
                       "Tell the finance bureau."))
    if verified:
        if s.store.unit_submissions(r.id, unit_code) >= cfg.submit_per_unit:
            _refuse(429, _("Unit {code} has already submitted {n} times in this round, the most allowed. The bureau "
                           "audits the newest file; ask the bureau if another is needed.").format(
                code=unit_code, n=cfg.submit_per_unit))
        return
    s.store.purge_pending(cfg.pending_keep_hours * 3600)
    files, used = s.store.pending_usage()
    if files >= cfg.pending_files or used + size > cfg.pending_mb * MB:
        _refuse(429, _("Too many submissions are waiting for the bureau to confirm them. Submit with the unit's "
                       "submission code, or try again later."))


def submit(request: Request, checked: Checked, fields: dict | None = None) -> Submission:
    """报送: store the checked file. With the unit's submission code (typed, or in the template
    the desk made for it) it goes into the current round; without one it waits in the pending
    area until the desk accepts it (or it is purged)."""
    if checked.report is None:
        raise HTTPException(400, _("A file that cannot be read cannot be submitted. Fix it and check it again."))
    s = services(request)
    with _SUBMITTING:  # two presses at once store the file once
        if checked.submitted:
            raise HTTPException(409, _("This file has already been submitted."))
        checked.submitted = True
    try:
        unit_code, verified = _identity(request, checked, fields or {})
        r = s.store.current_round(default_round_name())
        _within_quota(request, r, len(checked.data), unit_code, verified)
        unit = checked.report.unit or ""
        if verified:
            stored = s.store.add_file(r.id, checked.name, checked.data, checked.sha256, "selfcheck", unit=unit,
                                      unit_code=unit_code, client=client_of(request))
            done = Submission(r, stored=stored)
        else:
            pending = s.store.add_pending(r.id, checked.name, checked.data, checked.sha256, client_of(request),
                                          unit=unit, unit_code=unit_code)
            done = Submission(r, pending=pending)
        checked.receipt = done.receipt_of(checked)
        return done
    except BaseException:
        checked.submitted = False  # refused or failed: the unit may try again (with the code, later)
        raise


def decide_pending(request: Request, pending_id: int, action: str) -> PendingFile:
    """The desk accepts a pending 报送 into its round (``accept``) or deletes it (``drop``)."""
    s = services(request)
    p = s.store.pending_file(pending_id)
    if p is None or action not in ("accept", "drop"):
        raise HTTPException(404, _("No such file waiting for confirmation (it may have been handled or purged)."))
    if action == "accept":
        s.store.accept_pending(pending_id)
    else:
        s.store.drop_pending(pending_id)
    return p


def round_codes(request: Request, r: Round):
    """The submission code of every unit on the round's roster (404 without a roster)."""
    from xltool.audit.roster import RosterError
    from xltool.web.codes import roster_codes

    s = services(request)
    roster = s.store.roster_path(r)
    if roster is None:
        raise HTTPException(404, _("Set the roster first."))
    try:
        return roster_codes(s.cfg.submit_key, roster)
    except RosterError as exc:
        raise HTTPException(400, str(exc)) from None


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
    client = client_of(request)

    def store_all() -> list[StoredFile]:  # written and fsynced off the event loop
        return [s.store.add_file(r.id, name, data, hashlib.sha256(data).hexdigest(), "desk", client=client)
                for name, data in files]

    return await run_in_threadpool(store_all)


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
