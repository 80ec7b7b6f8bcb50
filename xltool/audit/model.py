"""The outcome of an audit round, as the outputs (summary workbook, CSV, mail) consume it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from xltool.check.finding import WorkbookReport
from xltool.i18n import _


def N_(message: str) -> str:
    """Mark a msgid for extraction (gettext_noop); it is translated by _() where it is shown."""
    return message


# Key figures of the 汇总 sheet: (field id, label msgid, kind)
KEY_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("eval_budget_full", N_("Full-year budget (全年预算数)"), "amount"),
    ("eval_exec", N_("Full-year spending (全年执行数)"), "amount"),
    ("eval_exec_rate", N_("Execution rate (执行率)"), "rate"),
    ("base_sgjf_final", N_("Three public expenses (三公经费)"), "amount"),
    ("eval_total_score", N_("Total score (总分)"), "number"),
)


class Status(str, Enum):
    PASSED = "passed"  # 通过: no findings
    EXPLAIN = "explain"  # 需说明: only 需要说明 findings
    FIX = "fix"  # 需修改: at least one 必须修改 finding
    BLANK = "blank"  # 未填写: the unit returned its template with nothing typed in it
    UNREADABLE = "unreadable"  # 无法读取: the unit's only file(s) could not be read (or were a PDF, a photo, ...)

    @property
    def label(self) -> str:
        return {
            Status.PASSED: _("Passed"),
            Status.EXPLAIN: _("Explanation needed"),
            Status.FIX: _("Must be fixed"),
            Status.BLANK: _("Not filled in"),
            Status.UNREADABLE: _("Unreadable"),
        }[self]


class AnomalyKind(str, Enum):
    UNREADABLE = "unreadable"
    NOT_OURS = "not_ours"
    DUPLICATE = "duplicate"
    NOT_ON_ROSTER = "not_on_roster"
    REJECTED = "rejected"  # refused before checking (archive member, missing input)
    NOT_AUDITED = "not_audited"  # not a workbook: a PDF, a photo, a .doc, a CSV, a RAR archive ...

    @property
    def label(self) -> str:
        return {
            AnomalyKind.UNREADABLE: _("Cannot be read"),
            AnomalyKind.NOT_OURS: _("Not the self-evaluation template"),
            AnomalyKind.DUPLICATE: _("Duplicate submission (set aside)"),
            AnomalyKind.NOT_ON_ROSTER: _("Unit not on the roster"),
            AnomalyKind.REJECTED: _("Not checked"),
            AnomalyKind.NOT_AUDITED: _("Not a workbook"),
        }[self]

    @property
    def unread(self) -> bool:
        """A file whose content did not reach the checks (the others were checked, or only noted)."""
        return self in (AnomalyKind.UNREADABLE, AnomalyKind.NOT_OURS, AnomalyKind.REJECTED, AnomalyKind.NOT_AUDITED)


@dataclass
class Submission:
    """One file of this round with its check result (from the history database)."""

    source: str
    sha256: str
    size: int
    mtime: float
    status: str  # "ok" or "unreadable"
    header: dict
    body: dict | None = None  # {"report": ..., "values": ...} for readable files
    path: Path | None = None  # where the file is now (for the annotated copy)

    @property
    def name(self) -> str:
        return self.source.rsplit("!", 1)[-1].replace("\\", "/").rsplit("/", 1)[-1]

    @property
    def readable(self) -> bool:
        return self.status == "ok"

    @property
    def blank(self) -> bool:
        """A template returned with nothing typed in it (see Form.typed_inputs)."""
        return self.readable and bool(self.header.get("blank"))


@dataclass
class Changes:
    fixed: list[dict] = field(default_factory=list)  # {"key", "severity", "message"}
    new: list[dict] = field(default_factory=list)
    still: list[dict] = field(default_factory=list)
    first: bool = False  # the unit has no earlier round to compare with

    def summary(self) -> str:
        if self.first:
            return _("first submission")
        return _("fixed {fixed}, new {new}, still open {still}").format(
            fixed=len(self.fixed), new=len(self.new), still=len(self.still))


@dataclass
class UnitResult:
    key: str
    unit: str
    code: str
    email: str = ""
    department: str = ""
    on_roster: bool = False
    status: Status = Status.PASSED
    submission: Submission | None = None
    report: WorkbookReport | None = None
    values: dict = field(default_factory=dict)
    errors: int = 0
    warnings: int = 0
    changes: Changes | None = None
    outputs: list[Path] = field(default_factory=list)
    note: str = ""  # e.g. why the unit is 无法读取
    reports: list[Submission] = field(default_factory=list)  # Word reports sent beside the kept workbook
    finding_keys: list[dict] | None = None  # {"key", "severity", "message"} of the report's findings

    @property
    def has_report(self) -> bool:
        """The unit's readable workbook was checked (its report is in memory or in the store)."""
        return self.__dict__.get("_report") is not None or self.__dict__.get("_stored") is not None

    def stash(self, store) -> None:
        """The unit's report is in *store* (an object with ``load(unit)``, e.g. the round's history
        database): let go of any copy in memory; from now on ``report`` reads it back from there
        each time it is asked for, so a round of thousands of units never holds their reports."""
        self.__dict__["_report"], self.__dict__["_stored"] = None, store

    @property
    def folder_name(self) -> str:
        """units/<code or name>: one safe path component (see xltool.safenames) for this
        unit's outputs; the round makes it unique among the units."""
        from xltool.safenames import component

        # A blank template has neither code nor name: fall back on the file's stem, never on a
        # name ending in .xlsx (the clean-up of stale outputs globs for *.xlsx).
        text = self.code or self.unit or (Path(self.submission.name).stem if self.submission else self.key)
        return component(text, fallback="unit", max_length=60)


def _get_report(self: UnitResult) -> WorkbookReport | None:
    report = self.__dict__.get("_report")
    if report is not None:
        return report
    store = self.__dict__.get("_stored")
    return store.load(self) if store is not None else None  # a fresh copy: changes to it are not kept


def _set_report(self: UnitResult, report: WorkbookReport | None) -> None:
    self.__dict__["_report"], self.__dict__["_stored"] = report, None


# ``report`` stays a dataclass field (UnitResult(report=...) as before), read through the store once stashed.
UnitResult.report = property(_get_report, _set_report)  # type: ignore[assignment]


@dataclass
class Anomaly:
    source: str
    kind: AnomalyKind
    message: str
    unit: str = ""  # the unit the file belongs to or seems to belong to
    code: str = ""
    kept: str = ""  # for duplicates: the file that was kept


@dataclass
class AuditOutcome:
    run_id: int
    year: int | None
    units: list[UnitResult]
    not_submitted: list  # RosterUnit
    anomalies: list[Anomaly]
    previous_run: int | None = None
    files: int = 0
    checked: int = 0  # checked in this invocation (not reused)
    reused: int = 0
    seconds: float = 0.0
    roster_problems: list[str] = field(default_factory=list)
    cross_year: str = ""  # what the comparison with last year did, for the summary line
    outputs: dict[str, Path] = field(default_factory=dict)
    mail: dict[str, int] = field(default_factory=dict)  # delivery status → units
    mail_error: str = ""  # the mail settings could not be used
    mail_note: str = ""  # e.g. where the messages wait when no server is set
    interrupted: bool = False
    dataset: tuple | None = field(default=None, repr=False)  # (ids, labels, rows), built once for xlsx and CSV
    clutter: int = 0  # lock files, Thumbs.db, macOS forks in the inputs: counted, not listed
    cross_counts: list[int] = field(default_factory=lambda: [0, 0])  # last year: [compared, without figures]
    store: object | None = field(default=None, repr=False, compare=False)  # where the units' reports are read back from

    def _stats(self) -> dict | None:
        stats = getattr(self.units, "stats", None)  # units kept in the database: counted in one walk
        return stats() if stats is not None else None

    def count(self, status: Status) -> int:
        stats = self._stats()
        if stats is not None:
            return stats["status"].get(status, 0)
        return sum(u.status is status for u in self.units)

    @property
    def unread_files(self) -> int:
        """Files whose content could not be checked (listed in 异常文件 with the reason)."""
        return sum(a.kind.unread for a in self.anomalies)

    @property
    def checked_files(self) -> int:
        """Files whose content reached the checks: every unit's kept file, blank ones included."""
        stats = self._stats()
        if stats is not None:
            return stats["checked"]
        return sum(u.submission is not None and u.submission.readable for u in self.units)

    @property
    def changes_total(self) -> tuple[int, int, int]:
        stats = self._stats()
        if stats is not None:
            return stats["changes"]
        fixed = sum(len(u.changes.fixed) for u in self.units if u.changes)
        new = sum(len(u.changes.new) for u in self.units if u.changes)
        still = sum(len(u.changes.still) for u in self.units if u.changes)
        return fixed, new, still

    @property
    def exit_code(self) -> int:
        """As check-workbook and check-report (see xltool.exitcodes): NOT_DONE when no file could be
        checked at all, SOME_UNREADABLE when some could not, FINDINGS when a unit must fix its
        workbook or returned it blank, else CLEAN."""
        from xltool.exitcodes import ExitCode

        if not self.checked_files:
            return ExitCode.NOT_DONE
        if self.unread_files:
            return ExitCode.SOME_UNREADABLE
        return ExitCode.FINDINGS if any(u.status in (Status.FIX, Status.BLANK) for u in self.units) else ExitCode.CLEAN
