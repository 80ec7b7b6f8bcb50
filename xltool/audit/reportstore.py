"""Where a round's per-unit reports are read back from: the history database.

The round keeps no unit's report in memory (``UnitResult.stash``): a report the checks left
as they were is the stored result's body (``results``), one the round changed (findings
across a Word report, or against last year) is saved in ``reports`` under the round. Every
reader (the outputs, the summary worker, the mail, the web desk after the round) loads one
report at a time, through its own read-only connection when the round's is closed.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from xltool.audit.reportcodec import report_from_dict, report_from_json


READ_CACHE_KIB = 512  # page cache of a reading connection: it reads each row once


def reader(path: Path) -> sqlite3.Connection:
    """A read-only connection to the round's database with a small page cache."""
    db = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    db.execute(f"PRAGMA cache_size = -{READ_CACHE_KIB}")
    return db


class RoundReader:
    """Reads the round's database: through the round's own connection while it is open (it sees
    what the round wrote), else through a read-only connection of this process's own."""

    def __init__(self, db_path: Path, db: sqlite3.Connection | None = None) -> None:
        self.path = Path(db_path)
        self.db = db
        self._own: tuple[int, sqlite3.Connection] | None = None

    def __getstate__(self) -> dict:
        # Sent to a worker: it opens its own connection.
        return {**self.__dict__, "db": None, "_own": None}

    def detach(self) -> None:
        """The round's connection is closing: read through a connection of this reader's own."""
        self.db = None

    def _connection(self) -> sqlite3.Connection:
        if self.db is not None:
            return self.db
        if self._own is None or self._own[0] != os.getpid():
            self._own = (os.getpid(), reader(self.path))
        return self._own[1]

    def close(self) -> None:
        if self._own is not None and self._own[0] == os.getpid():
            self._own[1].close()
        self._own = None


class ReportStore(RoundReader):
    def __init__(self, db_path: Path, rules_key: str, run_id: int, db: sqlite3.Connection | None = None) -> None:
        super().__init__(db_path, db)
        self.rules_key = rules_key
        self.run_id = run_id

    def load(self, unit):
        """The report of *unit* (a UnitResult whose report was stashed here), a fresh copy."""
        db = self._connection()
        row = db.execute("SELECT report FROM reports WHERE run_id = ? AND unit_key = ?",
                         (self.run_id, unit.key)).fetchone()
        if row is not None:
            report = report_from_json(row[0])
        else:
            row = db.execute("SELECT body FROM results WHERE sha256 = ? AND rules_key = ?",
                             (unit.submission.sha256, self.rules_key)).fetchone()
            if row is None:
                raise LookupError(f"no stored report for {unit.key}")
            report = report_from_dict(json.loads(row[0]).get("report", {}))
        report.path = unit.submission.source  # what the bureau knows the file by
        return report
