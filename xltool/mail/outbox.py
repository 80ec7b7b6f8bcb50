"""The outbox: every message is stored here before it is sent.

Layout of the outbox folder::

    <id>.eml      the message exactly as it is (or will be) sent
    <id>.json     its state: pending / sent / failed, reason, attempts, timestamps
    <id>.lock     present while one process is sending it
    ledger.json   dedupe key -> message id, so the same findings are not sent twice
    ledger.lock   present while the ledger is being updated

Every file is written atomically (temporary file in the same folder, fsync,
os.replace). The .eml file is written before its state file, so a state file never
points at a missing message. Locks are plain files created with O_EXCL, which works on
Windows network shares as well as locally; they name their owner (host and pid), and a
lock whose owner on this host is gone is broken at once (else after its stale limit).

Crash safety (one message per dedupe key, whatever the moment a process is killed):
- ``add`` holds the ledger lock while it writes the ledger entry first and then the
  message: a message file never exists without its ledger entry, and an entry whose
  message was never written is taken as absent. Messages of an older outbox that reached
  disk without their entry are found once per Outbox (``_orphans``) and entered.
- ``mark_sending`` records that the SMTP conversation started; a message found in that
  state by a later run (its sender was killed) may have been delivered, so it is held
  (failed, permanent) for a person to confirm, never sent again automatically.
- ``flush`` sends only the message the ledger names for a key; another one with the same
  key is marked a duplicate.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from email.message import EmailMessage
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from xltool import faults
from xltool.i18n import _
from xltool.mail.errors import MailError

LEDGER_NAME = "ledger.json"
LEDGER_LOCK = "ledger.lock"
SEND_LOCK_STALE_SECONDS = 15 * 60
LEDGER_LOCK_STALE_SECONDS = 60
LEDGER_LOCK_WAIT_SECONDS = 20


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


class MessageStatus(str, Enum):
    PENDING = "pending"  # written, not yet accepted by a server
    SENT = "sent"  # accepted by the server
    FAILED = "failed"  # last delivery run failed; see permanent and reason

    @property
    def label(self) -> str:
        return {
            MessageStatus.PENDING: _("waiting to be sent"),
            MessageStatus.SENT: _("message sent"),
            MessageStatus.FAILED: _("sending failed"),
        }[self]


class AttachmentInfo(BaseModel):
    filename: str
    size: int


class AttemptRecord(BaseModel):
    at: str
    ok: bool
    permanent: bool = False
    code: int | None = None
    reason: str = ""


class MessageState(BaseModel):
    """The sidecar ``<id>.json`` of one message. Holds no secret."""

    id: str
    status: MessageStatus = MessageStatus.PENDING
    permanent: bool = False
    reason: str | None = None
    attempts: int = 0
    created: str = Field(default_factory=now_iso)
    updated: str = Field(default_factory=now_iso)
    last_attempt: str | None = None
    sent_at: str | None = None
    sender: str
    to: list[str] = Field(default_factory=list)
    cc: list[str] = Field(default_factory=list)
    subject: str = ""
    size: int = 0
    attachments: list[AttachmentInfo] = Field(default_factory=list)
    kind: str = "report"  # report | test
    workbook: str | None = None
    workbook_sha256: str | None = None
    dedupe_key: str | None = None
    refused: dict[str, str] = Field(default_factory=dict, description="recipients the server refused")
    sending_since: str | None = None  # set while an SMTP conversation for it is under way
    history: list[AttemptRecord] = Field(default_factory=list)

    @property
    def recipients(self) -> list[str]:
        seen: dict[str, None] = {}
        for address in [*self.to, *self.cc]:
            seen.setdefault(address, None)
        return list(seen)

    @property
    def retryable(self) -> bool:
        """Should ``mail flush`` try it (again)?"""
        return self.status is MessageStatus.PENDING or (
            self.status is MessageStatus.FAILED and not self.permanent
        )

    @property
    def status_label(self) -> str:
        if self.status is MessageStatus.FAILED:
            return _("failed (permanent)") if self.permanent else _("failed (will retry)")
        return self.status.label


class DuplicateMessage(MailError):
    """The ledger already holds a message with the same dedupe key."""

    def __init__(self, existing: MessageState | None, message_id: str) -> None:
        self.existing = existing
        self.message_id = message_id
        super().__init__(_("Duplicate of message {id}").format(id=message_id))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write *data* to *path* so that readers see the old or the new file, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_bytes(path, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))


_HOST = socket.gethostname()
_UNOWNED_GRACE_SECONDS = 5  # a lock file still empty after this was left by a killed creator


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: assume alive
    return True


class _FileLock:
    """An O_EXCL lock file holding the owner's host, pid and time; a lock whose owner (on
    this host) no longer runs is broken at once, any other after *stale_after* seconds."""

    def __init__(self, path: Path, stale_after: float) -> None:
        self.path = path
        self.stale_after = stale_after
        self.held = False

    def try_acquire(self) -> bool:
        for _attempt in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                if self._is_stale():
                    try:
                        self.path.unlink()
                    except FileNotFoundError:
                        pass
                    continue
                return False
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps({"pid": os.getpid(), "host": _HOST, "at": now_iso()}))
            self.held = True
            return True
        return False

    def acquire(self, wait: float) -> bool:
        deadline = time.monotonic() + wait
        while True:
            if self.try_acquire():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def release(self) -> None:
        if self.held:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
            self.held = False

    def _is_stale(self) -> bool:
        try:
            age = time.time() - self.path.stat().st_mtime
            owner = json.loads(self.path.read_text(encoding="utf-8") or "null")
        except FileNotFoundError:
            return True
        except (OSError, ValueError):
            owner = None
        if isinstance(owner, dict) and owner.get("host") == _HOST and isinstance(owner.get("pid"), int):
            if owner["pid"] == os.getpid():
                return False  # ours (another lock object of this process)
            if not _pid_alive(owner["pid"]):
                return True
        elif owner is None and age > _UNOWNED_GRACE_SECONDS:
            return True
        return age > self.stale_after


class Outbox:
    """A folder of messages with their states and the dedupe ledger."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._orphans_checked = False

    # -- paths ------------------------------------------------------------------------

    def eml_path(self, message_id: str) -> Path:
        return self.root / f"{message_id}.eml"

    def state_path(self, message_id: str) -> Path:
        return self.root / f"{message_id}.json"

    @property
    def ledger_path(self) -> Path:
        return self.root / LEDGER_NAME

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    # -- messages -----------------------------------------------------------------------

    @staticmethod
    def new_id() -> str:
        return datetime.now().strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]

    def add(self, message: EmailMessage | bytes, state: MessageState, *, resend: bool = False) -> MessageState:
        """Store *message* with *state* (status pending). With ``state.dedupe_key``, the
        ledger is checked and updated in the same locked step; a live earlier message
        with that key raises DuplicateMessage unless *resend*."""
        self.ensure()
        data = message if isinstance(message, bytes) else message.as_bytes(policy=message.policy)
        state.size = len(data)
        if state.dedupe_key is None:
            self._write(state, data)
            return state
        with self._ledger_lock():
            ledger = self._read_ledger()
            if self._adopt_orphans(ledger):
                atomic_write_json(self.ledger_path, ledger)
            entry = ledger.get(state.dedupe_key)
            if entry and not resend:
                existing = self.get(entry["message_id"])
                if existing is None and not self.eml_path(entry["message_id"]).exists():
                    entry = None  # its writer was killed before the message reached disk: nothing was stored
                # A permanently failed earlier message was never delivered: allow again.
                elif existing is None or not (existing.status is MessageStatus.FAILED and existing.permanent
                                              and existing.sending_since is None):
                    raise DuplicateMessage(existing, entry["message_id"])
            previous = list(entry.get("previous", [])) + [entry["message_id"]] if entry else []
            ledger[state.dedupe_key] = {
                "message_id": state.id,
                "to": state.to,
                "workbook": state.workbook,
                "workbook_sha256": state.workbook_sha256,
                "at": now_iso(),
                "previous": previous,
            }
            # The entry first, then the message: a message never exists without its entry.
            atomic_write_json(self.ledger_path, ledger)
            faults.point("outbox_after_ledger")
            self._write(state, data)
            faults.point("outbox_after_state")
        return state

    def _adopt_orphans(self, ledger: dict[str, Any]) -> bool:
        """Enter messages that reached disk without their ledger entry (an outbox written by a
        version that wrote the message first and was killed): once per Outbox object."""
        if self._orphans_checked:
            return False
        self._orphans_checked = True
        changed = False
        for found in self.list():
            key = found.dedupe_key
            if not key:
                continue
            entry = ledger.get(key)
            if entry is None or (entry["message_id"] != found.id and self.get(entry["message_id"]) is None):
                ledger[key] = {"message_id": found.id, "to": found.to, "workbook": found.workbook,
                               "workbook_sha256": found.workbook_sha256, "at": now_iso(), "previous": [],
                               "adopted": True}
                changed = True
        return changed

    def ledger_holder(self, key: str) -> str | None:
        """The message id the ledger names for *key* (read without the lock: entries are
        replaced atomically)."""
        try:
            entry = self._read_ledger().get(key)
        except MailError:
            return None
        return entry.get("message_id") if isinstance(entry, dict) else None

    def mark_sending(self, state: MessageState) -> None:
        state.sending_since = now_iso()
        self.save(state)

    def _write(self, state: MessageState, data: bytes) -> None:
        atomic_write_bytes(self.eml_path(state.id), data)
        self.save(state)

    def save(self, state: MessageState) -> None:
        state.updated = now_iso()
        atomic_write_json(self.state_path(state.id), state.model_dump(mode="json"))

    def get(self, message_id: str) -> MessageState | None:
        path = self.state_path(message_id)
        try:
            return MessageState.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            return None

    def read_message(self, message_id: str) -> bytes:
        return self.eml_path(message_id).read_bytes()

    def replace_message(self, message_id: str, data: bytes) -> None:
        atomic_write_bytes(self.eml_path(message_id), data)

    def list(self, status: MessageStatus | None = None) -> list[MessageState]:
        """All messages, oldest first."""
        if not self.root.is_dir():
            return []
        result = []
        for path in sorted(self.root.glob("*.json")):
            if path.name == LEDGER_NAME or path.name.startswith("."):
                continue
            try:
                state = MessageState.model_validate_json(path.read_bytes())
            except (OSError, ValueError):
                continue
            if status is None or state.status is status:
                result.append(state)
        result.sort(key=lambda s: (s.created, s.id))
        return result

    def retryable(self, include_permanent: bool = False) -> list[MessageState]:
        return [
            s
            for s in self.list()
            if s.retryable or (include_permanent and s.status is MessageStatus.FAILED)
        ]

    @contextmanager
    def claim(self, message_id: str) -> Iterator[bool]:
        """Hold the send lock of one message; yields False if another process holds it."""
        lock = _FileLock(self.root / f"{message_id}.lock", SEND_LOCK_STALE_SECONDS)
        acquired = lock.try_acquire()
        try:
            yield acquired
        finally:
            if acquired:
                lock.release()

    # -- ledger -------------------------------------------------------------------------

    @contextmanager
    def _ledger_lock(self) -> Iterator[None]:
        lock = _FileLock(self.root / LEDGER_LOCK, LEDGER_LOCK_STALE_SECONDS)
        if not lock.acquire(LEDGER_LOCK_WAIT_SECONDS):
            raise MailError(_("The outbox ledger is locked by another process: {path}").format(path=lock.path))
        try:
            yield
        finally:
            lock.release()

    def _read_ledger(self) -> dict[str, Any]:
        try:
            data = json.loads(self.ledger_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            raise MailError(
                _("The outbox ledger {path} is damaged: {error}").format(path=self.ledger_path, error=exc)
            ) from exc
        return data if isinstance(data, dict) else {}

    def find_duplicate(self, key: str) -> MessageState | str | None:
        """Read-only ledger check: the live earlier message (or its id if its state file
        is gone), or None when sending again would not be a duplicate."""
        if not self.ledger_path.is_file():
            return None
        entry = self._read_ledger().get(key)
        if not entry:
            return None
        existing = self.get(entry["message_id"])
        if existing is None:
            return entry["message_id"]
        if existing.status is MessageStatus.FAILED and existing.permanent:
            return None
        return existing
