"""Findings: what a rule reports. Plain data that renders as a table, JSON or xlsx.

Records (xltool.record), not pydantic models: every check builds them and the check path should not
pay pydantic's import and class building (issue 20). ``to_dict``/``from_dict`` are the JSON
shape (the same as ``check-workbook --format json``, the history database and worker messages).
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any, Literal

from xltool.plaindata import plain
from xltool.record import field, fields, record

Confidence = Literal["high", "medium", "low"]


class Severity(str, Enum):
    """Two levels, as in 久其 审核公式: must fix before submission, or explain in writing."""

    ERROR = "error"  # 必须修改
    WARNING = "warning"  # 需要说明

    @property
    def label(self) -> str:
        from xltool.i18n import _

        return _("Must fix") if self is Severity.ERROR else _("Needs explanation")


def doc(text: str, **kw: Any) -> Any:
    """A field with its description (``xltool schema`` shows it)."""
    return field(metadata={"description": text}, **kw)


def _figure(value: object) -> float | str | None:
    """A figure as JSON states it: a whole number read as a float (as the models always did)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value  # type: ignore[return-value]


class Record:
    """Serialisation shared by the findings' records: to and from the JSON shape."""

    __slots__ = ()

    def to_dict(self, exclude: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
        return {f.name: plain(getattr(self, f.name)) for f in fields(self)  # type: ignore[arg-type]
                if f.name not in exclude}

    def to_json(self, indent: int | None = None) -> str:
        return dumps(self.to_dict(), indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]):  # unknown keys ignored, as a newer writer may add some
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def from_json(cls, text: str | bytes):
        return cls.from_dict(json.loads(text))

    def replace(self, **changes: Any):
        """A copy with *changes*, taken as given (no coercion, as pydantic's model_copy did)."""
        new = object.__new__(type(self))
        for f in fields(self):  # type: ignore[arg-type]
            object.__setattr__(new, f.name, changes[f.name] if f.name in changes else getattr(self, f.name))
        return new


def dumps(data: object, indent: int | None = None) -> str:
    """Compact JSON (or indented), non-ASCII kept: the bytes the JSON output always had."""
    return json.dumps(data, ensure_ascii=False, indent=indent, separators=None if indent else (",", ":"))


@record(frozen=False, slots=True, kw_only=True)
class CellRef(Record):
    """One figure involved in a finding: where it is and what it holds."""

    field_id: str | None = None
    sheet: str
    cell: str
    label: str
    value: float | str | None = None
    where: str | None = doc("where a Word report states the figure, e.g. 第二部分第3段", default=None)
    kind: str = doc("how the value reads: amount, rate, integer, number, year, text", default="")

    def __post_init__(self) -> None:
        self.value = _figure(self.value)

    @property
    def text(self) -> str:
        """The value as a person reads it (2,450.21, 97.58%, 2023)."""
        from xltool.numbers import fmt_kind

        return fmt_kind(self.kind, self.value)


@record(frozen=False, slots=True, kw_only=True)
class Finding(Record):
    code: str = doc("stable rule code, e.g. XT101")
    severity: Severity
    message: str = doc("Chinese sentence: what is wrong")
    fix: str = doc("Chinese sentence: what to do", default="")
    cells: list[CellRef] = field(default_factory=list)
    expected: float | str | None = None
    actual: float | str | None = None
    difference: float | None = None
    kind: str = doc("how expected, actual and difference read: amount, rate, number, year, count (whole "
                    "entries, e.g. XT608 3 of 5)", default="amount")
    attribution: list[str] = doc("rows that account for a difference", default_factory=list)
    instance: str = doc("stable key of the rule instance within the workbook", default="")
    confidence: Confidence = doc(
        "how sure the finding is: high when it rests on figures as typed in their cells; medium when "
        "it rests on something read (a figure found in a report's narrative, an indicator value written "
        "as text, a 定性 judgement worded otherwise than 达成/部分达成/未达成); low when a guess", default="high")
    basis: list[str] = doc("what was read, where confidence is not high", default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.severity, Severity):
            self.severity = Severity(self.severity)
        self.cells = [c if isinstance(c, CellRef) else CellRef.from_dict(c) for c in self.cells]
        self.expected, self.actual = _figure(self.expected), _figure(self.actual)
        self.difference = _figure(self.difference)  # type: ignore[assignment]
        if self.confidence not in ("high", "medium", "low"):
            raise ValueError(f"confidence: {self.confidence!r}")

    @property
    def key(self) -> str:
        return f"{self.code}:{self.instance}"

    @property
    def confidence_text(self) -> str:
        """'' when the finding rests on figures as typed; else how sure it is and why (Chinese)."""
        from xltool.i18n import _

        if self.confidence == "high":
            return ""
        level = _("medium") if self.confidence == "medium" else _("low")
        return _("Confidence {level}: {basis}").format(level=level, basis="；".join(self.basis) or "—")

    @property
    def difference_text(self) -> str:
        """The signed difference as the message states it (one formatter for both)."""
        from xltool.numbers import fmt_kind

        return fmt_kind(self.kind, self.difference)

    @property
    def expected_text(self) -> str:
        from xltool.numbers import fmt_kind

        return fmt_kind(self.kind, self.expected)

    @property
    def actual_text(self) -> str:
        from xltool.numbers import fmt_kind

        return fmt_kind(self.kind, self.actual)


@record(frozen=False, slots=True, kw_only=True)
class FamilyRun(Record):
    family: str = doc("family key: integrity, entries, totals, pairs, flows, execution, ratios, "
                      "scoring, policy, plausibility")
    title: str = doc("the family's name (Chinese)")
    status: Literal["ran", "partial", "skipped"] = doc(
        "ran: the family's rules judged the figures there are; partial: some could not (a sheet "
        "missing, a Word report); skipped: none did. Rules not applicable to the form or turned off "
        "by the settings are listed apart (not_in_form, off)")
    checks: int = doc("rule instances the form pack gives the family", default=0)
    judged: int = doc("of those, instances that had figures to judge", default=0)
    reasons: list[str] = doc("why rules of the family did not run (Chinese)", default_factory=list)
    not_in_form: list[str] = doc("rules of the family the form pack has no figures for (not applicable)",
                                 default_factory=list)
    off: list[str] = doc("rules of the family the scoring settings turn off, each with its setting",
                         default_factory=list)

    def __post_init__(self) -> None:
        if self.status not in ("ran", "partial", "skipped"):
            raise ValueError(f"status: {self.status!r}")


@record(frozen=False, slots=True, kw_only=True)
class Coverage(Record):
    families: list[FamilyRun] = field(default_factory=list)
    notes: list[str] = doc("what else was not judged, and why (Chinese)", default_factory=list)

    def __post_init__(self) -> None:
        self.families = [f if isinstance(f, FamilyRun) else FamilyRun.from_dict(f) for f in self.families]

    @property
    def skipped(self) -> list[FamilyRun]:
        return [f for f in self.families if f.status != "ran"]


_PLAIN = ("unit", "unit_code", "contact_name")


@record(frozen=False, slots=True, kw_only=True, weakref_slot=True)  # the audit tests follow reports by weak reference
class WorkbookReport(Record):
    """The result of checking one workbook: identity facts plus findings."""

    path: str
    sha256: str = ""
    unit: str | None = None
    unit_code: str | None = None
    year: int | None = None
    template_version: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    findings: list[Finding] = field(default_factory=list)
    unplaced: list[str] = doc("figures of a Word report not placed on a field", default_factory=list)
    coverage: Coverage | None = doc("which rule families ran, and why others did not", default=None)

    def __post_init__(self) -> None:
        # The unit's own words become titles (pages, 问题清单, mail): no bidi or control characters.
        for name in _PLAIN:
            value = getattr(self, name)
            if isinstance(value, str):
                from xltool.plaintext import plain_or_none

                setattr(self, name, plain_or_none(value))
        if isinstance(self.year, float) and self.year.is_integer():
            self.year = int(self.year)
        self.findings = [f if isinstance(f, Finding) else Finding.from_dict(f) for f in self.findings]
        if isinstance(self.coverage, dict):
            self.coverage = Coverage.from_dict(self.coverage)

    @property
    def errors(self) -> int:
        return sum(f.severity is Severity.ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity is Severity.WARNING for f in self.findings)
