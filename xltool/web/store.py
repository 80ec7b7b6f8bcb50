"""Embedded storage in the data folder: ``web.sqlite`` and the files it names.

Layout of ``--data DIR``::

    web.toml                 settings (password hash, secret, limits)
    web.sqlite               rounds, received files, audits (this module)
    rounds/<id>/files/<n>.<ext>   received files, named by their row id only
    rounds/<id>/roster.<ext>      the round's roster, if one was uploaded
    rounds/<id>/audit/            the latest audit's outputs (审核汇总.xlsx, CSV, units/)
    pending/p<n>.<ext>            报送 without a valid submission code, until the desk accepts
                                  them or they are purged (pending_keep_hours)
    tasks/t<n>.zip                a background task's download (the templates zip), while the
                                  server that made it runs
    audit-history/               xltool audit's history database, shared by all rounds

A name a user gave a file is only ever shown (escaped), never used to build a path.
The folder is private to its owner (0700) and every stored file 0600. A file is written
(temporary name, fsync, rename) inside the transaction that records it, and the transaction
commits only after the file is in place: a full or read-only disk leaves no row without its file.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import os
import secrets
import shutil
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

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
CREATE TABLE IF NOT EXISTS pending (
    id INTEGER PRIMARY KEY, round_id INTEGER NOT NULL REFERENCES rounds(id), name TEXT NOT NULL,
    ext TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, received TEXT NOT NULL,
    received_ts REAL NOT NULL, client TEXT NOT NULL, unit TEXT NOT NULL DEFAULT '',
    unit_code TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS desk_sessions (
    id TEXT PRIMARY KEY, generation INTEGER NOT NULL, tag TEXT NOT NULL, created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
FILE_COLUMNS = "id, round_id, name, ext, size, sha256, received, origin, unit, unit_code"
PENDING_COLUMNS = "id, round_id, name, ext, size, sha256, received, client, unit, unit_code"
ALLOWED_EXT = {"xlsx", "xlsm", "xltx", "xltm", "xls", "xlsb", "ods", "et", "zip", "docx", "doc"}
ROSTER_EXT = {"xlsx", "csv"}


def now() -> str:
    return datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


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
class Received:
    """A file as a unit sent it: its name, size, digest and when it came."""

    id: int
    round_id: int
    name: str
    ext: str
    size: int
    sha256: str
    received: str


@dataclass
class StoredFile(Received):
    origin: str
    unit: str
    unit_code: str

    @property
    def stored_name(self) -> str:
        return f"{self.id:06d}.{self.ext}"


@dataclass
class PendingFile(Received):
    """A 报送 without a valid submission code: kept aside until the desk accepts or drops it."""

    client: str
    unit: str
    unit_code: str

    @property
    def stored_name(self) -> str:
        return f"p{self.id:06d}.{self.ext}"


class StorageFull(OSError):
    """Storing this would leave the data folder's disk below the configured free space."""


def write_private(path: Path, data: bytes) -> Path:
    """*data* at *path*, readable by the owner only: temporary name, fsync, rename. Nothing is
    left behind when it fails (full disk, read-only folder)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)
    return path


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open a folder; its rename is durable enough
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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
    def __init__(self, data: Path, min_free_bytes: int = 0) -> None:
        from xltool.web.config import private_folder

        self.data = private_folder(Path(data))
        self.path = self.data / "web.sqlite"
        self.min_free_bytes = min_free_bytes
        self._lock = threading.RLock()
        with self._db() as db:
            db.executescript(SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(files)")}
            if "client" not in columns:  # data folders from before the submission quotas
                db.execute("ALTER TABLE files ADD COLUMN client TEXT NOT NULL DEFAULT ''")
        try:
            if self.path.stat().st_mode & 0o077:
                self.path.chmod(0o600)
        except OSError:
            pass

    @contextmanager
    def _db(self):
        """One transaction: committed when the block ends normally, rolled back otherwise."""
        with self._lock:
            db = sqlite3.connect(self.path, timeout=30)
            try:
                db.execute("PRAGMA foreign_keys = ON")
                yield db
                db.commit()
            finally:
                db.close()

    def _room_for(self, size: int) -> None:
        """Refuse (StorageFull) what would leave less than min_free_bytes on the data folder's disk."""
        if not self.min_free_bytes:
            return
        try:
            free = shutil.disk_usage(self.data).free
        except OSError:
            return  # the write itself will tell
        if free - size < self.min_free_bytes:
            raise StorageFull(errno.ENOSPC, "less free space than min_free_mb")

    def _add_with_file(self, insert, path_of, data: bytes):
        """Insert a row and write its file in one transaction; the row exists only with its file."""
        self._room_for(len(data))
        written: Path | None = None
        try:
            with self._db() as db:
                row_id = insert(db)
                written = path_of(row_id)
                write_private(written, data)
        except BaseException:
            if written is not None:
                written.unlink(missing_ok=True)  # the commit failed after the file was written
            raise
        return row_id

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

    @property
    def pending_dir(self) -> Path:
        return self.data / "pending"

    @property
    def tasks_dir(self) -> Path:
        """Files the desk's background tasks made (the templates zip), until they are downloaded."""
        return self.data / "tasks"

    def save_task_file(self, task_id: int, data: bytes, ext: str) -> Path:
        """A task's download, private like every stored file; refused on a nearly full disk."""
        self._room_for(len(data))
        return write_private(self.tasks_dir / f"t{int(task_id):06d}.{ext}", data)

    def add_round(self, name: str) -> Round:
        with self._db() as db:
            cur = db.execute("INSERT INTO rounds (name, created) VALUES (?, ?)", (name, now()))
            round_id = cur.lastrowid
            self.files_dir(round_id).mkdir(mode=0o700, parents=True, exist_ok=True)
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
        self._room_for(len(data))
        path = write_private(self.round_dir(round_id) / f"roster.{ext}", data)
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
                 unit_code: str = "", client: str = "") -> StoredFile:
        ext = safe_ext(name)

        def insert(db) -> int:
            return db.execute(
                "INSERT INTO files (round_id, name, ext, size, sha256, received, origin, unit, unit_code, client) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (round_id, display_name(name), ext, len(data), sha256, now(), origin, unit, unit_code, client)).lastrowid

        file_id = self._add_with_file(insert, lambda i: self.files_dir(round_id) / f"{i:06d}.{ext}", data)
        return self.file(file_id)  # type: ignore[return-value]

    def file(self, file_id: int) -> StoredFile | None:
        with self._db() as db:
            row = db.execute(f"SELECT {FILE_COLUMNS} FROM files WHERE id = ?", (file_id,)).fetchone()
        return StoredFile(*row) if row else None

    def files(self, round_id: int) -> list[StoredFile]:
        with self._db() as db:
            rows = db.execute(f"SELECT {FILE_COLUMNS} FROM files WHERE round_id = ? ORDER BY id", (round_id,)).fetchall()
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

    def release_mail(self, message_key: str) -> None:
        """A held message answered after all (its sender was added to the roster): off the clerk's list."""
        with self._db() as db:
            db.execute("DELETE FROM held_mail WHERE message_key = ?", (message_key,))

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

    # -- what strangers have stored: the quotas ------------------------------------------------------------
    def usage(self, round_id: int, *, client: str | None = None) -> tuple[int, int]:
        """(files, bytes) that units' 报送 stored in the round, pending ones included (of *client* only if given)."""
        where, args = "round_id = ?", [round_id]
        if client is not None:
            where += " AND client = ?"
            args.append(client)
        with self._db() as db:
            a = db.execute(f"SELECT count(*), coalesce(sum(size), 0) FROM files WHERE origin = 'selfcheck' AND {where}",
                           args).fetchone()
            b = db.execute(f"SELECT count(*), coalesce(sum(size), 0) FROM pending WHERE {where}", args).fetchone()
        return a[0] + b[0], a[1] + b[1]

    def unit_submissions(self, round_id: int, unit_code: str) -> int:
        with self._db() as db:
            return db.execute("SELECT count(*) FROM files WHERE round_id = ? AND origin = 'selfcheck' AND unit_code = ?",
                              (round_id, unit_code)).fetchone()[0]

    def pending_usage(self) -> tuple[int, int]:
        with self._db() as db:
            return tuple(db.execute("SELECT count(*), coalesce(sum(size), 0) FROM pending").fetchone())  # type: ignore[return-value]

    # -- the pending area ----------------------------------------------------------------------------------
    def add_pending(self, round_id: int, name: str, data: bytes, sha256: str, client: str, unit: str = "",
                    unit_code: str = "") -> PendingFile:
        ext = safe_ext(name)

        def insert(db) -> int:
            return db.execute(
                "INSERT INTO pending (round_id, name, ext, size, sha256, received, received_ts, client, unit, unit_code) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (round_id, display_name(name), ext, len(data), sha256, now(), time.time(), client, unit,
                 unit_code)).lastrowid

        pending_id = self._add_with_file(insert, lambda i: self.pending_dir / f"p{i:06d}.{ext}", data)
        return self.pending_file(pending_id)  # type: ignore[return-value]

    def pending_file(self, pending_id: int) -> PendingFile | None:
        with self._db() as db:
            row = db.execute(f"SELECT {PENDING_COLUMNS} FROM pending WHERE id = ?", (pending_id,)).fetchone()
        return PendingFile(*row) if row else None

    def pending(self, round_id: int | None = None) -> list[PendingFile]:
        query, args = f"SELECT {PENDING_COLUMNS} FROM pending", ()
        if round_id is not None:
            query, args = query + " WHERE round_id = ?", (round_id,)
        with self._db() as db:
            return [PendingFile(*r) for r in db.execute(query + " ORDER BY id", args).fetchall()]

    def accept_pending(self, pending_id: int) -> StoredFile | None:
        """Move a pending 报送 into its round (row and file together)."""
        p = self.pending_file(pending_id)
        if p is None:
            return None
        source = self.pending_dir / p.stored_name
        moved: tuple[Path, Path] | None = None
        try:
            with self._db() as db:
                file_id = db.execute(
                    "INSERT INTO files (round_id, name, ext, size, sha256, received, origin, unit, unit_code, client) "
                    "VALUES (?, ?, ?, ?, ?, ?, 'selfcheck', ?, ?, ?)",
                    (p.round_id, p.name, p.ext, p.size, p.sha256, p.received, p.unit, p.unit_code, p.client)).lastrowid
                db.execute("DELETE FROM pending WHERE id = ?", (pending_id,))
                target = self.files_dir(p.round_id) / f"{file_id:06d}.{p.ext}"
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.replace(source, target)
                moved = (target, source)
        except BaseException:
            if moved is not None:
                os.replace(*moved)  # the commit failed: the file goes back where its row still is
            raise
        return self.file(file_id)

    def drop_pending(self, pending_id: int) -> bool:
        p = self.pending_file(pending_id)
        if p is None:
            return False
        with self._db() as db:
            db.execute("DELETE FROM pending WHERE id = ?", (pending_id,))
        (self.pending_dir / p.stored_name).unlink(missing_ok=True)
        return True

    def purge_pending(self, max_age_seconds: float) -> int:
        """Drop pending 报送 older than *max_age_seconds* (rows first, then their files), and
        stray files a crash left in the pending folder. Returns how many were dropped."""
        cutoff = time.time() - max_age_seconds
        with self._db() as db:
            old = [PendingFile(*r) for r in db.execute(
                f"SELECT {PENDING_COLUMNS} FROM pending WHERE received_ts < ?", (cutoff,)).fetchall()]
            db.execute("DELETE FROM pending WHERE received_ts < ?", (cutoff,))
            known = {f"p{r[0]:06d}.{r[1]}" for r in db.execute("SELECT id, ext FROM pending").fetchall()}
        for p in old:
            (self.pending_dir / p.stored_name).unlink(missing_ok=True)
        if self.pending_dir.is_dir():
            for path in self.pending_dir.iterdir():
                try:
                    if path.name not in known and path.stat().st_mtime < cutoff:
                        path.unlink()
                except OSError:
                    pass
        return len(old)

    # -- desk sessions -------------------------------------------------------------------------------------
    def _generation(self, db) -> int:
        row = db.execute("SELECT value FROM state WHERE key = 'session_generation'").fetchone()
        return int(row[0]) if row else 0

    def new_session(self, tag: str) -> str:
        """A new desk session under the current generation; the cookie gets *sid*, the table its hash."""
        sid = secrets.token_urlsafe(32)
        with self._db() as db:
            db.execute("DELETE FROM desk_sessions WHERE created < ?", (time.time() - 7 * 86400,))
            db.execute("INSERT INTO desk_sessions (id, generation, tag, created) VALUES (?, ?, ?, ?)",
                       (_digest(sid), self._generation(db), tag, time.time()))
        return sid

    def session_valid(self, sid: str, tag: str, max_age: float) -> bool:
        with self._db() as db:
            row = db.execute("SELECT generation, tag, created FROM desk_sessions WHERE id = ?", (_digest(sid),)).fetchone()
            generation = self._generation(db)
        return (row is not None and row[0] == generation and hmac.compare_digest(row[1], tag)
                and time.time() - row[2] < max_age)

    def end_session(self, sid: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM desk_sessions WHERE id = ?", (_digest(sid),))

    def revoke_sessions(self) -> None:
        """A new generation: every desk session opened before is over (password changed)."""
        with self._db() as db:
            db.execute("INSERT INTO state (key, value) VALUES ('session_generation', ?) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (str(self._generation(db) + 1),))
            db.execute("DELETE FROM desk_sessions")

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
