"""Taking a message apart the way Chinese mail clients put it together.

Foxmail, 163/QQ webmail, Outlook and the 政务邮箱 clients name attachments in three ways: RFC 2231
(``filename*=gbk''%C8%FD…`` or UTF-8), RFC 2047 encoded words inside the quotes
(``name="=?GB2312?B?…?="``, which RFC 2047 forbids and everybody does), and raw 8-bit GBK or
UTF-8 bytes in the header. The stdlib parser (policy ``default``) reads the structure; names and
subjects are decoded here from the raw header text, trying the declared charset first (GB2312
and GBK read as GB18030, their superset), then UTF-8, then GB18030.

A message whose structure cannot be trusted (a boundary that never comes, a damaged base64
attachment) is *malformed*: it is held for a person with the reason, never guessed at.
"""

from __future__ import annotations

import base64
import email
import hashlib
import io
import quopri
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import errors as email_errors
from email.header import decode_header
from email.message import EmailMessage, Message
from email.policy import default as default_policy
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import PurePosixPath

from xltool.i18n import _

CHECKED = {".xlsx", ".xlsm", ".docx", ".zip"}  # through the audit's safety gate and checker
_SPREADSHEET_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.12": ".xlsm",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/zip": ".zip",
    "application/x-zip-compressed": ".zip",
    "application/vnd.ms-excel": ".xls",
    "application/msword": ".doc",
    "application/pdf": ".pdf",
}
TNEF = ".tnef"  # Outlook's winmail.dat (application/ms-tnef), whatever its name
_TNEF = {"application/ms-tnef", "application/vnd.ms-tnef"}
_IMAGES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".webp"}
_SIGNATURES = {"application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature",
               "application/pgp-keys", "text/calendar"}
_STRUCTURE_DEFECTS = (email_errors.StartBoundaryNotFoundDefect, email_errors.CloseBoundaryNotFoundDefect,
                      email_errors.MultipartInvariantViolationDefect, email_errors.NoBoundaryInMultipartDefect)
_PAYLOAD_DEFECTS = (email_errors.InvalidBase64CharactersDefect, email_errors.InvalidBase64LengthDefect,
                    email_errors.InvalidBase64PaddingDefect)
_GB = {"gb2312", "gbk", "gb_2312-80", "x-gbk", "cp936", "euc-cn", "x-euc-cn", "gb18030", "hz-gb-2312"}
_AUTO_SUBJECT = re.compile(r"^\s*(自动回复|自动答复|系统退信|退信|Auto(matic)?[ -]?Reply|Auto:|Out of Office|"
                           r"Undeliverable|Undelivered Mail|Delivery Status Notification|Mail Delivery (Failed|System))",
                           re.IGNORECASE)
_NO_REPLY_LOCAL = {"mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply"}
OWN_HEADER = "X-Xltool-Intake"  # on every reply: a reply to a reply is never answered


def advice(suffix: str) -> str:
    """What to send instead of a file of this kind (Chinese, for the reply)."""
    if suffix in (".xls", ".et", ".ett", ".ods", ".xlsb", ".numbers", ".csv"):
        return _("This format cannot be checked: open it in Excel or WPS, “Save As” an Excel workbook (.xlsx) and "
                 "send that file.")
    if suffix in (".wps", ".doc", ".wpt", ".rtf"):
        return _("This format cannot be checked: save the report as a Word document (.docx) and send that file.")
    if suffix in (".pdf", ".ofd") or suffix in _IMAGES:
        return _("A scan, photo or PDF shows the figures but they cannot be checked: send the filled workbook (.xlsx) "
                 "itself.")
    if suffix == TNEF:
        return _("Outlook packed this message's attachments into winmail.dat (it sends that when a message is written "
                 "in Rich Text (RTF) format), which cannot be opened here. In Outlook choose File → Options → Mail → "
                 "“Compose messages in this format: HTML”, or “Format Text → HTML” in this message, and send the "
                 "workbook (.xlsx) again; or send it from webmail.")
    if suffix == ".msg":
        return _("This is an Outlook message file (.msg), which cannot be opened here: attach the workbook (.xlsx) "
                 "itself to your message.")
    if suffix == ".eml":
        return _("This forwarded message holds no workbook that could be opened: attach the workbook (.xlsx) itself "
                 "to your message.")
    if not suffix:
        return _("This attachment has no file name or extension and its contents are not a workbook: attach the "
                 "workbook (.xlsx) again under its own name.")
    if suffix in (".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz"):
        return _("This kind of archive cannot be opened here: put the workbooks in a zip archive, or attach them "
                 "directly.")
    return _("This file is not a workbook (.xlsx), a Word report (.docx) or a zip archive of them, and was not "
             "checked.")


# -- text from raw headers ---------------------------------------------------------------------------------

def _decode_bytes(data: bytes, charset: str | None = None) -> str:
    tried: list[str] = []
    if charset:
        name = charset.strip().strip('"').lower()
        tried.append("gb18030" if name in _GB else name)
    tried += ["utf-8", "gb18030"]
    for name in tried:
        try:
            return data.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("gb18030", errors="replace")


def _raw_bytes(text: str) -> bytes | None:
    """The bytes behind a header string that held raw 8-bit (the parser kept them as surrogates)."""
    if all(ord(ch) < 128 for ch in text):
        return None
    try:
        return text.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return None  # real characters: already text


def decode_text(raw: str | None) -> str:
    """A header value (subject, file name) as text: RFC 2047 words in any of the Chinese
    charsets, raw 8-bit GBK or UTF-8, or plain ASCII."""
    if raw is None:
        return ""
    data = _raw_bytes(raw)
    if data is not None:
        raw = _decode_bytes(data)
    if "=?" not in raw:
        return raw
    # RFC 2047 also inside quotes, and words split across folded lines.
    joined = re.sub(r"\?=\s+=\?", "?==?", raw)
    try:
        parts = decode_header(joined)
    except (ValueError, email_errors.HeaderParseError):
        return raw
    out = []
    for chunk, charset in parts:
        out.append(_decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
    return "".join(out)


def _raw_header(part: Message, name: str) -> str | None:
    for key, value in part.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _param(raw: str | None, header: str, name: str) -> str | None:
    """A parameter of a raw Content-Type / Content-Disposition, RFC 2231 and continuations decoded."""
    if not raw:
        return None
    data = _raw_bytes(raw)
    if data is not None:  # raw 8-bit: text first, or the legacy parser turns it into U+FFFD
        raw = _decode_bytes(data)
    legacy = Message()  # compat32 keeps the raw value and returns RFC 2231 values undecoded
    legacy[header] = raw.replace("\r", " ").replace("\n", " ")
    value = legacy.get_param(name, header=header.lower())
    if value is None:
        return None
    if isinstance(value, tuple):  # RFC 2231: (charset, language, %-decoded text)
        charset, _lang, text = value
        return _decode_bytes(bytes(text, "raw-unicode-escape"), charset).strip()
    return decode_text(email.utils.unquote(str(value))).strip()


def filename_of(part: Message) -> str | None:
    """The attachment's name as its sender saw it (last path component), or None."""
    given = _param(_raw_header(part, "Content-Disposition"), "Content-Disposition", "filename")
    typed = _param(_raw_header(part, "Content-Type"), "Content-Type", "name")
    name = given or typed
    if given and typed and "?" in given and "?" not in typed:
        name = typed  # "????.xlsx": a client that lost the Chinese name in one header kept it in the other
    if not name:
        return None
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name or None


# -- the headers --------------------------------------------------------------------------------------------

@dataclass
class Headers:
    message_id: str
    senders: list[str]  # addresses in From (a reply goes to exactly one)
    sender_name: str
    subject: str
    date: datetime | None
    automatic: str | None  # why no robot may answer it, or None
    raw_digest: str  # of the header block, when there is no Message-ID

    @property
    def sender(self) -> str:
        return self.senders[0] if len(self.senders) == 1 else ""


def _header_value(msg: Message, name: str) -> str:
    raw = _raw_header(msg, name)
    return decode_text(raw).strip() if raw is not None else ""


def read_headers(data: bytes) -> Headers:
    """What the header block says (it may be only the header of a message not downloaded)."""
    header_block = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    msg = email.message_from_bytes(header_block + b"\r\n\r\n", policy=default_policy)
    from_raw = _raw_header(msg, "From") or ""
    pairs = getaddresses([decode_text(from_raw).replace("\r", " ").replace("\n", " ")])
    senders = [addr.strip() for _name, addr in pairs if addr and "@" in addr]
    name = next((n for n, a in pairs if a and n), "")
    date = None
    raw_date = _header_value(msg, "Date")
    if raw_date:
        try:
            date = parsedate_to_datetime(raw_date)
        except (TypeError, ValueError, IndexError):
            date = None
    message_id = re.sub(r"\s+", "", _header_value(msg, "Message-ID"))[:300]
    return Headers(message_id=message_id, senders=senders, sender_name=name, subject=_header_value(msg, "Subject"),
                   date=date, automatic=automatic(msg, senders), raw_digest=hashlib.sha256(header_block).hexdigest())


def automatic(msg: Message, senders: list[str]) -> str | None:
    """Why this message must not be answered by a robot (auto-reply, bounce, list), or None."""
    value = _header_value(msg, "Auto-Submitted").lower()
    if value and value != "no":
        return _("an automatic message (Auto-Submitted: {value})").format(value=value[:40])
    if _raw_header(msg, OWN_HEADER) is not None:
        return _("a reply of this robot")
    precedence = _header_value(msg, "Precedence").lower()
    if precedence in ("bulk", "list", "junk", "auto_reply"):
        return _("a bulk or list message (Precedence: {value})").format(value=precedence)
    for name in ("List-Id", "List-Unsubscribe", "List-Post"):
        if _raw_header(msg, name) is not None:
            return _("a mailing-list message ({header})").format(header=name)
    return_path = _raw_header(msg, "Return-Path")
    if return_path is not None and re.sub(r"\s", "", return_path) in ("<>", ""):
        return _("a bounce (empty Return-Path)")
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if _raw_header(msg, name) is not None:
            return _("an automatic reply ({header})").format(header=name)
    suppress = _header_value(msg, "X-Auto-Response-Suppress").lower()
    if any(word in suppress for word in ("all", "oof", "autoreply")):
        return _("the sender asks for no automatic replies (X-Auto-Response-Suppress)")
    content_type = _header_value(msg, "Content-Type").lower()
    if content_type.startswith("multipart/report") or content_type.startswith("message/delivery-status"):
        return _("a delivery report (bounce)")
    for sender in senders:
        if sender.split("@", 1)[0].lower() in _NO_REPLY_LOCAL:
            return _("a message from {sender}, which takes no replies").format(sender=sender)
    subject = _header_value(msg, "Subject")
    if _AUTO_SUBJECT.match(subject):
        return _("an automatic reply or bounce (subject “{subject}”)").format(subject=subject[:60])
    return None


# -- the body ---------------------------------------------------------------------------------------------

@dataclass
class Part:
    """One attachment: its name as sent, what it holds and what becomes of it."""

    n: int
    name: str
    suffix: str
    data: bytes
    kind: str  # "check" (through the audit) or "advice" (answered with what to send instead)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class Parsed:
    headers: Headers
    parts: list[Part] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # names beyond the attachment limit, not looked at
    malformed: str | None = None  # why the structure cannot be trusted
    raw_digest: str = ""


def _suffix(name: str, content_type: str) -> str:
    suffix = PurePosixPath(name).suffix.lower() if name else ""
    if not suffix or len(suffix) > 10:
        suffix = _SPREADSHEET_TYPES.get(content_type, suffix)
    return suffix


def _sniff(data: bytes) -> str:
    """The kind of a file that has no name (or no extension), from its bytes: ".xlsx", ".docx", ".zip"
    or "" (unknown)."""
    if not data.startswith(b"PK\x03\x04"):
        return ""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = {n.lower() for n in zf.namelist()[:5000]}
    except (zipfile.BadZipFile, ValueError, OSError):
        return ""
    if "[content_types].xml" in names:
        if any(n.startswith("xl/") for n in names):
            return ".xlsx"
        if any(n.startswith("word/") for n in names):
            return ".docx"
    return ".zip"


def _is_body_text(part: Message, name: str | None) -> bool:
    return name is None and part.get_content_maintype() in ("text", "multipart")


def _encoded_message(part: Message) -> bytes | None:
    """The bytes of a forwarded message (message/rfc822) that its sender base64- or QP-encoded, which
    RFC 2046 forbids and some clients do: the parser reads such a part as one garbled header. None when
    the part is an ordinary (7bit/8bit) forwarded message, which the parser has taken apart itself."""
    cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if cte not in ("base64", "quoted-printable"):
        return None
    inner = part.get_payload()
    text = inner[0].as_bytes() if isinstance(inner, list) and inner else str(inner or "").encode("ascii", "replace")
    if cte == "base64":
        return base64.b64decode(b"".join(text.split()) + b"==", validate=False)
    return quopri.decodestring(text)


def _parts(part: Message) -> Iterator[Message]:
    """*part* and everything inside it, as Message.walk() but not into an encoded forwarded message
    (the parser took its encoded text for a header)."""
    yield part
    if part.get_content_type() == "message/rfc822" and _encoded_message(part) is not None:
        return
    if part.is_multipart():
        for sub in part.get_payload():
            if isinstance(sub, Message):
                yield from _parts(sub)


def parse_message(raw: bytes, max_attachments: int, headers: Headers | None = None) -> Parsed:
    """The headers (read here unless given), the attachments (at most *max_attachments*) and
    whether it is malformed. The attachments of forwarded messages (message/rfc822, as it is or
    encoded, and .eml files) are the message's own, as the sender sees them."""
    headers = headers or read_headers(raw)
    parsed = Parsed(headers=headers, raw_digest=hashlib.sha256(raw).hexdigest())
    try:
        msg: EmailMessage = email.message_from_bytes(raw, policy=default_policy)  # type: ignore[assignment]
        _Walk(parsed, max_attachments).message(msg, 0)
    except _Malformed as exc:
        parsed.malformed = str(exc)
        parsed.parts = []
    except Exception as exc:  # noqa: BLE001 - whatever a message holds, it is held with the reason, never a traceback
        parsed.malformed = _("the message cannot be taken apart ({error})").format(error=type(exc).__name__)
        parsed.parts = []
    return parsed


class _Malformed(Exception):
    """Why the structure cannot be trusted (translated)."""


MAX_FORWARDS = 3  # a forwarded message inside a forwarded message inside ...: deeper ones are listed, not opened


class _Walk:
    """Every attachment of a message and of the messages forwarded in it, numbered in order."""

    def __init__(self, parsed: Parsed, max_attachments: int) -> None:
        self.parsed = parsed
        self.max_attachments = max_attachments
        self.n = 0

    def message(self, msg: Message, depth: int) -> None:
        for part in _parts(msg):
            for defect in part.defects:
                if isinstance(defect, _STRUCTURE_DEFECTS):
                    raise _Malformed(_("the MIME structure is broken ({defect})").format(defect=type(defect).__name__))
            if part.get_content_type() == "message/rfc822":
                inner = _encoded_message(part)
                if inner is not None and not self.forwarded(inner, filename_of(part), depth) and filename_of(part):
                    self.add(filename_of(part), ".eml", inner)  # a named .eml with nothing in it: listed
                continue
            if not part.is_multipart():
                self.leaf(part, depth)

    def forwarded(self, data: bytes, name: str | None, depth: int) -> bool:
        """Take the attachments of a forwarded message; False when it holds none (or is too deep)."""
        if depth >= MAX_FORWARDS:
            self.add(name or _("forwarded message {n}.eml").format(n=self.n + 1), ".eml", data)
            return True
        before = self.n
        inner = email.message_from_bytes(data, policy=default_policy)
        self.message(inner, depth + 1)
        return self.n > before

    def leaf(self, part: Message, depth: int) -> None:
        name = filename_of(part)
        content_type = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        if _is_body_text(part, name) or content_type in _SIGNATURES:
            return
        if name is None and content_type.startswith("image/") and disposition != "attachment":
            return  # a picture in the text or the signature
        suffix = _suffix(name or "", content_type)
        if content_type in _TNEF or (name or "").lower() == "winmail.dat":
            suffix = TNEF
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            data = b""
        display = name
        if not suffix and (sniffed := _sniff(data)):
            suffix = sniffed  # no name, or no extension: what its bytes are
        if any(isinstance(d, _PAYLOAD_DEFECTS) for d in part.defects):
            raise _Malformed(_("the attachment {name} is damaged (its encoding is broken)").format(
                name=display or _("attachment {n}{suffix}").format(n=self.n + 1, suffix=suffix)))
        if suffix == ".eml" and len(self.parsed.parts) < self.max_attachments and self.forwarded(data, name, depth):
            return  # a message attached as a file: its attachments are taken instead
        self.add(display, suffix, data)

    def add(self, name: str | None, suffix: str, data: bytes) -> None:
        self.n += 1
        display = name or _("attachment {n}{suffix}").format(n=self.n, suffix=suffix)
        if len(self.parsed.parts) >= self.max_attachments:
            self.parsed.dropped.append(display)
            return
        self.parsed.parts.append(Part(n=self.n, name=display, suffix=suffix, data=data,
                                      kind="check" if suffix in CHECKED else "advice"))
