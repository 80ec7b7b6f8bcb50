"""Embedded storage in the data folder: ``web.sqlite`` and the files it names.

Layout of ``--data DIR``::

    web.toml                 settings (password hash, secret, limits)
    web.sqlite               rounds, received files, audits (this module)
    rounds/<id>/files/<n>.<ext>   received files, named by their row id only
    rounds/<id>/roster.<ext>      the round's roster, if one was uploaded
    rounds/<id>/audit/            the latest audit's outputs (审核汇总.xlsx, CSV, units/)
    audit-history/               xltool audit's history database, shared by all rounds

A name a user gave a file is only ever shown (escaped), never used to build a path.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from xltool.atomic import write_bytes_atomic

SCHEMA = """
CREATE TABLE IF NOT EXISTS rounds (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, created TEXT NOT NULL,
    roster_name TEXT NOT NULL DEFAULT '', roster_ext TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY, round_id INTEGER NOT NULL REFERENCES rounds(id), name TEXT NOT NULL,
    ext TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, received TEXT NOT NULL,
    origin TEXT NOT NULL, unit TEXT NOT NULL DEFAULT '', unit_code TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS mail_files (
    file_id INTEGER PRIMARY KEY REFERENCES files(id), message_key TEXT NOT NULL, sender TEXT NOT NULL,
    subject TEXT NOT NULL, sent TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS held_mail (
    message_key TEXT PRIMARY KEY, round_id INTEGER NOT NULL, sender TEXT NOT NULL, subject TEXT NOT NULL,
    sent TEXT NOT NULL, reason TEXT NOT NULL, files TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS audits (
    id INTEGER PRIMARY KEY, round_id INTEGER NOT NULL REFERENCES rounds(id), started TEXT NOT NULL,
    finished TEXT, status TEXT NOT NULL, result TEXT, error TEXT NOT NULL DEFAULT ''
);
"""
ALLOWED_EXT = {"xlsx", "xlsm", "xltx", "xltm", "xls", "xlsb", "ods", "et", "zip", "docx", "doc"}
ROSTER_EXT = {"xlsx", "csv"}


def now() -> str:
    return datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def safe_ext(name: str, allowed: set[str] = ALLOWED_EXT) -> str:
    """The extension to store a file under: one of *allowed*, else ``bin`` (the content decides anyway)."""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return ext if ext in allowed else "bin"


def display_name(name: str | None) -> str:
    """What the user called the file, for showing only: last path component, no control characters."""
    text = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if ch.isprintable())[:200]
    return text or "unnamed"


@dataclass
class Round:
    id: int
    name: str
    created: str
    roster_name: str
    roster_ext: str


@dataclass
class StoredFile:
    id: int
    round_id: int
    name: str
    ext: str
    size: int
    sha256: str
    received: str
    origin: str
    unit: str
    unit_code: str

    @property
    def stored_name(self) -> str:
        return f"{self.id:06d}.{self.ext}"


@dataclass
class Audit:
    id: int
    round_id: int
    started: str
    finished: str | None
    status: str
    result: dict | None
    error: str


class Store:
    def __init__(self, data: Path) -> None:
        self.data = Path(data)
        self.data.mkdir(parents=True, exist_ok=True)
        self.path = self.data / "web.sqlite"
        self._lock = threading.Lock()
        with self._db() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self):
        with self._lock:
            db = sqlite3.connect(self.path, timeout=30)
            try:
                db.execute("PRAGMA foreign_keys = ON")
                yield db
                db.commit()
            finally:
                db.close()

    # -- rounds ---------------------------------------------------------------------------------------------
    def round_dir(self, round_id: int) -> Path:
        return self.data / "rounds" / str(int(round_id))

    def files_dir(self, round_id: int) -> Path:
        return self.round_dir(round_id) / "files"

    def audit_dir(self, round_id: int) -> Path:
        return self.round_dir(round_id) / "audit"

    @property
    def history_dir(self) -> Path:
        return self.data / "audit-history"

    def add_round(self, name: str) -> Round:
        with self._db() as db:
            cur = db.execute("INSERT INTO rounds (name, created) VALUES (?, ?)", (name, now()))
            round_id = cur.lastrowid
        self.files_dir(round_id).mkdir(parents=True, exist_ok=True)
        return self.round(round_id)  # type: ignore[return-value]

    def rounds(self) -> list[Round]:
        with self._db() as db:
            rows = db.execute("SELECT id, name, created, roster_name, roster_ext FROM rounds ORDER BY id DESC").fetchall()
        return [Round(*r) for r in rows]

    def round(self, round_id: int) -> Round | None:
        with self._db() as db:
            row = db.execute("SELECT id, name, created, roster_name, roster_ext FROM rounds WHERE id = ?",
                             (round_id,)).fetchone()
        return Round(*row) if row else None

    def current_round(self, default_name: str) -> Round:
        """The newest round, where units' 报送 files go (a first one is made when there is none)."""
        rounds = self.rounds()
        return rounds[0] if rounds else self.add_round(default_name)

    def set_roster(self, round_id: int, name: str, data: bytes) -> Path:
        ext = safe_ext(name, ROSTER_EXT)
        if ext == "bin":
            ext = "xlsx"
        path = write_bytes_atomic(self.round_dir(round_id) / f"roster.{ext}", data)
        with self._db() as db:
            db.execute("UPDATE rounds SET roster_name = ?, roster_ext = ? WHERE id = ?", (display_name(name), ext, round_id))
        return path

    def roster_path(self, r: Round) -> Path | None:
        if not r.roster_ext:
            return None
        path = self.round_dir(r.id) / f"roster.{r.roster_ext}"
        return path if path.is_file() else None

    # -- files ----------------------------------------------------------------------------------------------
    def add_file(self, round_id: int, name: str, data: bytes, sha256: str, origin: str, unit: str = "",
                 unit_code: str = "") -> StoredFile:
        with self._db() as db:
            cur = db.execute(
                "INSERT INTO files (round_id, name, ext, size, sha256, received, origin, unit, unit_code) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (round_id, display_name(name), safe_ext(name), len(data), sha256, now(), origin, unit, unit_code))
            file_id = cur.lastrowid
        stored = self.file(file_id)
        assert stored is not None
        write_bytes_atomic(self.files_dir(round_id) / stored.stored_name, data)
        return stored

    def file(self, file_id: int) -> StoredFile | None:
        with self._db() as db:
            row = db.execute("SELECT id, round_id, name, ext, size, sha256, received, origin, unit, unit_code "
                             "FROM files WHERE id = ?", (file_id,)).fetchone()
        return StoredFile(*row) if row else None

    def files(self, round_id: int) -> list[StoredFile]:
        with self._db() as db:
            rows = db.execute("SELECT id, round_id, name, ext, size, sha256, received, origin, unit, unit_code "
                              "FROM files WHERE round_id = ? ORDER BY id", (round_id,)).fetchall()
        return [StoredFile(*r) for r in rows]

    # -- mail that came in through ``xltool intake`` --------------------------------------------------------
    def add_mail_file(self, round_id: int, message_key: str, name: str, data: bytes, sha256: str,
                      sender: str, subject: str, sent: str) -> StoredFile:
        """A file of an answered message, stored in the round once: a second call (the same bytes under
        the same name, even after a crash between the two inserts) returns the first."""
        with self._db() as db:
            row = db.execute("SELECT id FROM files WHERE round_id = ? AND origin = 'mail' AND sha256 = ? AND name = ?",
                             (round_id, sha256, display_name(name))).fetchone()
        stored = self.file(row[0]) if row is not None else self.add_file(round_id, name, data, sha256, "mail")
        assert stored is not None
        with self._db() as db:
            db.execute("INSERT OR IGNORE INTO mail_files (file_id, message_key, sender, subject, sent) "
                       "VALUES (?, ?, ?, ?, ?)", (stored.id, message_key, sender, subject, sent))
        return stored

    def hold_mail(self, round_id: int, message_key: str, sender: str, subject: str, sent: str, reason: str,
                  files: str) -> None:
        with self._db() as db:
            db.execute("INSERT OR IGNORE INTO held_mail (message_key, round_id, sender, subject, sent, reason, files) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", (message_key, round_id, sender, subject, sent, reason, files))

    def mail_files(self, round_id: int) -> dict[int, dict]:
        """file id → sender, subject, time sent, for the round's files that came by mail."""
        with self._db() as db:
            rows = db.execute("SELECT m.file_id, m.sender, m.subject, m.sent FROM mail_files m JOIN files f "
                              "ON f.id = m.file_id WHERE f.round_id = ?", (round_id,)).fetchall()
        return {r[0]: {"sender": r[1], "subject": r[2], "sent": r[3]} for r in rows}

    def held_mail(self, round_id: int) -> list[dict]:
        """Messages the mail intake did not answer, for the clerk: newest first."""
        with self._db() as db:
            rows = db.execute("SELECT sender, subject, sent, reason, files FROM held_mail WHERE round_id = ? "
                              "ORDER BY sent DESC, message_key", (round_id,)).fetchall()
        return [{"sender": r[0], "subject": r[1], "sent": r[2], "reason": r[3], "files": r[4]} for r in rows]

    # -- audits ---------------------------------------------------------------------------------------------
    def start_audit(self, round_id: int) -> int:
        with self._db() as db:
            return db.execute("INSERT INTO audits (round_id, started, status) VALUES (?, ?, 'running')",
                              (round_id, now())).lastrowid  # type: ignore[return-value]

    def finish_audit(self, audit_id: int, result: dict | None, error: str = "") -> None:
        with self._db() as db:
            db.execute("UPDATE audits SET finished = ?, status = ?, result = ?, error = ? WHERE id = ?",
                       (now(), "failed" if error else "done",
                        json.dumps(result, ensure_ascii=False) if result is not None else None, error, audit_id))

    def audits(self, round_id: int | None = None) -> list[Audit]:
        query = "SELECT id, round_id, started, finished, status, result, error FROM audits"
        args: tuple = ()
        if round_id is not None:
            query += " WHERE round_id = ?"
            args = (round_id,)
        with self._db() as db:
            rows = db.execute(query + " ORDER BY id DESC", args).fetchall()
        return [Audit(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]) if r[5] else None, r[6]) for r in rows]

    def audit(self, audit_id: int) -> Audit | None:
        return next((a for a in self.audits() if a.id == audit_id), None)

    def latest_audit(self, round_id: int) -> Audit | None:
        return next((a for a in self.audits(round_id) if a.status == "done"), None)

    def fail_running(self, message: str) -> None:
        """Audits left 'running' by a server that stopped: failed (the files are all still there)."""
        with self._db() as db:
            db.execute("UPDATE audits SET status = 'failed', finished = ?, error = ? WHERE status = 'running'",
                       (now(), message))
