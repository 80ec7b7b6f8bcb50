"""The reply: one message to the one sender, in Chinese, with a section per file.

Built from the mail package's pieces (sender, attachment encoding, the finding rows of the
review mail) and stored and sent through its outbox under a key made from the incoming
message's key, so a second pass finds the reply already ledgered and never sends another.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path

from xltool.check.finding import WorkbookReport
from xltool.i18n import _
from xltool.intake.parse import OWN_HEADER, advice
from xltool.intake.screen import Checked
from xltool.mail.addresses import clean_header_text, parse_address
from xltool.mail.compose import (
    Attachment, compose_message, finding_row, ordered_findings, render_from, report_attachments, report_subject,
    unit_label,
)
from xltool.mail.config import MailSettings
from xltool.safenames import fold

TEMPLATES = Path(__file__).parent / "templates"


def reply_key(message_key: str) -> str:
    """The outbox ledger's key of the reply to a message: one reply per message, ever."""
    return hashlib.sha256(f"intake-reply|{message_key}".encode()).hexdigest()


@dataclass
class FileSection:
    name: str
    verdict: str
    is_error: bool
    who: str = ""
    message: str = ""
    rows: list = field(default_factory=list)
    note: str = ""  # the same file came before


@dataclass
class Incoming:
    """What the reply needs to know about the message it answers."""

    key: str
    message_id: str
    sender: str
    sender_name: str
    subject: str
    sent: str  # as shown, e.g. 2024-03-15 10:30
    size: int = 0
    oversize_limit: int = 0  # bytes; set when the message was too large to download
    advice: list[tuple[str, str]] = field(default_factory=list)  # (name, suffix)
    dropped: list[str] = field(default_factory=list)
    max_attachments: int = 0
    duplicates: dict[int, tuple[str, str]] = field(default_factory=dict)  # attachment n → (when, name) before
    # attachment n → (when the message was sent, name) of the file our reply to it carried, sent back
    returned: dict[int, tuple[str, str]] = field(default_factory=dict)


def _verdict(checked: Checked) -> tuple[str, bool]:
    report = checked.report
    if report is None:
        return _("could not be checked"), True
    if report.errors:
        return _("{errors} item(s) must be fixed, {warnings} need an explanation").format(
            errors=report.errors, warnings=report.warnings), True
    if report.warnings:
        return _("passed; {warnings} item(s) need an explanation").format(warnings=report.warnings), False
    return _("passed"), False


def _who(report: WorkbookReport) -> str:
    unit = clean_header_text(report.unit, max_length=80)
    if unit and report.year:
        return _("{unit}, {year}").format(unit=unit, year=report.year)
    return unit


def subject_for(incoming: Incoming, checked: list[Checked]) -> str:
    if incoming.oversize_limit:
        return _("[Self-evaluation review] Your message was too large to be checked")
    if not checked:
        return _("[Self-evaluation review] Your attachments could not be checked: please send the .xlsx workbook")
    if len(checked) == 1 and checked[0].report is not None:
        report = checked[0].report
        if report.errors or not report.warnings:
            return report_subject(report)  # the review mail's own: 必须修改 N 项… / 审核通过
        who = unit_label(report) or _("(unknown unit)")
        if report.year:
            who += " " + _("{year} annual").format(year=report.year)
        return clean_header_text(_("[Self-evaluation review] {who}: passed, {warnings} item(s) need an explanation")
                                 .format(who=who, warnings=report.warnings), max_length=250)
    if len(checked) == 1:
        return _("[Self-evaluation review] {name}: could not be checked").format(name=checked[0].name)
    passed = sum(1 for c in checked if c.report is not None and not c.report.errors and not c.report.warnings)
    explain = sum(1 for c in checked if c.report is not None and not c.report.errors and c.report.warnings)
    fix = sum(1 for c in checked if c.report is not None and c.report.errors)
    failed = sum(1 for c in checked if c.report is None)
    return _("[Self-evaluation review] {n} files received: passed {passed}, explanation needed {explain}, must be "
             "fixed {fix}, could not be checked {failed}").format(n=len(checked), passed=passed, explain=explain,
                                                                  fix=fix, failed=failed)


def _attachments(checked: list[Checked], outputs: Path) -> list[Attachment]:
    """The 问题清单 and the annotated copy of every file with findings, under names unique in the reply."""
    from xltool.audit.worker import write_outputs

    found: list[Attachment] = []
    taken: set[str] = set()
    for i, item in enumerate(checked):
        report = item.report
        if report is None or not report.findings or item.path is None:
            continue
        base = item.name.split(" → ")[-1]
        named = report.replace(**{"path": base})
        folder = outputs / f"{i:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        written = write_outputs(str(item.path), named.to_json(), str(folder), base)
        issues = written[0]
        annotated = written[1] if len(written) > 1 else None
        for attachment in report_attachments(named, issues, annotated):
            name = attachment.display_name
            stem, dot, ext = name.rpartition(".")
            n = 2
            while fold(name) in taken:
                name = f"{stem}_{n}.{ext}" if dot else f"{name}_{n}"
                n += 1
            taken.add(fold(name))
            found.append(Attachment(attachment.path, name))
    return found


def compose_reply(incoming: Incoming, checked: list[Checked], settings: MailSettings, outputs: Path) -> EmailMessage:
    """The reply to *incoming* about its *checked* files; the attachments are written in *outputs*."""
    sections = []
    for item in checked:
        verdict, is_error = _verdict(item)
        rows = ([finding_row(n, f) for n, f in enumerate(ordered_findings(item.report), start=1)]
                if item.report is not None else [])
        note = ""
        if item.attachment in incoming.duplicates:
            when, name = incoming.duplicates[item.attachment]
            note = _("The same file as {name}, received {when}: the result is the same as then, and it is not "
                     "counted in the review a second time.").format(name=name, when=when)
        elif item.attachment in incoming.returned:
            when, name = incoming.returned[item.attachment]
            note = _("This is {name}, which our reply to your message of {when} carried, sent back unchanged: it is "
                     "not counted in the review as a new return. Please make the changes in your workbook (or in "
                     "this copy) and send it again.").format(name=name, when=when)
        sections.append(FileSection(name=item.name, verdict=verdict, is_error=is_error,
                                    who=_who(item.report) if item.report is not None else "",
                                    message=item.message, rows=rows, note=note))
    attachments = _attachments(checked, outputs)
    context = {
        "greeting_name": clean_header_text(incoming.sender_name, max_length=40),
        "subject": clean_header_text(incoming.subject, max_length=120) or _("(no subject)"),
        "sent": incoming.sent,
        "files": sections,
        "any_fix": any(s.is_error and s.rows for s in sections),
        "advice": [(name, advice(suffix)) for name, suffix in incoming.advice],
        "dropped": incoming.dropped,
        "max_attachments": incoming.max_attachments,
        "oversize": incoming.oversize_limit > 0,
        "size_mb": f"{incoming.size / 1048576:.1f}",
        "limit_mb": f"{incoming.oversize_limit / 1048576:.2f}".rstrip("0").rstrip("."),
        "attachment_names": [a.display_name for a in attachments],
        "reviewer": settings.reviewer or "",
        "signature": clean_header_text(settings.sender_name, max_length=80),
    }
    text = render_from(TEMPLATES, "reply.txt.j2", **context)
    html = render_from(TEMPLATES, "reply.html.j2", **context)
    to: Address = parse_address(incoming.sender, source="From",
                                display_name=clean_header_text(incoming.sender_name, max_length=80))
    headers = [("Auto-Submitted", "auto-replied"), (OWN_HEADER, incoming.key[:32])]
    if incoming.message_id:
        headers += [("In-Reply-To", incoming.message_id), ("References", incoming.message_id)]
    subject = subject_for(incoming, checked)
    if checked and all(c.attachment in incoming.duplicates or c.attachment in incoming.returned for c in checked):
        subject = clean_header_text(_("{subject} (sent again)").format(subject=subject), max_length=250)
    return compose_message(settings, to=to, subject=subject, text=text, html=html,
                           attachments=attachments, headers=headers)
