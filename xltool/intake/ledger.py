"""The intake's memory: ``intake.sqlite`` in the store folder.

Tables
  messages     one row per message, keyed by its Message-ID (or a digest of it when it has none)
               and the digests of its attachments; how far it got (``stage``) and what became of
               it (``outcome``: answer, notice, held, ignored) with the reason.
  attachments  the attachments of a message as sent: name, file stored, kind, digest, and the earlier
               answered message that brought the same bytes (``dup_of``), or whose reply carried
               them: a duplicate, or our own 问题清单 or 审核标注 copy sent back unchanged, is
               answered but never put into an audit round again.
  sent         the files the reply to a message carried (digest, name), as the outbox stored it.
  uids         (folder, UIDVALIDITY, UID) → message key: a message already seen is never
               downloaded again, and a message seen again under a new UID is known by its key.
  placed       message key → (folder, UIDVALIDITY, UID) where the intake moved a held message,
               when the server said so (COPYUID): where to look for it when it is answered later.

Stages, in order: ``downloaded`` (attachments on disk), ``decided`` (answer, notice, held or
ignored), ``audited`` (its files are in a finished audit round), ``replied`` (the reply is in the
outbox ledger and was sent or waits there), ``filed`` (moved or flagged on the server). Each
stage is committed before the next begins, so a pass killed anywhere is finished by the next.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

LEDGER_NAME = "intake.sqlite"
STAGES = ("downloaded", "decided", "audited", "replied", "filed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    key TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    sender_name TEXT NOT NULL,
    subject TEXT NOT NULL,
    sent TEXT NOT NULL,
    size INTEGER NOT NULL,
    folder TEXT NOT NULL,
    oversize INTEGER NOT NULL DEFAULT 0,
    malformed TEXT NOT NULL DEFAULT '',
    automatic TEXT NOT NULL DEFAULT '',
    dropped TEXT NOT NULL DEFAULT '[]',
    senders INTEGER NOT NULL DEFAULT 1,
    stage TEXT NOT NULL,
    outcome TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    decided TEXT,
    run_id INTEGER,
    reply_id TEXT,
    reply_status TEXT NOT NULL DEFAULT '',
    seen TEXT NOT NULL,
    on_desk INTEGER NOT NULL DEFAULT 0,
    by_roster INTEGER NOT NULL DEFAULT 0,
    held_in TEXT
);
CREATE INDEX IF NOT EXISTS messages_stage ON messages(stage);
CREATE INDEX IF NOT EXISTS messages_sender ON messages(sender, decided);
CREATE TABLE IF NOT EXISTS attachments (
    key TEXT NOT NULL,
    n INTEGER NOT NULL,
    name TEXT NOT NULL,
    stored TEXT NOT NULL,
    suffix TEXT NOT NULL,
    kind TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    dup_of TEXT,
    PRIMARY KEY (key, n)
);
CREATE TABLE IF NOT EXISTS sent (
    key TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (key, sha256)
);
CREATE INDEX IF NOT EXISTS sent_sha256 ON sent(sha256);
CREATE TABLE IF NOT EXISTS state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS placed (
    key TEXT PRIMARY KEY,
    folder TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS uids (
    folder TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (folder, uidvalidity, uid)
);
"""


# Columns added after the first version, with their declarations (ALTER TABLE on an older ledger).
_ADDED_COLUMNS = (("on_desk", "INTEGER NOT NULL DEFAULT 0"), ("by_roster", "INTEGER NOT NULL DEFAULT 0"),
                  ("held_in", "TEXT"))


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Row:
    key: str
    message_id: str
    sender: str
    sender_name: str
    subject: str
    sent: str
    size: int
    folder: str
    oversize: bool
    malformed: str
    automatic: str
    dropped: list[str]
    senders: int
    stage: str
    outcome: str
    reason: str
    decided: str | None
    run_id: int | None
    reply_id: str | None
    reply_status: str
    seen: str
    on_desk: bool = False
    by_roster: bool = False  # held because of whose address it is (the roster may change that)
    # The server folder a held message was filed in ("" when it stayed, flagged, in the intake folder);
    # None when it was never filed as held. Kept when it is answered later, until it is filed again.
    held_in: str | None = None


@dataclass
class Stored:
    """An attachment as it was sent and kept."""

    n: int
    name: str
    stored: str
    suffix: str
    kind: str
    sha256: str
    size: int
    dup_of: str | None = None  # the key of the earlier answered message that brought the same file (or got it)


_COLUMNS = ("key, message_id, sender, sender_name, subject, sent, size, folder, oversize, malformed, automatic, "
            "dropped, senders, stage, outcome, reason, decided, run_id, reply_id, reply_status, seen, on_desk, by_roster, "
            "held_in")


def _row(values: tuple) -> Row:
    data = list(values)
    data[8] = bool(data[8])
    data[11] = json.loads(data[11] or "[]")
    data[21] = bool(data[21])
    data[22] = bool(data[22])
    return Row(*data)


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        # Durable when the process is killed; an OS crash may lose the last stages, which the next
        # pass does again (the outbox, fsynced, still refuses a second reply).
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(messages)")}
        for name, declaration in _ADDED_COLUMNS:  # a ledger written by an earlier version
            if name not in columns:
                self.db.execute(f"ALTER TABLE messages ADD COLUMN {name} {declaration}")
        if "dup_of" not in {row[1] for row in self.db.execute("PRAGMA table_info(attachments)")}:
            self.db.execute("ALTER TABLE attachments ADD COLUMN dup_of TEXT")
        self.db.commit()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ------------------------------------------------------------------------------------------
    def get(self, key: str) -> Row | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM messages WHERE key = ?", (key,)).fetchone()
        return _row(row) if row else None

    def at(self, stage: str) -> list[Row]:
        """Messages at *stage*, in the order they were sent."""
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM messages WHERE stage = ? ORDER BY sent, key", (stage,))
        return [_row(r) for r in rows]

    def all(self) -> list[Row]:
        return [_row(r) for r in self.db.execute(f"SELECT {_COLUMNS} FROM messages ORDER BY sent, key")]

    def held(self) -> list[Row]:
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM messages WHERE outcome = 'held' ORDER BY sent, key")
        return [_row(r) for r in rows]

    def attachments(self, key: str) -> list[Stored]:
        rows = self.db.execute("SELECT n, name, stored, suffix, kind, sha256, size, dup_of FROM attachments "
                               "WHERE key = ? ORDER BY n", (key,))
        return [Stored(*r) for r in rows]

    def known_uids(self, folder: str, uidvalidity: int) -> dict[int, str]:
        rows = self.db.execute("SELECT uid, key FROM uids WHERE folder = ? AND uidvalidity = ?", (folder, uidvalidity))
        return dict(rows)

    def replies_since(self, sender: str, since: datetime) -> int:
        """Replies decided for *sender* after *since* (the hourly budget)."""
        row = self.db.execute("SELECT COUNT(*) FROM messages WHERE lower(sender) = lower(?) AND outcome IN "
                              "('answer', 'notice') AND decided > ?", (sender, since.isoformat(timespec="seconds")))
        return int(row.fetchone()[0])

    def budget_used(self, sender: str, now: datetime) -> int:
        return self.replies_since(sender, now - timedelta(hours=1))

    # -- writing ------------------------------------------------------------------------------------------
    def add(self, row: Row, attachments: list[Stored], uid: tuple[str, int, int] | None) -> None:
        """A new message with its attachments (and the UID it was read under), in one transaction."""
        with self.db:
            self.db.execute(
                f"INSERT OR IGNORE INTO messages ({_COLUMNS}) VALUES ({','.join('?' * 24)})",
                (row.key, row.message_id, row.sender, row.sender_name, row.subject, row.sent, row.size, row.folder,
                 int(row.oversize), row.malformed, row.automatic, json.dumps(row.dropped, ensure_ascii=False),
                 row.senders, row.stage, row.outcome, row.reason, row.decided, row.run_id, row.reply_id,
                 row.reply_status, row.seen, int(row.on_desk), int(row.by_roster), row.held_in))
            self.db.executemany(
                "INSERT OR IGNORE INTO attachments (key, n, name, stored, suffix, kind, sha256, size) "
                "VALUES (?,?,?,?,?,?,?,?)",
                [(row.key, a.n, a.name, a.stored, a.suffix, a.kind, a.sha256, a.size) for a in attachments])
            if uid is not None:
                self.db.execute("INSERT OR REPLACE INTO uids (folder, uidvalidity, uid, key) VALUES (?,?,?,?)",
                                (*uid, row.key))

    def map_uid(self, folder: str, uidvalidity: int, uid: int, key: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO uids (folder, uidvalidity, uid, key) VALUES (?,?,?,?)",
                            (folder, uidvalidity, uid, key))

    def decide(self, key: str, outcome: str, reason: str, when: str | None = None, *, by_roster: bool = False,
               reopened: bool = False, held_in: str | None = None) -> None:
        """*reopened*: a held message decided again (its answered files enter the desk's round); *held_in*:
        where it was filed as held, for a ledger written before that was recorded."""
        on_desk = ", on_desk = 0" if reopened else ""
        with self.db:
            self.db.execute(f"UPDATE messages SET stage = 'decided', outcome = ?, reason = ?, decided = ?, "
                            f"by_roster = ?, held_in = COALESCE(held_in, ?){on_desk} WHERE key = ?",
                            (outcome, reason, when or utc_now(), int(by_roster), held_in, key))

    def held_by_roster(self) -> list[Row]:
        """Held messages whose sender the roster did not know (stored attachments only)."""
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM messages WHERE outcome = 'held' AND by_roster = 1 AND "
                               "stage IN ('decided', 'filed') AND folder != '' ORDER BY sent, key")
        return [_row(r) for r in rows]

    def mark_duplicates(self, key: str) -> None:
        """Point each workbook of *key* at the earliest other answered message of the same sender that
        brought the same bytes (an original, itself no duplicate), or at nothing; the same answer however
        often it is asked. Another sender's copy is no duplicate here (its reply would tell of the first
        sender's mail); the audit round sets it aside as it does any second copy."""
        with self.db:
            self.db.execute(
                "UPDATE attachments SET dup_of = (SELECT a.key FROM attachments a JOIN messages m ON m.key = a.key "
                "WHERE a.sha256 = attachments.sha256 AND a.kind = 'check' AND a.key != attachments.key "
                "AND a.dup_of IS NULL AND m.outcome = 'answer' AND m.folder != '' "
                "AND lower(m.sender) = (SELECT lower(sender) FROM messages WHERE key = attachments.key) "
                "ORDER BY m.decided, m.sent, m.key LIMIT 1) WHERE key = ? AND kind = 'check'", (key,))
            # A file our reply to this sender carried, sent back as it was: nothing new to audit.
            self.db.execute(
                "UPDATE attachments SET dup_of = (SELECT s.key FROM sent s JOIN messages m ON m.key = s.key "
                "WHERE s.sha256 = attachments.sha256 AND s.key != attachments.key "
                "AND lower(m.sender) = (SELECT lower(sender) FROM messages WHERE key = attachments.key) "
                "ORDER BY m.decided, m.sent, m.key LIMIT 1) WHERE key = ? AND kind = 'check' AND dup_of IS NULL",
                (key,))

    def original(self, key: str, sha256: str) -> tuple[str, str] | None:
        """(when it was sent, its name) of the attachment with *sha256* in message *key*."""
        row = self.db.execute("SELECT m.sent, a.name FROM attachments a JOIN messages m ON m.key = a.key "
                              "WHERE a.key = ? AND a.sha256 = ? ORDER BY a.n LIMIT 1", (key, sha256)).fetchone()
        return (row[0], row[1]) if row else None

    def returned(self, key: str, sha256: str) -> tuple[str, str] | None:
        """(when the message was sent, the file's name) of the file with *sha256* that our reply to
        message *key* carried."""
        row = self.db.execute("SELECT m.sent, s.name FROM sent s JOIN messages m ON m.key = s.key "
                              "WHERE s.key = ? AND s.sha256 = ?", (key, sha256)).fetchone()
        return (row[0], row[1]) if row else None

    def duplicates(self) -> dict[str, set[str]]:
        """Message folder → the stored names of its duplicate workbooks, for answered messages."""
        found: dict[str, set[str]] = {}
        for folder, stored in self.db.execute(
                "SELECT m.folder, a.stored FROM attachments a JOIN messages m ON m.key = a.key "
                "WHERE a.dup_of IS NOT NULL AND m.outcome = 'answer'"):
            found.setdefault(folder, set()).add(stored)
        return found

    def state(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM state WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def set_state(self, name: str, value: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO state (name, value) VALUES (?, ?)", (name, value))

    def audited(self, keys: list[str], run_id: int | None) -> None:
        with self.db:
            self.db.executemany("UPDATE messages SET stage = 'audited', run_id = ? WHERE key = ?",
                                [(run_id, k) for k in keys])

    def replied(self, key: str, reply_id: str | None, status: str) -> None:
        with self.db:
            self.db.execute("UPDATE messages SET stage = 'replied', reply_id = ?, reply_status = ? WHERE key = ?",
                            (reply_id, status, key))

    def sent_files(self, key: str, files: list[tuple[str, str]]) -> None:
        """The (digest, name) of each file the reply to message *key* carried."""
        with self.db:
            self.db.executemany("INSERT OR IGNORE INTO sent (key, sha256, name) VALUES (?,?,?)",
                                [(key, sha256, name) for sha256, name in files])

    def reply_status(self, key: str, status: str) -> None:
        with self.db:
            self.db.execute("UPDATE messages SET reply_status = ? WHERE key = ?", (status, key))

    def not_on_desk(self) -> list[Row]:
        """Decided messages (answered or held) the desk has not been told about yet."""
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM messages WHERE on_desk = 0 AND outcome IN "
                               "('answer', 'notice', 'held') ORDER BY sent, key")
        return [_row(r) for r in rows]

    def put_on_desk(self, key: str) -> None:
        with self.db:
            self.db.execute("UPDATE messages SET on_desk = 1 WHERE key = ?", (key,))

    def filed(self, keys: list[str], held_in: str | None = None) -> None:
        """Filed on the server: held messages in *held_in* ("" flagged where they are), the others where
        answered mail goes (their held_in, and where they were placed, forgotten)."""
        with self.db:
            self.db.executemany("UPDATE messages SET stage = 'filed', held_in = ? WHERE key = ?",
                                [(held_in, k) for k in keys])
            if held_in is None:
                self.db.executemany("DELETE FROM placed WHERE key = ?", [(k,) for k in keys])

    def place(self, key: str, folder: str, uidvalidity: int, uid: int) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO placed (key, folder, uidvalidity, uid) VALUES (?,?,?,?)",
                            (key, folder, uidvalidity, uid))

    def placed(self, key: str) -> tuple[str, int, int] | None:
        row = self.db.execute("SELECT folder, uidvalidity, uid FROM placed WHERE key = ?", (key,)).fetchone()
        return (row[0], int(row[1]), int(row[2])) if row else None

    def uids_of(self, folder: str, uidvalidity: int, keys: set[str]) -> dict[int, str]:
        return {uid: key for uid, key in self.known_uids(folder, uidvalidity).items() if key in keys}
