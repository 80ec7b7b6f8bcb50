"""Build the e-mail for one checked workbook (or a test message).

The message is a stdlib ``EmailMessage`` (policy SMTP): a plain-text part and a
Jinja2-rendered HTML part (autoescaped), then the attachments. Chinese header text is
RFC 2047 encoded by the policy; attachment names are given both as RFC 2231
``filename*=`` (Content-Disposition) and as an RFC 2047 encoded ``name=`` on
Content-Type, which is what older Outlook and Foxmail read.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from xltool.check.finding import Finding, Severity, WorkbookReport
from xltool.i18n import _, ngettext
from xltool.mail.addresses import clean_header_text, parse_address
from xltool.mail.config import MailSettings
from xltool.mail.errors import AttachmentError
from xltool.safenames import reserved, strip_bidi

# Raw headers we fold ourselves (the encoded name= parameter) must not be refolded by
# the generator, which would re-encode them; parsed header objects are still folded.
MAIL_POLICY = SMTP.clone(refold_source="none")
PLACEHOLDER_SENDER = "xltool@localhost"
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
_MIME_TYPES = {
    ".xlsx": XLSX_TYPE,
    ".xlsm": ("application", "vnd.ms-excel.sheet.macroEnabled.12"),
    ".xls": ("application", "vnd.ms-excel"),
    ".et": ("application", "octet-stream"),
    ".pdf": ("application", "pdf"),
    ".csv": ("text", "csv"),
}
_TEMPLATES = Path(__file__).parent / "templates"
_UNSAFE_FILENAME = re.compile(r'[\x00-\x1f\x7f-\x9f\u2028\u2029/\\:*?"<>|]')


@dataclass(frozen=True)
class Attachment:
    """A file to attach and the name the recipient sees (default: the file's name)."""

    path: Path
    filename: str | None = None

    @property
    def display_name(self) -> str:
        return safe_filename(self.filename or self.path.name)


AttachmentLike = Attachment | Path | str


def as_attachment(item: AttachmentLike) -> Attachment:
    if isinstance(item, Attachment):
        return item
    return Attachment(Path(item))


def safe_filename(name: str, *, max_length: int = 120) -> str:
    """A file name without path separators, control or Windows-reserved characters."""
    name = unicodedata.normalize("NFC", strip_bidi(name))
    name = _UNSAFE_FILENAME.sub("_", name)
    name = re.sub(r"\.{2,}", ".", name)  # no ".." even inside a name
    name = re.sub(r"\s+", " ", name).strip(" .") or "attachment"
    if len(name) > max_length:
        stem, dot, ext = name.rpartition(".")
        if dot and len(ext) <= 8:
            name = stem[: max_length - len(ext) - 1] + "." + ext
        else:
            name = name[:max_length]
    return "_" + name if reserved(name) else name


def report_attachments(
    report: WorkbookReport, issues_path: str | Path | None = None, annotated_path: str | Path | None = None
) -> list[Attachment]:
    """The two usual attachments with their Chinese names:
    ``问题清单_<单位>.xlsx`` and ``审核标注_<original file name>``."""
    unit = clean_header_text(report.unit, max_length=60) or Path(report.path).stem
    result: list[Attachment] = []
    if issues_path is not None:
        issues = Path(issues_path)
        result.append(Attachment(issues, safe_filename(_("Issues_{unit}").format(unit=unit) + (issues.suffix or ".xlsx"))))
    if annotated_path is not None:
        annotated = Path(annotated_path)
        original = Path(report.path).stem or unit
        head, _sep, tail = _("Marked_{name}").partition("{name}")
        marked = (original if original.startswith(head) and original.endswith(tail)  # our copy sent back: once
                  and len(original) > len(head) + len(tail) else head + original + tail)
        result.append(Attachment(annotated, safe_filename(marked + (annotated.suffix or ".xlsx"))))
    return result


# -- formatting of findings ---------------------------------------------------------------


def format_value(value: float | int | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        number = float(value)
        if math.isnan(number) or math.isinf(number):
            return str(value)
        if number == round(number):
            return f"{int(round(number)):,}"
        if abs(number - round(number, 2)) < 1e-9:
            return f"{number:,.2f}"
        return f"{number:,.4f}".rstrip("0")
    return str(value)


def format_amount(value: float | None) -> str:
    """A difference: always two decimals (amounts are in 万元 with two decimals)."""
    if value is None:
        return ""
    return f"{value:,.2f}"


@dataclass(frozen=True)
class FindingRow:
    """One finding, already formatted for the templates (plain strings, not escaped)."""

    number: int
    severity: str
    is_error: bool
    code: str
    message: str
    fix: str
    cells: list[str]
    values: list[str]
    expected: str
    actual: str
    difference: str
    attribution: list[str]


def finding_row(number: int, finding: Finding) -> FindingRow:
    cells = [f"{c.sheet}!{c.cell}" for c in finding.cells]
    values = []
    for c in finding.cells:
        if c.value is None and not c.label:
            continue
        text = f"{c.sheet}!{c.cell}"
        if c.label:
            text += f"（{c.label}）" if _is_cjk(c.label) else f" ({c.label})"
        if c.value is not None:
            text += f" = {c.text}"
        values.append(text)
    return FindingRow(
        number=number,
        severity=finding.severity.label,
        is_error=finding.severity is Severity.ERROR,
        code=finding.code,
        message=finding.message,
        fix=finding.fix,
        cells=cells,
        values=values,
        expected=finding.expected_text,
        actual=finding.actual_text,
        difference=finding.difference_text,
        attribution=list(finding.attribution),
    )


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def ordered_findings(report: WorkbookReport) -> list[Finding]:
    """Errors first, then warnings; stable within a level."""
    return sorted(report.findings, key=lambda f: 0 if f.severity is Severity.ERROR else 1)


# -- subject and identity -------------------------------------------------------------------


def unit_label(report: WorkbookReport) -> str:
    return clean_header_text(report.unit, max_length=80) or clean_header_text(Path(report.path).stem, max_length=80)


def _who(report: WorkbookReport) -> str:
    who = unit_label(report) or _("(unknown unit)")
    if report.year:
        who += " " + _("{year} annual").format(year=report.year)
    return who


def report_subject(report: WorkbookReport) -> str:
    """``【绩效自评审核】{单位} {年度}年度：必须修改 N 项，需要说明 M 项`` (or 审核通过)."""
    if not report.findings:
        subject = _("[Self-evaluation review] {who}: passed").format(who=_who(report))
    else:
        subject = _("[Self-evaluation review] {who}: {errors} must be fixed, {warnings} need explanation").format(
            who=_who(report), errors=report.errors, warnings=report.warnings
        )
    return clean_header_text(subject, max_length=250)


def workbook_digest(report: WorkbookReport) -> str:
    """The workbook's sha256: from the report, else from the file, else from its path."""
    if report.sha256:
        return report.sha256.lower()
    path = Path(report.path)
    if path.is_file():
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    return hashlib.sha256(("path:" + str(report.path)).encode("utf-8")).hexdigest()


def dedupe_key(report: WorkbookReport, to: Iterable[Address | str]) -> str:
    """Same workbook bytes + same findings + same recipient(s) = same key."""
    recipients = sorted(
        (a.addr_spec if isinstance(a, Address) else str(a)).strip().lower() for a in to
    )
    payload = {
        "workbook": workbook_digest(report),
        "findings": sorted(f.key for f in report.findings),
        "to": recipients,
    }
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


# -- templates -----------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _environment(html: bool, folder: str = str(_TEMPLATES)) -> Environment:
    env = Environment(
        loader=FileSystemLoader(folder),
        autoescape=html,  # HTML: every value escaped; plain text: nothing to escape
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # Resolved at call time, so the current locale (XLTOOL_LANG) applies.
    env.install_gettext_callables(
        gettext=lambda message: _(message),
        ngettext=lambda s, p, n: ngettext(s, p, n),
        newstyle=True,
    )
    return env


def render_template(name: str, **context: object) -> str:
    return _environment(name.endswith(".html.j2")).get_template(name).render(**context)


def render_from(folder: Path, name: str, **context: object) -> str:
    """A template of another package's *folder*, rendered like the mail's own (HTML autoescaped,
    gettext resolved at call time)."""
    return _environment(name.endswith(".html.j2"), str(folder)).get_template(name).render(**context)


# -- message assembly ------------------------------------------------------------------------


def sender_address(settings: MailSettings) -> Address:
    configured = settings.from_address()
    address = parse_address(configured or PLACEHOLDER_SENDER, source=_("sender in the mail settings"))
    name = clean_header_text(settings.sender_name, max_length=80)
    return Address(display_name=name, username=address.username, domain=address.domain)


def _encoded_words(text: str) -> str:
    """RFC 2047 base64 encoded-words (each under 75 characters), folded one per line."""
    chunks: list[str] = []
    current = ""
    for ch in text:
        if len((current + ch).encode("utf-8")) > 45:
            chunks.append(current)
            current = ch
        else:
            current += ch
    if current:
        chunks.append(current)
    words = ["=?utf-8?b?" + base64.b64encode(c.encode("utf-8")).decode("ascii") + "?=" for c in chunks]
    return "\r\n  ".join(words)


def _add_attachment(message: EmailMessage, attachment: Attachment) -> tuple[str, int]:
    path = attachment.path
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AttachmentError(_("Cannot read the attachment {path}: {error}").format(path=path, error=exc)) from exc
    filename = attachment.display_name
    maintype, subtype = _MIME_TYPES.get(Path(filename).suffix.lower(), ("application", "octet-stream"))
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    part = list(message.iter_attachments())[-1]
    if not filename.isascii():
        # Content-Disposition already carries filename*= (RFC 2231); add name= with
        # RFC 2047 encoded-words for clients that only read Content-Type.
        del part["Content-Type"]
        part.set_raw("Content-Type", f'{maintype}/{subtype};\r\n name="{_encoded_words(filename)}"')
    return filename, len(data)


def _new_message(settings: MailSettings, sender: Address, to: Sequence[Address], cc: Sequence[Address], subject: str) -> EmailMessage:
    message = EmailMessage(policy=MAIL_POLICY)
    message["Subject"] = clean_header_text(subject, max_length=250)
    message["From"] = sender
    message["To"] = list(to)
    if cc:
        message["Cc"] = list(cc)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.domain)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Mailer"] = "xltool"
    return message


def _resolve_reviewer(settings: MailSettings) -> Address | None:
    if not settings.reviewer:
        return None
    return parse_address(settings.reviewer, source=_("reviewer in the mail settings"))


def compose_report_message(
    report: WorkbookReport,
    *,
    to: Sequence[Address | str],
    cc: Sequence[Address | str] = (),
    attachments: Sequence[AttachmentLike] = (),
    settings: MailSettings,
) -> EmailMessage:
    """The review-result message for *report*.

    *to*/*cc* may be Address objects or strings; strings are validated (AddressError).
    The configured reviewer is NOT added here (deliver_report does that); it is used as
    Reply-To. Attachments are read now (AttachmentError if missing).
    """
    to_addresses = [a if isinstance(a, Address) else parse_address(a, source="To") for a in to]
    cc_addresses = [a if isinstance(a, Address) else parse_address(a, source="Cc") for a in cc]
    if not to_addresses:
        raise ValueError("compose_report_message needs at least one To address")
    sender = sender_address(settings)
    message = _new_message(settings, sender, to_addresses, cc_addresses, report_subject(report))
    reviewer = _resolve_reviewer(settings)
    if reviewer is not None:
        message["Reply-To"] = reviewer
    message["X-Xltool-Workbook-SHA256"] = workbook_digest(report)

    files = [as_attachment(a) for a in attachments]
    for item in files:
        if not item.path.is_file():
            raise AttachmentError(_("Attachment not found: {path}").format(path=item.path))
    rows = [finding_row(i, f) for i, f in enumerate(ordered_findings(report), start=1)]
    context = {
        "unit": unit_label(report) or _("(unknown unit)"),
        "year": report.year,
        "who": _who(report),
        "file_name": Path(report.path).name,
        "sha_short": workbook_digest(report)[:12],
        "contact_name": clean_header_text(report.contact_name, max_length=40),
        "errors": report.errors,
        "warnings": report.warnings,
        "rows": rows,
        "attachment_names": [f.display_name for f in files],
        "signature": clean_header_text(settings.sender_name, max_length=80),
        "reviewer": reviewer.addr_spec if reviewer else "",
    }
    message.set_content(render_template("report.txt.j2", **context), cte="base64")
    message.add_alternative(render_template("report.html.j2", **context), subtype="html", cte="base64")
    for item in files:
        _add_attachment(message, item)
    return message


def compose_message(
    settings: MailSettings,
    *,
    to: Address,
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Sequence[AttachmentLike] = (),
    headers: Sequence[tuple[str, str]] = (),
) -> EmailMessage:
    """A message of xltool's own wording to one recipient (the mail intake's replies): From the
    configured sender, Reply-To the reviewer, plain text (and HTML), the attachments read now
    (AttachmentError if missing). *headers* are added as given (threading, Auto-Submitted)."""
    message = _new_message(settings, sender_address(settings), [to], (), subject)
    reviewer = _resolve_reviewer(settings)
    if reviewer is not None:
        message["Reply-To"] = reviewer
    for name, value in headers:
        if name in message:
            del message[name]
        message[name] = value
    files = [as_attachment(a) for a in attachments]
    for item in files:
        if not item.path.is_file():
            raise AttachmentError(_("Attachment not found: {path}").format(path=item.path))
    message.set_content(text, cte="base64")
    if html is not None:
        message.add_alternative(html, subtype="html", cte="base64")
    for item in files:
        _add_attachment(message, item)
    return message


def compose_notice(settings: MailSettings, to: Sequence[Address], subject: str, text: str) -> EmailMessage:
    """A plain-text message from the bureau (subject cleaned like every header)."""
    message = _new_message(settings, sender_address(settings), to, (), subject)
    message.set_content(text, cte="base64")
    return message


def compose_test_message(settings: MailSettings, to: Sequence[Address | str]) -> EmailMessage:
    """A short message that proves the settings work."""
    to_addresses = [a if isinstance(a, Address) else parse_address(a, source="--to") for a in to]
    sender = sender_address(settings)
    message = _new_message(settings, sender, to_addresses, (), _("[xltool] Test message"))
    server = settings.server_label or _("(none: outbox only)")
    text = render_template(
        "test.txt.j2",
        server=server,
        security=settings.security.value,
        sender=sender.addr_spec,
        date=message["Date"],
    )
    message.set_content(text, cte="base64")
    return message


def attachment_summary(message: EmailMessage) -> list[tuple[str, int]]:
    """(file name, size in bytes) of each attachment of *message*."""
    result = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True) or b""
        result.append((part.get_filename() or "", len(payload)))
    return result


def envelope_recipients(message: EmailMessage) -> list[str]:
    """Bare addresses of To and Cc, in order, without duplicates."""
    seen: dict[str, None] = {}
    for header in ("To", "Cc"):
        value = message[header]
        if value is None:
            continue
        for address in value.addresses:
            seen.setdefault(address.addr_spec, None)
    return list(seen)
