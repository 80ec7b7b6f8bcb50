"""The round's units, kept in the history database rather than in memory.

Once the round knows a unit's outcome (status, figures the summary shows, finding keys, changes
since the last round, note), the unit is written to the ``units`` table in its place in the
round's order, and ``AuditOutcome.units`` becomes a ``StoredUnits``: a sequence that reads the
units back a few at a time whenever it is walked. So the round holds no list of its units, the
summary worker is sent the database's name rather than every unit, and memory stays flat as the
batch grows. A unit read back is a fresh object each time: whoever changes one (the per-unit
outputs, the mail) writes it back with ``StoredUnits.update``.
"""

from __future__ import annotations

import marshal
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from xltool.audit.model import Changes, Status, Submission, UnitResult
from xltool.audit.reportstore import RoundReader

CHUNK = 64  # units read back per query: no cursor stays open while a reader writes units back


def _submission(s: Submission | None) -> tuple | None:
    if s is None:
        return None
    return (s.source, s.sha256, s.size, s.mtime, s.status, s.header, str(s.path) if s.path is not None else None)


def _from_submission(data: tuple | None) -> Submission | None:
    if data is None:
        return None
    source, sha, size, mtime, status, header, path = data
    return Submission(source=source, sha256=sha, size=size, mtime=mtime, status=status, header=header,
                      path=Path(path) if path is not None else None)


def encode(u: UnitResult) -> bytes:
    """The unit as the outputs read it (its report stays in the report store), as plain values."""
    if u.__dict__.get("_report") is not None:
        raise ValueError("a unit whose report is in memory is stashed before it is stored")
    changes = (u.changes.fixed, u.changes.new, u.changes.still, u.changes.first) if u.changes else None
    return marshal.dumps((
        u.key, u.unit, u.code, u.email, u.department, u.on_roster, u.status.value, _submission(u.submission),
        u.values, u.errors, u.warnings, changes, [str(p) for p in u.outputs], u.note,
        [_submission(r) for r in u.reports], u.finding_keys, u.__dict__.get("_stored") is not None,
    ))


def decode(data: bytes, reports) -> UnitResult:
    (key, unit, code, email, department, on_roster, status, submission, values, errors, warnings, changes, outputs,
     note, others, finding_keys, stored) = marshal.loads(data)
    u = UnitResult(key=key, unit=unit, code=code, email=email, department=department, on_roster=on_roster,
                   status=Status(status), submission=_from_submission(submission), values=values, errors=errors,
                   warnings=warnings, changes=Changes(*changes) if changes is not None else None,
                   outputs=[Path(p) for p in outputs], note=note,
                   reports=[_from_submission(r) for r in others], finding_keys=finding_keys)
    if stored:
        u.stash(reports)
    return u


def save_unit(db: sqlite3.Connection, run_id: int, position: int, unit: UnitResult) -> None:
    db.execute("INSERT OR REPLACE INTO units(run_id, position, unit_key, record) VALUES (?, ?, ?, ?)",
               (run_id, position, unit.key, encode(unit)))


def clear_units(db: sqlite3.Connection) -> None:
    """Forget the units stored before (the round is about to store its own; earlier rounds keep
    theirs in ``rounds``)."""
    db.execute("DELETE FROM units")


class StoredUnits(RoundReader, Sequence):
    """The units of round *run_id*, in order, read back from the database at *db_path*; *reports*:
    where their reports are read back from (``UnitResult.stash``)."""

    def __init__(self, db_path: Path, run_id: int, count: int, reports, db: sqlite3.Connection | None = None) -> None:
        super().__init__(db_path, db)
        self.run_id = run_id
        self.count = count
        self.reports = reports
        self._stats: dict | None = None

    def __len__(self) -> int:
        return self.count

    def stats(self) -> dict:
        """What the summary line counts over every unit (units by status, checked files, changes
        since the last round), in one walk, kept until a unit is written back."""
        if self._stats is None:
            by_status: dict = {}
            checked = fixed = new = still = 0
            for u in self:
                by_status[u.status] = by_status.get(u.status, 0) + 1
                checked += u.submission is not None and u.submission.readable
                if u.changes:
                    fixed, new, still = fixed + len(u.changes.fixed), new + len(u.changes.new), still + len(u.changes.still)
            self._stats = {"status": by_status, "checked": checked, "changes": (fixed, new, still)}
        return self._stats

    def __iter__(self) -> Iterator[UnitResult]:
        position = 0
        while position < self.count:
            rows = self._connection().execute(
                "SELECT record FROM units WHERE run_id = ? AND position >= ? ORDER BY position LIMIT ?",
                (self.run_id, position, CHUNK)).fetchall()
            if not rows:  # a later round in the same folder stored its own units
                raise LookupError(f"the units of round {self.run_id} are no longer stored")
            position += len(rows)
            for (record,) in rows:
                yield decode(record, self.reports)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.count))]
        if index < 0:
            index += self.count
        if not 0 <= index < self.count:
            raise IndexError(index)
        row = self._connection().execute("SELECT record FROM units WHERE run_id = ? AND position = ?",
                                         (self.run_id, index)).fetchone()
        if row is None:
            raise IndexError(index)
        return decode(row[0], self.reports)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StoredUnits):
            return (self.path, self.run_id, self.count) == (other.path, other.run_id, other.count)
        return isinstance(other, list) and list(self) == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"StoredUnits({self.path.name}, run {self.run_id}, {self.count} units)"

    def update(self, units: Iterable[UnitResult] | UnitResult) -> None:
        """Write changed units back in their places (through the round's connection)."""
        if self.db is None:
            raise RuntimeError("the round that stored these units is over")
        self._stats = None
        for unit in [units] if isinstance(units, UnitResult) else units:
            row = self.db.execute("SELECT position FROM units WHERE run_id = ? AND unit_key = ?",
                                  (self.run_id, unit.key)).fetchone()
            if row is None:
                raise KeyError(unit.key)
            save_unit(self.db, self.run_id, row[0], unit)
