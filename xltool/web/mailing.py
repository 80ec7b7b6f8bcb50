"""The desk's actions on many units, each shown before it is done: who gets what, who is skipped
and why; then, once a person confirms, done in a background task with a summary in Chinese.

Three actions: each unit's audit result (from the stored audit: the audit is not run again), each
roster unit's submission code, and a reminder with the unit's own template to the roster units
that have not submitted in the round. A plan carries a digest of what it will do; the confirm
must bring the same digest, so what is sent is what the person saw (a new audit or roster in
between shows the list again).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from xltool.i18n import _
from xltool.web.config import WebConfig
from xltool.web.store import Audit, Round, Store
from xltool.web.tasks import Task, TaskRefused

RESULTS, CODES, REMINDERS = "mail-results", "mail-codes", "reminders"


@dataclass
class Planned:
    """One unit of a plan: what it will be sent, or why it is skipped."""

    key: str
    unit: str
    code: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    errors: int | None = None
    warnings: int | None = None
    status: str = ""  # the audit's status of the unit (results only)
    status_label: str = ""
    attachments: list[str] = field(default_factory=list)
    send: bool = False
    reason: str = ""  # why it is skipped
    ref: object = None  # what sending needs (the stored unit, the roster unit); never shown

    def public(self) -> dict:
        return {"unit": self.unit, "unit_code": self.code, "to": self.to, "cc": self.cc, "errors": self.errors,
                "warnings": self.warnings, "status": self.status, "attachments": self.attachments,
                "send": self.send, "reason": self.reason}


@dataclass
class Plan:
    kind: str
    round_id: int
    rows: list[Planned]
    audit_id: int | None = None
    options: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # sentences shown above the list

    @property
    def sending(self) -> list[Planned]:
        return [r for r in self.rows if r.send]

    @property
    def skipped(self) -> list[Planned]:
        return [r for r in self.rows if not r.send]

    @property
    def digest(self) -> str:
        """What the person confirms: the action, its inputs and every unit's recipients."""
        payload = {"kind": self.kind, "round": self.round_id, "audit": self.audit_id, "options": self.options,
                   "rows": [[r.key, r.to, r.cc, r.send, r.attachments] for r in self.rows]}
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()[:32]

    def reasons(self) -> list[tuple[str, int]]:
        """Why units are skipped, most frequent first."""
        return Counter(r.reason for r in self.skipped).most_common()

    def public(self) -> dict:
        return {"kind": self.kind, "round_id": self.round_id, "audit_id": self.audit_id, "plan": self.digest,
                "options": self.options, "notes": self.notes, "sending": len(self.sending),
                "skipped": len(self.skipped), "units": [r.public() for r in self.rows]}


# -- mail settings ------------------------------------------------------------------------------------------

def _settings_for_sending(cfg: WebConfig):
    """The mail settings in a task: unusable ones end it with their sentence."""
    from xltool.mail.errors import MailError

    try:
        return mail_settings(cfg)
    except MailError as exc:
        raise TaskRefused(exc.message) from None


def mail_settings(cfg: WebConfig):
    """The mail settings of the data folder (xltool.toml's [mail]); without them the messages
    wait in the data folder's outbox. MailError (a Chinese sentence) when they are unusable."""
    from xltool.mail.config import load_settings

    where = {} if cfg.mail_config or "XLTOOL_MAIL_OUTBOX" in os.environ else {"outbox": cfg.data / "outbox"}
    return load_settings(cfg.mail_config, **where)


def outbox_label(settings, cfg: WebConfig) -> str:
    """Where the messages wait: the data folder's outbox said as such, any other by its path."""
    outbox = Path(settings.outbox).resolve()
    try:
        inside = outbox.relative_to(cfg.data.resolve()).as_posix()
    except ValueError:
        return str(outbox)
    return _("the folder {folder} of the data folder").format(folder=inside)


def _settings_notes(settings, cfg: WebConfig) -> list[str]:
    if settings.sends:
        return [_("The messages go to the mail server {server}; each is kept in the outbox.").format(
            server=settings.server_label)]
    return [_("No mail server is set: the messages are written to the outbox {outbox} and wait there; once "
              "[mail] is set in the data folder's xltool.toml, “xltool mail flush” sends them.").format(
        outbox=outbox_label(settings, cfg))]


def _ledger(settings):
    """The outbox, its ledger read once for the whole plan (a plan asks about every unit)."""
    from xltool.mail.outbox import Outbox

    class Once(Outbox):
        _ledger_data: dict | None = None

        def _read_ledger(self):
            if self._ledger_data is None:
                self._ledger_data = super()._read_ledger()
            return self._ledger_data

    return Once(settings.outbox)


def _earlier(outbox, key: str) -> str:
    """Why a message with this dedupe key is not sent again ("" when it would be new)."""
    from xltool.mail.outbox import MessageStatus

    existing = outbox.find_duplicate(key)
    if existing is None:
        return ""
    if isinstance(existing, str) or existing.status is MessageStatus.SENT:
        when = (getattr(existing, "sent_at", None) or "")[:16].replace("T", " ")
        return _("the same message was sent on {when}").format(when=when) if when else _("the same message was sent before")
    return _("the same message is already in the outbox ({status})").format(status=existing.status_label)


# -- each unit's audit result --------------------------------------------------------------------------------

def _file_stem(shown: str) -> str:
    """The name the unit gave its file, for the annotated copy's name (a zip member: its own name)."""
    name = shown.rsplit("→", 1)[-1].strip().replace("\\", "/").rsplit("/", 1)[-1]
    return name or "workbook.xlsx"


def stored_report(unit: dict):
    """The unit's WorkbookReport as the audit made it, from the stored result."""
    from xltool.check.finding import WorkbookReport

    meta = dict(unit.get("report") or {})
    meta["path"] = _file_stem(unit.get("file") or "") or meta.get("path", "")
    return WorkbookReport.from_dict({**meta, "findings": unit.get("findings") or []})


def _attachments(unit: dict, report, audit_dir: Path) -> list:
    from xltool.mail.compose import report_attachments

    paths = []
    root = audit_dir.resolve()
    for rel in unit.get("outputs") or []:
        path = (audit_dir / rel).resolve()
        if root not in path.parents:  # stored JSON names a file only inside the audit's folder
            return []
        paths.append(path)
    return report_attachments(report, paths[0], paths[1]) if len(paths) >= 2 else []


def plan_results(cfg: WebConfig, store: Store, r: Round, audit: Audit | None, *, passed: bool = True) -> Plan:
    """Each unit of the stored audit *audit* and what it would be sent (its result, 问题清单 and
    annotated copy), or why not."""
    from xltool.mail.compose import dedupe_key
    from xltool.mail.deliver import recipients
    from xltool.mail.errors import MailError

    if audit is None or audit.result is None:
        raise TaskRefused(_("Run the audit first."))
    result = audit.result
    settings = mail_settings(cfg)
    plan = Plan(RESULTS, r.id, [], audit_id=audit.id, options={"passed": passed}, notes=_settings_notes(settings, cfg))
    roster = bool(result.get("roster", any(u.get("on_roster") for u in result["units"])))
    outbox = _ledger(settings)
    audit_dir = store.audit_dir(r.id)
    for n, u in enumerate(result["units"]):
        row = Planned(key=f"{n}:{u.get('key', '')}", unit=u.get("unit") or _("(unit not filled)"),
                      code=u.get("code") or "", errors=u.get("errors"), warnings=u.get("warnings"),
                      status=u.get("status", ""), status_label=u.get("status_label", ""), ref=u)
        plan.rows.append(row)
        if "report" not in u:
            row.reason = _("audited by an earlier version of xltool: run the audit again")
            continue
        if u["report"] is None:
            row.reason = _("{status}: no result to send").format(status=u.get("status_label", ""))
            continue
        if roster and not u.get("on_roster"):
            row.reason = _("not on the roster (results go to the roster's units only)")
            continue
        if u.get("status") == "passed" and not passed:
            row.reason = _("passed: not mailed (you chose to mail only units with findings)")
            continue
        report = stored_report(u)
        to_arg = u.get("email") if u.get("on_roster") and u.get("email") else None
        try:
            to, cc, _dropped = recipients(report, settings, to_arg)
        except MailError as exc:
            row.reason = _("no usable e-mail address") + f"（{exc.message}）"
            continue
        row.to, row.cc = [a.addr_spec for a in to], [a.addr_spec for a in cc]
        row.attachments = [a.display_name for a in _attachments(u, report, audit_dir)]
        if u.get("outputs") and not row.attachments:
            row.reason = _("its 问题清单 and annotated copy are missing: run the audit again")
            continue
        row.reason = _earlier(outbox, dedupe_key(report, to))  # never the same findings twice
        if row.reason:
            continue
        row.send = True
    return plan


def send_results(plan: Plan, cfg: WebConfig, store: Store, task: Task) -> None:
    from xltool.mail.deliver import deliver_report
    from xltool.mail.errors import MailError

    settings = _settings_for_sending(cfg)
    audit_dir = store.audit_dir(plan.round_id)
    rows = plan.sending
    for i, row in enumerate(rows):
        task.progress(i, len(rows), _("Sending"))
        u = row.ref
        report = stored_report(u)  # type: ignore[arg-type]
        to_arg = u.get("email") if u.get("on_roster") and u.get("email") else None  # type: ignore[union-attr]
        try:
            attachments = _attachments(u, report, audit_dir)  # type: ignore[arg-type]
            if u.get("outputs") and not attachments:  # type: ignore[union-attr]
                raise TaskRefused(_("its 问题清单 and annotated copy are missing: run the audit again"))
            result = deliver_report(report, attachments, settings, to=to_arg)
            task.rows.append(_outcome(row, result))
        except (MailError, TaskRefused) as exc:
            task.rows.append(_failed(row, getattr(exc, "message", str(exc))))
    _finish(task, plan, settings, cfg)


# -- submission codes ----------------------------------------------------------------------------------------

def _roster_units(store: Store, r: Round):
    from xltool.audit.roster import load_roster

    roster = store.roster_path(r)
    if roster is None:
        raise TaskRefused(_("Set the roster first."))
    return load_roster(roster)


def _roster_to(settings, u) -> tuple[list[str], str]:
    """(addresses, reason when none) of a roster unit: at most the configured number."""
    from xltool.mail.addresses import capped_address_list
    from xltool.mail.errors import MailError

    try:
        to, left_out = capped_address_list(u.email, source=_("roster"), limit=settings.max_workbook_recipients)
    except MailError as exc:
        return [], exc.message
    if not to:
        return [], (left_out[0][1] if left_out else _("no e-mail address on the roster"))
    return [a.addr_spec for a in to], ""


def plan_codes(cfg: WebConfig, store: Store, r: Round) -> Plan:
    """Each roster unit and the address its submission code would go to, or why not."""
    from xltool.audit.roster import RosterError
    from xltool.web.codes import normal_unit_code, submission_code

    settings = mail_settings(cfg)
    try:
        roster = _roster_units(store, r)
    except RosterError as exc:
        raise TaskRefused(str(exc)) from None
    plan = Plan(CODES, r.id, [], options={"roster": r.roster_name}, notes=_settings_notes(settings, cfg))
    for u in roster.units:
        row = Planned(key=u.key, unit=u.name, code=u.code, ref=u)
        plan.rows.append(row)
        if not normal_unit_code(u.code):
            row.reason = _("no unit code on the roster (the code is made from it)")
            continue
        row.to, row.reason = _roster_to(settings, u)
        row.send = bool(row.to)
        row.ref = (u, submission_code(cfg.submit_key, u.code))
    return plan


def send_codes(plan: Plan, cfg: WebConfig, task: Task) -> None:
    from xltool.mail.addresses import parse_address
    from xltool.mail.deliver import deliver_notice
    from xltool.mail.errors import MailError

    settings = _settings_for_sending(cfg)
    rows = plan.sending
    for i, row in enumerate(rows):
        task.progress(i, len(rows), _("Sending"))
        u, code = row.ref  # type: ignore[misc]
        subject = _("[Submission code] {unit}").format(unit=u.name)
        text = _("{unit} (unit code {unit_code}):\n\nYour unit's submission code for the finance bureau's web "
                 "page is {code}.\n\nAfter the self-check, press Submit and type the code when asked. A "
                 "template the bureau made for your unit carries the code already. Keep the code within your "
                 "unit: with it, a file is accepted as your unit's.\n").format(unit=u.name, unit_code=u.code, code=code)
        try:
            to = [parse_address(a, source=_("roster")) for a in row.to]
            task.rows.append(_outcome(row, deliver_notice(settings, to, subject, text, kind="code")))
        except MailError as exc:
            task.rows.append(_failed(row, exc.message))
    _finish(task, plan, settings, cfg)


# -- reminders -----------------------------------------------------------------------------------------------

def _submitted_keys(store: Store, r: Round, roster, audit: Audit | None) -> tuple[set[str], int]:
    """Roster keys of the units that have submitted in the round (by the latest audit, and by the
    files received since, whose unit the file stated), and how many files received since that
    audit name no unit (the audit will tell whose they are)."""
    keys: set[str] = set()
    since = ""
    if audit is not None and audit.result is not None:
        # Whoever the audit found a file of, readable or not, has submitted something.
        found = [(u.get("code"), u.get("unit")) for u in audit.result.get("units", [])]
        found += [(a.get("code"), a.get("unit")) for a in audit.result.get("anomalies", []) if a.get("unit") or a.get("code")]
        for code, name in found:
            member = roster.match(code or None, name or None)
            if member is not None:
                keys.add(member.key)
        since = audit.started
    unknown = 0
    for f in store.files(r.id):
        if since and f.received <= since:  # stored before the audit began: the audit saw it
            continue
        member = roster.match(f.unit_code or None, f.unit or None) if (f.unit_code or f.unit) else None
        if member is not None:
            keys.add(member.key)
        else:
            unknown += 1
    return keys, unknown


def reminder_key(round_id: int, unit_key: str, to: list[str], day: str) -> str:
    """One reminder per unit, address and day: a second click the same day sends nothing twice."""
    payload = json.dumps(["reminder", round_id, unit_key, sorted(a.lower() for a in to), day], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def plan_reminders(cfg: WebConfig, store: Store, r: Round, audit: Audit | None, *, year: int,
                   form_id: str | None, site: str = "") -> Plan:
    """The roster units that have not submitted in the round, each with the template that would be
    attached (made for the unit, with its submission code), or why it is skipped."""
    from xltool.audit.distribute import template_filename
    from xltool.audit.roster import RosterError
    from xltool.web.codes import normal_unit_code

    settings = mail_settings(cfg)
    try:
        roster = _roster_units(store, r)
    except RosterError as exc:
        raise TaskRefused(str(exc)) from None
    submitted, unknown = _submitted_keys(store, r, roster, audit)
    outbox = _ledger(settings)
    plan = Plan(REMINDERS, r.id, [], audit_id=audit.id if audit else None,
                options={"year": year, "form": form_id or "", "site": site, "day": date.today().isoformat()},
                notes=_settings_notes(settings, cfg))
    if audit is None:
        plan.notes.insert(0, _("The round has not been audited yet: units count as submitted only when a file they "
                               "submitted on the web page or by mail names them."))
    if unknown:
        plan.notes.insert(0, _("{n} file(s) received since the last audit do not say which unit they are from; run the "
                               "audit first so that their units are not reminded.").format(n=unknown))
    for u in roster.units:
        if u.key in submitted:
            continue
        row = Planned(key=u.key, unit=u.name, code=u.code, ref=u)
        plan.rows.append(row)
        row.to, row.reason = _roster_to(settings, u)
        if not row.to:
            continue
        suffix = _(" (with its submission code)") if normal_unit_code(u.code) else ""
        row.attachments = [template_filename(u, year) + suffix]
        earlier = _earlier(outbox, reminder_key(r.id, u.key, row.to, plan.options["day"]))
        if earlier:
            row.reason = _("reminded today already: {earlier}").format(earlier=earlier)
            continue
        row.send = True
    return plan


def _roster_csv(units) -> bytes:
    """The reminded units as a roster for write_unit_templates: their own words, as text."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["单位名称", "单位编码", "电子邮箱"])
    for u in units:
        writer.writerow([u.name, u.code, u.email])
    return buffer.getvalue().encode("utf-8")


def _reminder_text(u, r: Round, year: int, code: str, site: str) -> str:
    lines = [_("{unit}:").format(unit=u.name), "",
             _("The finance bureau has not yet received your unit's {year} performance self-evaluation "
               "(部门整体支出绩效自评) for {round}.").format(year=year, round=r.name), "",
             _("The attached template was made for your unit: fill in the light-yellow cells, check it on the "
               "bureau's self-check page and press Submit there.")]
    if site:
        lines.append(_("Self-check page: {url}").format(url=site))
    if code:
        lines += ["", _("Your unit's submission code is {code}; the attached template carries it already.").format(
            code=code)]
    lines += ["", _("If your unit has submitted already, please ignore this message.")]
    return "\n".join(lines) + "\n"


def send_reminders(plan: Plan, cfg: WebConfig, store: Store, task: Task) -> None:
    """Make each reminded unit's template (one call of write_unit_templates, with its progress),
    then mail it with the reminder."""
    from functools import partial

    from xltool.audit.distribute import write_unit_templates
    from xltool.audit.roster import RosterError
    from xltool.mail.addresses import parse_address
    from xltool.mail.compose import Attachment, compose_message
    from xltool.mail.deliver import deliver_message
    from xltool.mail.errors import MailError
    from xltool.web.codes import normal_unit_code, submission_code

    settings = _settings_for_sending(cfg)
    r = store.round(plan.round_id)
    if r is None:
        raise TaskRefused(_("No such round."))
    rows = plan.sending
    year, form_id = int(plan.options["year"]), plan.options["form"] or None
    steps = 2 * len(rows)
    with tempfile.TemporaryDirectory(prefix="xltool-remind-") as tmp:
        roster = Path(tmp) / "roster.csv"
        roster.write_bytes(_roster_csv([row.ref for row in rows]))
        task.progress(0, steps, _("Making the templates"))
        try:
            written = write_unit_templates(
                year, roster, Path(tmp) / "out", jobs=cfg.audit_jobs, form_id=form_id,
                submit_code=partial(submission_code, cfg.submit_key),
                progress=lambda done, _total: task.progress(done, steps, _("Making the templates")))
        except RosterError as exc:
            raise TaskRefused(str(exc)) from None
        if len(written) != len(rows):
            raise TaskRefused(_("The templates could not all be made; nothing was sent."))
        for i, (row, path) in enumerate(zip(rows, written)):
            task.progress(len(rows) + i, steps, _("Sending"))
            u = row.ref
            code = submission_code(cfg.submit_key, u.code) if normal_unit_code(u.code) else ""  # type: ignore[union-attr]
            try:
                to = [parse_address(a, source=_("roster")) for a in row.to]
                message = compose_message(
                    settings, to=to[0], subject=_("[Reminder] {unit}: {year} self-evaluation not yet received").format(
                        unit=u.name, year=year),  # type: ignore[union-attr]
                    text=_reminder_text(u, r, year, code, plan.options.get("site", "")),
                    attachments=[Attachment(path, path.name)])
                if len(to) > 1:
                    del message["To"]
                    message["To"] = to
                key = reminder_key(plan.round_id, row.key, row.to, plan.options["day"])
                task.rows.append(_outcome(row, deliver_message(message, settings, dedupe_key=key, kind="reminder")))
            except MailError as exc:
                task.rows.append(_failed(row, exc.message))
    _finish(task, plan, settings, cfg)


# -- outcomes ------------------------------------------------------------------------------------------------

SENT, QUEUED, NOT_AGAIN, FAILED, SKIPPED = "sent", "queued", "not_again", "failed", "skipped"


def _outcome(row: Planned, result) -> dict:
    from xltool.mail.deliver import DeliveryStatus

    status = result.status
    if status is DeliveryStatus.SENT:
        outcome, detail = SENT, _("sent to {to}").format(to="、".join(result.recipients))
        if result.refused:
            detail += "；" + _("the server refused {list}").format(list="、".join(result.refused))
    elif status is DeliveryStatus.WRITTEN_TO_OUTBOX:
        outcome, detail = QUEUED, _("waiting in the outbox")
    elif status is DeliveryStatus.DUPLICATE_REFUSED:
        outcome, detail = NOT_AGAIN, _("not sent again: the same message was sent before")
    else:
        outcome = FAILED
        detail = result.reason or result.message
        if status is DeliveryStatus.FAILED and not result.permanent:
            detail += "；" + _("kept in the outbox, “xltool mail flush” tries again")
    return {"unit": row.unit, "unit_code": row.code, "to": list(row.to), "outcome": outcome,
            "label": OUTCOME_LABELS()[outcome], "detail": detail}


def _failed(row: Planned, reason: str) -> dict:
    return {"unit": row.unit, "unit_code": row.code, "to": list(row.to), "outcome": FAILED,
            "label": OUTCOME_LABELS()[FAILED], "detail": reason}


def OUTCOME_LABELS() -> dict[str, str]:  # noqa: N802 - a table, translated when read
    return {SENT: _("Sent"), QUEUED: _("In the outbox"), NOT_AGAIN: _("Not sent again"), FAILED: _("Failed"),
            SKIPPED: _("Skipped")}


def _finish(task: Task, plan: Plan, settings, cfg: WebConfig) -> None:
    """The task's summary in Chinese: how many sent, waiting in the outbox, failed (and why), skipped."""
    for row in plan.skipped:
        task.rows.append({"unit": row.unit, "unit_code": row.code, "to": list(row.to), "outcome": SKIPPED,
                          "label": OUTCOME_LABELS()[SKIPPED], "detail": row.reason})
    tally = Counter(row["outcome"] for row in task.rows)
    lines = []
    if tally[SENT]:
        lines.append(_("Sent: {n} message(s); the mail server accepted them.").format(n=tally[SENT]))
    if tally[QUEUED]:
        lines.append(_("In the outbox: {n} message(s), not sent yet because no mail server is set. They wait in {outbox}; "
                       "once [mail] is set in the data folder's xltool.toml, “xltool mail flush” sends them.").format(
            n=tally[QUEUED], outbox=outbox_label(settings, cfg)))
    if tally[NOT_AGAIN]:
        lines.append(_("Not sent again: {n} (the same message had been sent before).").format(n=tally[NOT_AGAIN]))
    if tally[FAILED]:
        lines.append(_("Failed: {n}; the reason of each is in the list below.").format(n=tally[FAILED]))
    if tally[SKIPPED]:
        why = "；".join(_("{reason} ({n})").format(reason=reason, n=n) for reason, n in plan.reasons())
        lines.append(_("Skipped: {n} unit(s). Why: {why}.").format(n=tally[SKIPPED], why=why))
    if not lines:
        lines.append(_("Nothing to send."))
    task.summary = lines
    order = {FAILED: 0, NOT_AGAIN: 1, QUEUED: 2, SENT: 3, SKIPPED: 4}
    task.rows.sort(key=lambda row: order[row["outcome"]])
