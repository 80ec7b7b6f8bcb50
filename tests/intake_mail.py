"""Messages as units' mail clients write them, and the settings of an intake under test.

Attachment names are encoded the ways Chinese clients do: RFC 2231 (UTF-8 or GBK), RFC 2047
encoded words inside the quotes (GBK, GB2312 label), raw 8-bit GBK bytes. Written by hand here,
not with xltool's own encoder, so the intake's decoder is tested against independent bytes.
"""

from __future__ import annotations

import base64
import urllib.parse
import uuid
from pathlib import Path

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_counter = [0]


def _name_headers(name: str, style: str, content_type: str) -> bytes:
    if style == "2231":
        value = urllib.parse.quote(name.encode("utf-8"))
        return (f"Content-Type: {content_type}\r\n"
                f"Content-Disposition: attachment; filename*=utf-8''{value}\r\n").encode("ascii")
    if style == "2231-gbk":
        value = urllib.parse.quote(name.encode("gbk"))
        half = len(value) // 2
        while value[half - 1] == "%" or value[half - 2] == "%":
            half += 1
        return (f"Content-Type: {content_type}\r\n"
                f"Content-Disposition: attachment;\r\n filename*0*=GBK''{value[:half]};\r\n filename*1*={value[half:]}\r\n"
                ).encode("ascii")
    if style == "2047":  # Foxmail, old Outlook: encoded words inside quotes, GB2312 label on GBK bytes
        word = base64.b64encode(name.encode("gbk")).decode("ascii")
        return (f'Content-Type: {content_type};\r\n name="=?GB2312?B?{word}?="\r\n'
                f'Content-Disposition: attachment;\r\n filename="=?GB2312?B?{word}?="\r\n').encode("ascii")
    if style == "raw8":  # raw GBK bytes in the header
        return (f"Content-Type: {content_type};\r\n name=\"".encode("ascii") + name.encode("gbk") + b'"\r\n'
                + b'Content-Disposition: attachment; filename="' + name.encode("gbk") + b'"\r\n')
    raise ValueError(style)


def message(sender: str, subject: str, attachments: list[tuple[str, bytes]], *, style: str = "2231",
            headers: dict[str, str] | None = None, message_id: str | None = "", body: str = "请审核附件。",
            content_type: str = XLSX) -> bytes:
    """A multipart message from *sender* with *attachments* (name, bytes)."""
    _counter[0] += 1
    boundary = f"----=_Part_{_counter[0]}_{uuid.uuid4().hex[:8]}"
    subject_word = base64.b64encode(subject.encode("gbk")).decode("ascii")
    if "<" in sender and not sender.isascii():  # a display name in Chinese, as clients encode it
        name, _sep, address = sender.partition("<")
        sender = f"=?GBK?B?{base64.b64encode(name.strip().encode('gbk')).decode('ascii')}?= <{address}"
    lines = [f"From: {sender}", "To: czj@czj.example.cn", f"Subject: =?GBK?B?{subject_word}?=",
             "Date: Fri, 15 Mar 2024 10:30:00 +0800", "MIME-Version: 1.0"]
    if message_id is not None:
        lines.append(f"Message-ID: {message_id or '<' + uuid.uuid4().hex + '@unit.example.cn>'}")
    for key, value in (headers or {}).items():
        lines.append(f"{key}: {value}")
    lines.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
    parts = [f"--{boundary}\r\nContent-Type: text/plain; charset=GBK\r\nContent-Transfer-Encoding: base64\r\n\r\n"
             .encode("ascii") + base64.encodebytes(body.encode("gbk")).replace(b"\n", b"\r\n")]
    for name, data in attachments:
        ct = content_type if name.lower().endswith(".xlsx") else "application/octet-stream"
        parts.append(f"--{boundary}\r\n".encode("ascii") + _name_headers(name, style, ct)
                     + b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(data).replace(b"\n", b"\r\n"))
    return head + b"".join(parts) + f"--{boundary}--\r\n".encode("ascii")


def write_config(folder: Path, imap_port: int, smtp_port: int | None, **intake: object) -> Path:
    """xltool.toml with [intake] for the test server and [mail] for aiosmtpd (or the outbox only)."""
    values = {"host": "127.0.0.1", "port": imap_port, "security": "none", "user": "czj", "out": "out",
              "store": "store", "jobs": 1, **intake}
    lines = ["[intake]"]
    for key, value in values.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, (int, float)):
            lines.append(f"{key} = {value}")
        else:
            lines.append(f'{key} = "{Path(value).as_posix() if isinstance(value, Path) else value}"')
    mail = f'host = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\n' if smtp_port else ""
    lines += ["", "[mail]", mail + 'sender = "jxg@czj.example.cn"', 'sender_name = "芦淞区财政局绩效股"',
              'helo_name = "localhost"', 'outbox = "outbox"', "timeout = 5", "retries = 1", "backoff = 0.01"]
    path = folder / "xltool.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
