"""Findings: what a rule reports. Plain data that renders as a table, JSON or xlsx."""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import BaseModel, Field, field_validator

Confidence = Literal["high", "medium", "low"]


class Severity(str, Enum):
    """Two levels, as in 久其 审核公式: must fix before submission, or explain in writing."""

    ERROR = "error"  # 必须修改
    WARNING = "warning"  # 需要说明

    @property
    def label(self) -> str:
        from xltool.i18n import _

        return _("Must fix") if self is Severity.ERROR else _("Needs explanation")


class CellRef(BaseModel):
    """One figure involved in a finding: where it is and what it holds."""

    field_id: str | None = None
    sheet: str
    cell: str
    label: str
    value: float | str | None = None
    where: str | None = Field(default=None, description="where a Word report states the figure, e.g. 第二部分第3段")
    kind: str = Field(default="", description="how the value reads: amount, rate, integer, number, year, text")

    @property
    def text(self) -> str:
        """The value as a person reads it (2,450.21, 97.58%, 2023)."""
        from xltool.numbers import fmt_kind

        return fmt_kind(self.kind, self.value)


class Finding(BaseModel):
    code: str = Field(description="stable rule code, e.g. XT101")
    severity: Severity
    message: str = Field(description="Chinese sentence: what is wrong")
    fix: str = Field(default="", description="Chinese sentence: what to do")
    cells: list[CellRef] = Field(default_factory=list)
    expected: float | str | None = None
    actual: float | str | None = None
    difference: float | None = None
    kind: str = Field(default="amount", description="how expected, actual and difference read: amount, rate, number, year")
    attribution: list[str] = Field(default_factory=list, description="rows that account for a difference")
    instance: str = Field(default="", description="stable key of the rule instance within the workbook")
    confidence: Confidence = Field(
        default="high",
        description="how sure the finding is: high when it rests on figures as typed in their cells; medium when "
                    "it rests on something read (a figure found in a report's narrative, an indicator value written "
                    "as text, a 定性 judgement worded otherwise than 达成/部分达成/未达成); low when a guess")
    basis: list[str] = Field(default_factory=list, description="what was read, where confidence is not high")

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


class FamilyRun(BaseModel):
    family: str = Field(description="family key: integrity, entries, totals, pairs, flows, execution, ratios, "
                                    "scoring, policy, plausibility")
    title: str = Field(description="the family's name (Chinese)")
    status: Literal["ran", "partial", "skipped"] = Field(
        description="ran: the family's rules judged the figures there are; partial: some could not (a sheet "
                    "missing, a Word report); skipped: none did. Rules not applicable to the form or turned off "
                    "by the settings are listed apart (not_in_form, off)")
    checks: int = Field(0, description="rule instances the form pack gives the family")
    judged: int = Field(0, description="of those, instances that had figures to judge")
    reasons: list[str] = Field(default_factory=list, description="why rules of the family did not run (Chinese)")
    not_in_form: list[str] = Field(default_factory=list,
                                   description="rules of the family the form pack has no figures for (not applicable)")
    off: list[str] = Field(default_factory=list,
                           description="rules of the family the scoring settings turn off, each with its setting")


class Coverage(BaseModel):
    families: list[FamilyRun] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="what else was not judged, and why (Chinese)")

    @property
    def skipped(self) -> list[FamilyRun]:
        return [f for f in self.families if f.status != "ran"]


class WorkbookReport(BaseModel):
    """The result of checking one workbook: identity facts plus findings."""

    path: str
    sha256: str = ""
    unit: str | None = None
    unit_code: str | None = None
    year: int | None = None
    template_version: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    findings: list[Finding] = Field(default_factory=list)
    unplaced: list[str] = Field(default_factory=list, description="figures of a Word report not placed on a field")
    coverage: Coverage | None = Field(default=None, description="which rule families ran, and why others did not")

    @field_validator("unit", "unit_code", "contact_name", mode="before")
    @classmethod
    def _shown_plain(cls, value: object) -> object:
        """The unit's own words become titles (pages, 问题清单, mail): no bidi or control characters."""
        from xltool.plaintext import plain_or_none

        return plain_or_none(value) if isinstance(value, str) else value

    @property
    def errors(self) -> int:
        return sum(f.severity is Severity.ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity is Severity.WARNING for f in self.findings)
