"""The audit's memory: an SQLite database (``history.sqlite``) in the output folder.

Tables
  runs         one row per audit round; ``finished`` stays NULL until every output is written,
               so an interrupted round is resumed (same id) by the next ``xltool audit``.
  results      the check result of a file *content* under a rules configuration
               (sha256, rules_key) → status, identity header and body (findings, values).
               A file whose bytes and rules did not change is never checked twice.
  submissions  every file seen in every round: source path, sha256, size, mtime, when it
               was seen, unit, template version, status, findings (JSON), reused or checked.
  rounds       per finished round and unit: the workbook kept and its findings (keys and
               severities); the next round compares against it (fixed / new / still open).
  outputs      a stamp per per-unit output file, so a rerun does not rewrite what is current.
  reports      per round and unit, a report the round changed after the check (findings across
               a Word report or against last year); the outputs read it back from here
               (xltool.audit.reportstore). Only the latest round's are kept.
  units        per round, each unit's outcome in the round's order (xltool.audit.unitstore):
               the outputs, the mail and the desk read the units back from here, a few at a
               time, instead of the round holding them. Only the latest round's are kept.

Results are committed in small groups (``COMMIT_GROUP`` results, or ``COMMIT_EVERY`` seconds,
whichever comes first; WAL journal): killing the audit loses at most that last group, which the
next run checks again. A commit per result cost the parent process more than a third of a millisecond per
workbook, time the workers on a two-core machine need.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

DB_NAME = "history.sqlite"
SCHEMA_VERSION = "1"
COMMIT_EVERY = 0.5  # seconds
COMMIT_GROUP = 16  # results
NOT_REUSED = frozenset({"internal_error", "changed"})  # results that a later run checks again

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    finished TEXT,
    rules_key TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS results (
    sha256 TEXT NOT NULL,
    rules_key TEXT NOT NULL,
    status TEXT NOT NULL,
    header TEXT NOT NULL,
    body TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    PRIMARY KEY (sha256, rules_key)
);
CREATE TABLE IF NOT EXISTS submissions (
    run_id INTEGER NOT NULL,
    source TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    seen_at TEXT NOT NULL,
    unit TEXT,
    unit_code TEXT,
    template_version TEXT,
    status TEXT NOT NULL,
    findings TEXT NOT NULL,
    reused INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, source, sha256)
);
CREATE TABLE IF NOT EXISTS rounds (
    run_id INTEGER NOT NULL,
    unit_key TEXT NOT NULL,
    unit TEXT,
    unit_code TEXT,
    source TEXT,
    sha256 TEXT,
    rules_key TEXT,
    status TEXT NOT NULL,
    findings TEXT NOT NULL,
    PRIMARY KEY (run_id, unit_key)
);
CREATE TABLE IF NOT EXISTS outputs (path TEXT PRIMARY KEY, stamp TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reports (
    run_id INTEGER NOT NULL,
    unit_key TEXT NOT NULL,
    report TEXT NOT NULL,
    PRIMARY KEY (run_id, unit_key)
);
CREATE TABLE IF NOT EXISTS units (
    run_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    unit_key TEXT NOT NULL,
    record BLOB NOT NULL,
    PRIMARY KEY (run_id, position),
    UNIQUE (run_id, unit_key)
);
"""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Stored:
    """A check result as stored: status, small identity header, full body (JSON text)."""

    sha256: str
    status: str
    header: dict
    body: str


class History:
    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly:
            self.db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
            self.db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
            self.db.commit()
        self._last_commit = time.monotonic()
        self._pending = 0

    def close(self) -> None:
        """Commit what is pending and close; a commit that fails (disk full, read-only) is
        rolled back, leaving the database as of the last successful commit."""
        try:
            self.db.commit()
        except sqlite3.Error:
            try:
                self.db.rollback()
            except sqlite3.Error:
                pass
            raise
        finally:
            self.db.close()

    def commit(self) -> None:
        self.db.commit()
        self._last_commit, self._pending = time.monotonic(), 0

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- rounds -------------------------------------------------------------------------

    def open_run(self, rules_key: str, options: dict) -> tuple[int, bool]:
        """(run id, resumed): the unfinished round if there is one, else a new round.

        A round resumed under different rules or inputs starts over (same id): its earlier
        submissions are dropped, the cached results stay.
        """
        row = self.db.execute("SELECT id, rules_key, options FROM runs WHERE finished IS NULL ORDER BY id DESC LIMIT 1").fetchone()
        text = json.dumps(options, ensure_ascii=False, sort_keys=True)
        if row is not None:
            run_id, old_key, old_options = row
            if old_key != rules_key or old_options != text:
                self.db.execute("DELETE FROM submissions WHERE run_id = ?", (run_id,))
                self.db.execute("UPDATE runs SET rules_key = ?, options = ? WHERE id = ?", (rules_key, text, run_id))
                self.db.commit()
            return run_id, True
        cur = self.db.execute("INSERT INTO runs(started, rules_key, options) VALUES (?, ?, ?)", (now(), rules_key, text))
        self.db.commit()
        return int(cur.lastrowid), False

    def finish_run(self, run_id: int) -> None:
        self.db.execute("UPDATE runs SET finished = ? WHERE id = ?", (now(), run_id))
        self.db.commit()

    def previous_run(self, run_id: int) -> int | None:
        """The last finished round before *run_id*."""
        row = self.db.execute("SELECT id FROM runs WHERE finished IS NOT NULL AND id < ? ORDER BY id DESC LIMIT 1",
                              (run_id,)).fetchone()
        return row[0] if row else None

    def last_finished_run(self) -> int | None:
        row = self.db.execute("SELECT id FROM runs WHERE finished IS NOT NULL ORDER BY id DESC LIMIT 1").fetchone()
        return row[0] if row else None

    # -- results and submissions ----------------------------------------------------------

    def seen(self, run_id: int) -> set[tuple[str, str]]:
        """(source, sha256) of the submissions already recorded in this round."""
        return set(self.db.execute("SELECT source, sha256 FROM submissions WHERE run_id = ?", (run_id,)))

    def cached(self, sha256: str, rules_key: str) -> Stored | None:
        """A stored result to reuse instead of checking again (never one that says the file
        could not be checked properly: an internal error, or bytes that changed meanwhile)."""
        stored = self.result(sha256, rules_key)
        if stored is not None and stored.header.get("reason") in NOT_REUSED:
            return None
        return stored

    def result(self, sha256: str, rules_key: str) -> Stored | None:
        """The stored result of a content under a rules configuration, whatever it is."""
        if not sha256:
            return None
        row = self.db.execute("SELECT status, header, body FROM results WHERE sha256 = ? AND rules_key = ?",
                              (sha256, rules_key)).fetchone()
        if row is None:
            return None
        return Stored(sha256=sha256, status=row[0], header=json.loads(row[1]), body=row[2])

    def header(self, sha256: str, rules_key: str) -> dict | None:
        """The identity header of a stored result (its status under "_status"), without its body."""
        row = self.db.execute("SELECT status, header FROM results WHERE sha256 = ? AND rules_key = ?",
                              (sha256, rules_key)).fetchone() if sha256 else None
        if row is None:
            return None
        header = json.loads(row[1])
        header["_status"] = row[0]
        return header

    def body(self, sha256: str, rules_key: str) -> str | None:
        """The body (JSON text) of a stored result, read when a unit's turn comes."""
        row = self.db.execute("SELECT body FROM results WHERE sha256 = ? AND rules_key = ?",
                              (sha256, rules_key)).fetchone() if sha256 else None
        return row[0] if row else None

    def record(self, run_id: int, rules_key: str, *, source: str, sha256: str, size: int, mtime: float,
               stored: Stored, reused: bool) -> None:
        """Store a result (when new) and this round's submission of it; commit a group of
        ``COMMIT_GROUP`` results, or whatever is pending once the last commit is ``COMMIT_EVERY`` s old."""
        header = stored.header
        if not reused and sha256:
            self.db.execute(
                "INSERT OR REPLACE INTO results(sha256, rules_key, status, header, body, checked_at) VALUES (?,?,?,?,?,?)",
                (sha256, rules_key, stored.status, json.dumps(header, ensure_ascii=False), stored.body, now()),
            )
        self.db.execute(
            "INSERT OR REPLACE INTO submissions(run_id, source, sha256, size, mtime, seen_at, unit, unit_code, "
            "template_version, status, findings, reused) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (run_id, source, sha256, size, mtime, now(), header.get("unit"), header.get("unit_code"),
             header.get("template_version"), stored.status, json.dumps(header.get("findings", []), ensure_ascii=False),
             int(reused)),
        )
        self._pending += 1
        if self._pending >= COMMIT_GROUP or time.monotonic() - self._last_commit >= COMMIT_EVERY:
            self.commit()

    def remember(self, rules_key: str, stored: Stored) -> None:
        """Keep a result checked outside a round (the mail intake checks a file before it lets it
        into one), so the round that takes the file reuses it instead of checking it again."""
        self.db.execute(
            "INSERT OR REPLACE INTO results(sha256, rules_key, status, header, body, checked_at) VALUES (?,?,?,?,?,?)",
            (stored.sha256, rules_key, stored.status, json.dumps(stored.header, ensure_ascii=False), stored.body,
             now()),
        )
        self._pending += 1

    def submissions(self, run_id: int) -> Iterator[tuple[str, str, int, float, str]]:
        """(source, sha256, size, mtime, status) of this round's submissions."""
        yield from self.db.execute("SELECT source, sha256, size, mtime, status FROM submissions WHERE run_id = ?",
                                   (run_id,))


    # -- rounds' per-unit outcome ----------------------------------------------------------

    def save_round(self, run_id: int, rows: Iterable[dict]) -> None:
        self.clear_round(run_id)
        for row in rows:
            self.add_round_row(run_id, row)
        self.db.commit()

    def clear_round(self, run_id: int) -> None:
        self.db.execute("DELETE FROM rounds WHERE run_id = ?", (run_id,))

    def add_round_row(self, run_id: int, row: dict) -> None:
        """One unit's row of the round (committed with the round's next commit)."""
        self.db.execute(
            "INSERT OR REPLACE INTO rounds(run_id, unit_key, unit, unit_code, source, sha256, rules_key, status, "
            "findings) VALUES (:run_id, :unit_key, :unit, :unit_code, :source, :sha256, :rules_key, :status, :findings)",
            {**row, "run_id": run_id},
        )

    def round_unit(self, run_id: int, unit_key: str) -> dict | None:
        """{unit, unit_code, source, sha256, rules_key, status, findings (list)} of one unit of a
        round (None: not in that round)."""
        row = self.db.execute("SELECT unit, unit_code, source, sha256, rules_key, status, findings FROM rounds "
                              "WHERE run_id = ? AND unit_key = ?", (run_id, unit_key)).fetchone()
        if row is None:
            return None
        return {"unit": row[0], "unit_code": row[1], "source": row[2], "sha256": row[3], "rules_key": row[4],
                "status": row[5], "findings": json.loads(row[6])}

    def round(self, run_id: int) -> dict[str, dict]:
        """unit_key → {unit, unit_code, source, sha256, rules_key, status, findings (list)} of a round."""
        out = {}
        for row in self.db.execute(
            "SELECT unit_key, unit, unit_code, source, sha256, rules_key, status, findings FROM rounds WHERE run_id = ?",
            (run_id,),
        ):
            out[row[0]] = {"unit": row[1], "unit_code": row[2], "source": row[3], "sha256": row[4],
                           "rules_key": row[5], "status": row[6], "findings": json.loads(row[7])}
        return out

    def clear_reports(self, run_id: int) -> None:
        """Forget the reports the round saved before (it is about to save them again) and those of
        earlier rounds."""
        self.db.execute("DELETE FROM reports")
        self.commit()

    def save_report(self, run_id: int, unit_key: str, text: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO reports(run_id, unit_key, report) VALUES (?, ?, ?)",
                        (run_id, unit_key, text))
        self._pending += 1

    # -- per-unit output stamps -----------------------------------------------------------------

    def output_stamp(self, path: str) -> str | None:
        row = self.db.execute("SELECT stamp FROM outputs WHERE path = ?", (path,)).fetchone()
        return row[0] if row else None

    def set_output_stamp(self, path: str, stamp: str, *, commit: bool = True) -> None:
        """Remember what *path* was written from; without *commit*, the caller commits (a stamp
        lost to a crash only makes the next run write that file again)."""
        self.db.execute("INSERT OR REPLACE INTO outputs(path, stamp) VALUES (?, ?)", (path, stamp))
        if commit:
            self.commit()

    def forget_outputs(self, paths: Iterable[str]) -> None:
        self.db.executemany("DELETE FROM outputs WHERE path = ?", [(p,) for p in paths])
        self.db.commit()
