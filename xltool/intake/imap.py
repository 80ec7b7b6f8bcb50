"""The mailbox over IMAP, with the standard library's imaplib.

Connects with implicit TLS (993), STARTTLS (143) or, for a server on this computer, in the
clear; reads UIDs, sizes and headers first and a message body only when it is small enough;
files messages into another folder (MOVE, or COPY and delete) or flags them; waits with IDLE.

imaplib reads through a buffered file whose contents cannot be inspected, and a read that
times out leaves it unusable; the connection therefore reads through :class:`_Reader`, whose
buffer IDLE can look at before it waits on the socket.
"""

from __future__ import annotations

import base64
import imaplib
import re
import select
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from xltool import faults
from xltool.i18n import _
from xltool.intake.config import IntakeSettings, Security

FETCH_BATCH = 200  # messages per FETCH of sizes and headers


class ImapError(Exception):
    """The server cannot be used; *permanent* when retrying cannot help (a refused login)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent

    def __str__(self) -> str:
        return self.message


# -- folder names: modified UTF-7 (RFC 3501 5.1.3) ------------------------------------------------------

def encode_folder(name: str) -> str:
    """``已处理`` → ``&XfJZBFQG-``: what IMAP calls a folder whose name is not ASCII."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).decode("ascii").rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def decode_folder(raw: str) -> str:
    def one(match: re.Match) -> str:
        body = match.group(1)
        if not body:
            return "&"
        data = body.replace(",", "/")
        data += "=" * (-len(data) % 4)
        return base64.b64decode(data).decode("utf-16-be")

    return re.sub(r"&([^-]*)-", one, raw)


def quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- a reader whose buffer can be looked at -------------------------------------------------------------

class _Reader:
    """What imaplib reads through (``readline``, ``read``), over the socket, with a visible buffer."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def _fill(self) -> bool:
        data = self.sock.recv(1 << 16)
        if not data:
            return False
        self.buf += data
        return True

    def readline(self, limit: int = -1) -> bytes:
        start = 0
        while True:
            i = self.buf.find(b"\n", start)
            if i >= 0 and (limit < 0 or i < limit):
                end = i + 1
                break
            if limit >= 0 and len(self.buf) >= limit:
                end = limit
                break
            start = len(self.buf)
            if not self._fill():
                end = len(self.buf)
                break
        line = bytes(self.buf[:end])
        del self.buf[:end]
        return line

    def read(self, size: int) -> bytes:
        while len(self.buf) < size:
            if not self._fill():
                break
        data = bytes(self.buf[:size])
        del self.buf[:size]
        return data

    def pending(self) -> bool:
        """Bytes already received that nobody has read (here, or inside the TLS layer)."""
        return bool(self.buf) or (isinstance(self.sock, ssl.SSLSocket) and self.sock.pending() > 0)

    def close(self) -> None:
        pass


class _Readable:
    def _use_reader(self) -> None:
        self.file = _Reader(self.sock)  # type: ignore[attr-defined]

    def open(self, host: str = "", port: int = 143, timeout: float | None = None) -> None:
        super().open(host, port, timeout)  # type: ignore[misc]
        self._use_reader()

    def starttls(self, ssl_context: ssl.SSLContext | None = None):
        result = super().starttls(ssl_context)  # type: ignore[misc]
        self._use_reader()
        return result


class _IMAP4(_Readable, imaplib.IMAP4):
    pass


class _IMAP4_SSL(_Readable, imaplib.IMAP4_SSL):
    pass


# -- the mailbox ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Envelope:
    """What is known of a message before its body is downloaded."""

    uid: int
    size: int
    internaldate: datetime | None
    header: bytes


_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_DATE = re.compile(rb'\bINTERNALDATE "([^"]+)"')


def _internaldate(text: bytes) -> datetime | None:
    try:
        return datetime.strptime(text.decode("ascii").strip(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None


def _fetched(data: list) -> Iterator[tuple[bytes, bytes | None]]:
    """(the response's text outside the literal, the literal) of each FETCH response."""
    current: list | None = None
    for element in data:
        if isinstance(element, tuple):
            if current is not None:
                yield current[0], current[1]
            current = [bytes(element[0]), bytes(element[1])]
        elif isinstance(element, bytes):
            if current is not None and not re.match(rb"^\d+ \(", element):
                current[0] += element  # the rest of the response after the literal, e.g. b" UID 7)"
                continue
            if current is not None:
                yield current[0], current[1]
                current = None
            yield element, None
    if current is not None:
        yield current[0], current[1]


def _uid_set(uids: Iterable[int]) -> str:
    return ",".join(str(u) for u in sorted(set(uids)))


class Mailbox:
    """One connection to the intake's folder."""

    def __init__(self, settings: IntakeSettings) -> None:
        self.settings = settings
        self.imap: imaplib.IMAP4 | None = None
        self.capabilities: set[str] = set()
        self.uidvalidity = 0
        self.selected_validity = 0  # of the folder selected now (the intake folder, or another for a while)
        self._made: set[str] = set()

    # -- connection -----------------------------------------------------------------------------------
    def __enter__(self) -> Mailbox:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        s = self.settings
        s.check_usable()
        try:
            if s.security is Security.SSL:
                imap: imaplib.IMAP4 = _IMAP4_SSL(s.host, s.effective_port, ssl_context=s.ssl_context(),
                                                 timeout=s.timeout)
            else:
                imap = _IMAP4(s.host, s.effective_port, timeout=s.timeout)
                if s.security is Security.STARTTLS:
                    if "STARTTLS" not in imap.capabilities:
                        imap.shutdown()
                        raise ImapError(_("The server {server} does not offer STARTTLS; set security = \"ssl\" "
                                          "(port 993).").format(server=s.server_label), permanent=True)
                    imap.starttls(s.ssl_context())
        except ssl.SSLCertVerificationError as exc:
            raise ImapError(_("The certificate of {server} cannot be verified ({reason}); give the bureau's CA "
                              "certificate with ca_file.").format(server=s.server_label,
                                                                  reason=exc.verify_message or exc.reason),
                            permanent=True) from None
        except (OSError, imaplib.IMAP4.error) as exc:
            raise ImapError(_("Cannot connect to the mail server {server}: {reason}").format(
                server=s.server_label, reason=_reason(exc))) from None
        self.imap = imap
        password = s.password.get_secret_value() if s.password else ""
        try:
            if password.isascii() and (s.user or "").isascii():
                imap.login(s.user, password)
            else:  # LOGIN quotes ASCII only; AUTHENTICATE PLAIN carries UTF-8
                imap.authenticate("PLAIN", lambda _challenge: f"\0{s.user}\0{password}".encode("utf-8"))
        except imaplib.IMAP4.abort as exc:
            self.close()
            raise ImapError(_("Cannot connect to the mail server {server}: {reason}").format(
                server=s.server_label, reason=_reason(exc))) from None
        except imaplib.IMAP4.error:
            self.close()
            raise ImapError(_("The mail server {server} refused the login of {user}: check the user name and the "
                              "password or authorisation code in {env}.").format(
                server=s.server_label, user=s.user, env="XLTOOL_IMAP_PASSWORD"), permanent=True) from None
        except OSError as exc:
            self.close()
            raise ImapError(_("Cannot connect to the mail server {server}: {reason}").format(
                server=s.server_label, reason=_reason(exc))) from None
        typ, data = self._call(imap.capability)
        if typ == "OK" and data and data[-1]:
            self.capabilities = {c.upper() for c in data[-1].decode("ascii", "replace").split()}
        else:
            self.capabilities = {c.upper() for c in imap.capabilities}

    def close(self) -> None:
        imap, self.imap = self.imap, None
        if imap is None:
            return
        try:
            if imap.state == "SELECTED":
                imap.close()
            imap.logout()
        except (OSError, imaplib.IMAP4.error):
            try:
                imap.shutdown()
            except OSError:
                pass

    def _call(self, fn: Callable, *args):
        """An imaplib call; a connection lost or refused becomes ImapError."""
        try:
            return fn(*args)
        except imaplib.IMAP4.abort as exc:
            raise ImapError(_("The connection to the mail server was lost: {reason}").format(reason=_reason(exc))) from None
        except OSError as exc:
            raise ImapError(_("The connection to the mail server was lost: {reason}").format(reason=_reason(exc))) from None

    @property
    def _imap(self) -> imaplib.IMAP4:
        if self.imap is None:
            raise ImapError(_("Not connected to the mail server."))
        return self.imap

    # -- reading --------------------------------------------------------------------------------------
    def select(self) -> int:
        """Open the intake folder (read-write); its UIDVALIDITY."""
        folder = self.settings.folder
        typ, data = self._call(self._imap.select, quoted(encode_folder(folder)))
        if typ != "OK":
            raise ImapError(_("The mailbox has no folder {folder}: {reason}").format(
                folder=folder, reason=_text(data)), permanent=True)
        self.uidvalidity = self.selected_validity = self._validity()
        return self.uidvalidity

    def uids(self) -> list[int]:
        """Every message of the folder not marked deleted, oldest first."""
        return self.search()

    def envelopes(self, uids: list[int]) -> list[Envelope]:
        """UID, size, arrival time and header of each message (never its body)."""
        found: list[Envelope] = []
        for start in range(0, len(uids), FETCH_BATCH):
            chunk = uids[start:start + FETCH_BATCH]
            typ, data = self._call(self._imap.uid, "FETCH", _uid_set(chunk),
                                   "(UID RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER])")
            if typ != "OK":
                raise ImapError(_("The server refused to send the message headers: {reason}").format(reason=_text(data)))
            wanted = set(chunk)
            for meta, literal in _fetched(data):
                uid, size = _UID.search(meta), _SIZE.search(meta)
                if uid is None or size is None or int(uid.group(1)) not in wanted:
                    continue  # an unsolicited FETCH (flags changed by another client)
                date = _DATE.search(meta)
                found.append(Envelope(uid=int(uid.group(1)), size=int(size.group(1)),
                                      internaldate=_internaldate(date.group(1)) if date else None,
                                      header=literal or b""))
        found.sort(key=lambda e: e.uid)
        return found

    def body(self, uid: int, limit: int) -> bytes | None:
        """The whole message, at most *limit* + 1 bytes of it (None when it is gone)."""
        typ, data = self._call(self._imap.uid, "FETCH", str(uid), f"(BODY.PEEK[]<0.{limit + 1}>)")
        if typ != "OK":
            raise ImapError(_("The server refused to send message {uid}: {reason}").format(uid=uid, reason=_text(data)))
        for meta, literal in _fetched(data):
            found = _UID.search(meta)
            if literal is not None and (found is None or int(found.group(1)) == uid):
                return literal
        return None

    # -- filing -----------------------------------------------------------------------------------------
    def file_away(self, uids: list[int], folder: str, flag: str) -> dict[int, tuple[int, int]]:
        """Move *uids* to *folder* (made when missing); with no folder, set *flag* on them.
        Where each went ({uid: (UIDVALIDITY, uid there)}) when the server says so (UIDPLUS's COPYUID)."""
        if not uids:
            return {}
        if not folder:
            self.flags(uids, "+", flag)
            return {}
        self.make_folder(folder)
        return self.move(uids, folder)

    def make_folder(self, folder: str) -> None:
        if folder in self._made:
            return
        imap = self._imap
        target = quoted(encode_folder(folder))
        typ, data = self._call(imap.create, target)
        if typ != "OK" and b"ALREADYEXISTS" not in b" ".join(d for d in data if isinstance(d, bytes)).upper():
            status, _detail = self._call(imap.status, target, "(MESSAGES)")
            if status != "OK":
                raise ImapError(_("The folder {folder} cannot be made on the server: {reason}").format(
                    folder=folder, reason=_text(data)), permanent=True)
        self._made.add(folder)

    def flags(self, uids: list[int], sign: str, *flags: str) -> None:
        """Add (*sign* "+") or remove ("-") *flags* on *uids* of the selected folder."""
        if uids and flags:
            self._ok(self._call(self._imap.uid, "STORE", _uid_set(uids), f"{sign}FLAGS.SILENT", f"({' '.join(flags)})"))

    def move(self, uids: list[int], folder: str, *, copied: bool = False) -> dict[int, tuple[int, int]]:
        """Move *uids* of the selected folder to *folder*: MOVE where the server has it, else COPY (unless
        *copied*: a copy is there already), \\Deleted and, with UIDPLUS, UID EXPUNGE of exactly these UIDs.
        Without UIDPLUS they stay marked deleted: a plain EXPUNGE would also remove what others deleted."""
        imap = self._imap
        uid_set = _uid_set(uids)
        target = quoted(encode_folder(folder))
        imap.untagged_responses.pop("COPYUID", None)
        placed: dict[int, tuple[int, int]] = {}
        if "MOVE" in self.capabilities:
            typ, data = self._call(imap.uid, "MOVE", uid_set, target)
            self._ok((typ, data))
            return _copyuid(imap, len(uids))
        if not copied:
            typ, data = self._call(imap.uid, "COPY", uid_set, target)
            self._ok((typ, data))
            placed = _copyuid(imap, len(uids))
            faults.point("intake_after_copy")
        self.flags(uids, "+", r"\Deleted")
        if "UIDPLUS" in self.capabilities:
            self._ok(self._call(imap.uid, "EXPUNGE", uid_set))
        return placed

    def open_folder(self, folder: str) -> int | None:
        """Select another folder (read-write); its UIDVALIDITY, or None when it does not exist.
        :meth:`select` goes back to the intake folder."""
        typ, _data = self._call(self._imap.select, quoted(encode_folder(folder)))
        if typ != "OK":
            return None
        self.selected_validity = self._validity()
        return self.selected_validity

    def _validity(self) -> int:
        """The UIDVALIDITY the last SELECT answered (0 when none or unreadable)."""
        _typ, value = self._imap.response("UIDVALIDITY")
        try:
            return int(value[-1]) if value and value[-1] else 0
        except ValueError:
            return 0

    def search(self, *criteria: str) -> list[int]:
        """UIDs of the selected folder's messages not marked deleted that match *criteria* (ASCII)."""
        typ, data = self._call(self._imap.uid, "SEARCH", "UNDELETED", *criteria)
        if typ != "OK":
            raise ImapError(_("The server refused to list the folder: {reason}").format(reason=_text(data)))
        return sorted(int(u) for u in b" ".join(d for d in data if d).split())

    @staticmethod
    def _ok(result) -> None:
        typ, data = result
        if typ != "OK":
            raise ImapError(_("The server refused to file the messages away: {reason}").format(reason=_text(data)))

    # -- waiting ----------------------------------------------------------------------------------------
    @property
    def can_idle(self) -> bool:
        return "IDLE" in self.capabilities

    def idle(self, seconds: float, should_stop: Callable[[], bool]) -> bool:
        """Wait with IDLE until a message arrives (True), *seconds* pass or *should_stop()* says so."""
        imap = self._imap
        reader = imap.file
        tag = imap._new_tag()  # noqa: SLF001 - imaplib has no IDLE before Python 3.14
        arrived = False
        try:
            imap.send(tag + b" IDLE\r\n")
            line = imap._get_line()  # noqa: SLF001
            while line.startswith(b"* "):
                arrived |= _is_arrival(line)
                line = imap._get_line()  # noqa: SLF001
            if not line.startswith(b"+"):
                raise ImapError(_("The server refused IDLE: {reason}").format(reason=line.decode("utf-8", "replace")))
            deadline = time.monotonic() + seconds
            while not arrived and not should_stop():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                if not (isinstance(reader, _Reader) and reader.pending()):
                    ready, _w, _x = select.select([imap.sock], [], [], min(0.5, remaining))
                    if not ready:
                        continue
                line = imap._get_line()  # noqa: SLF001
                arrived |= _is_arrival(line)
            imap.send(b"DONE\r\n")
            while True:
                line = imap._get_line()  # noqa: SLF001
                if line.startswith(tag):
                    break
                arrived |= _is_arrival(line)
        except imaplib.IMAP4.abort as exc:
            raise ImapError(_("The connection to the mail server was lost: {reason}").format(reason=_reason(exc))) from None
        except OSError as exc:
            raise ImapError(_("The connection to the mail server was lost: {reason}").format(reason=_reason(exc))) from None
        finally:
            imap.tagged_commands.pop(tag, None)
        return arrived

    def noop(self) -> None:
        self._call(self._imap.noop)


def _uids_of(text: str, most: int) -> list[int] | None:
    """``3:5,9`` → [3, 4, 5, 9] (a UID set as COPYUID gives it, in order); None when it is not
    a UID set or names more than *most* UIDs (the server's text: never trusted to size a list)."""
    found: list[int] = []
    for piece in text.split(","):
        first, _sep, last = piece.partition(":")
        try:
            low, high = int(first), int(last or first)
        except ValueError:
            return None
        if len(found) + abs(high - low) + 1 > most:
            return None
        step = 1 if high >= low else -1
        found.extend(range(low, high + step, step))
    return found


def _copyuid(imap: imaplib.IMAP4, moved: int) -> dict[int, tuple[int, int]]:
    """{source UID: (UIDVALIDITY, destination UID)} from the COPYUID response code (RFC 4315) of the
    last COPY or MOVE (imaplib keeps a tagged one's code among the untagged responses too); {} when
    the server gave none or something unreadable (*moved*: how many UIDs were copied or moved)."""
    _typ, found = imap.response("COPYUID")
    for text in found or []:
        match = re.match(rb"\s*(\d+) ([\d:,]+) ([\d:,]+)", text) if isinstance(text, bytes) else None
        if match is None:
            continue
        sources, targets = _uids_of(match.group(2).decode(), moved), _uids_of(match.group(3).decode(), moved)
        if sources is not None and targets is not None and len(sources) == len(targets):
            return {s: (int(match.group(1)), t) for s, t in zip(sources, targets)}
    return {}


def _is_arrival(line: bytes) -> bool:
    return re.match(rb"^\* \d+ (EXISTS|RECENT)\b", line) is not None


def _text(data) -> str:
    parts = [d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d) for d in (data or []) if d]
    return " ".join(parts)[:200]


def _reason(exc: BaseException) -> str:
    """A connection error in Chinese where it is a common one, else its own short text."""
    if isinstance(exc, ConnectionRefusedError):
        return _("the connection was refused (is the server address and port right?)")
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return _("no answer within the time limit")
    if isinstance(exc, socket.gaierror):
        return _("the server name cannot be resolved")
    if isinstance(exc, ssl.SSLError):
        return _("the encrypted connection failed ({reason})").format(reason=exc.reason or type(exc).__name__)
    text = str(exc).strip()
    return text[:200] if text else type(exc).__name__
