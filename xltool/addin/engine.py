"""检查本表 without Excel: payload → Book → the same reader and checker → marking plan.

Nothing here imports xlwings; both deployments call ``check_payload`` and then apply
``Outcome.plan`` with their own writer (``remote`` for xlwings Server, ``classic`` for COM).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xltool.addin.plan import MarkPlan, build_plan, previous_marked_cells
from xltool.check.checker import check_result, sort_findings
from xltool.check.finding import Finding
from xltool.form.scoring import ScoringConfig
from xltool.i18n import _
from xltool.read.book import Book
from xltool.read.payload import SOURCE_BY_LAYOUT, book_from_payload
from xltool.read.reader import NotOurWorkbook, ReadResult, read_book
from xltool.read.safety import UnreadableWorkbook
from xltool.template.audit_sheet import ADDIN_COLUMNS, ADDIN_ROWS, AUDIT_SHEET, FIRST_ROW

OK, NOT_OURS, UNREADABLE = "ok", "not_ours", "unreadable"
LIST_LIMIT = 200  # findings echoed to the task pane


@dataclass
class Outcome:
    status: str  # ok / not_ours / unreadable
    message: str
    plan: MarkPlan | None = None
    result: ReadResult | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return self.plan.findings if self.plan else []

    def summary(self, notes_written: bool | None = None) -> dict[str, object]:
        """What the task pane shows (JSON-ready)."""
        out: dict[str, object] = {"status": self.status, "message": self.message, "notices": list(self.notices)}
        if self.plan is not None:
            values = self.result.values if self.result else {}
            out.update(
                errors=self.plan.errors, warnings=self.plan.warnings,
                unit=str(values.get("info_unit_name") or ""), year=self.result.form.year if self.result else None,
                marked_cells=len(self.plan.marks), notes=notes_written,
                findings=[{"n": n, "code": f.code, "severity": f.severity.value, "level": f.severity.label,
                           "cells": [f"{c.sheet}!{c.cell}" for c in f.cells[:6]], "message": f.message, "fix": f.fix}
                          for n, f in enumerate(self.plan.findings[:LIST_LIMIT], start=1)],
                more=max(0, len(self.plan.findings) - LIST_LIMIT),
            )
        return out


def verdict(errors: int, warnings: int) -> str:
    if not errors and not warnings:
        return _("No findings: the workbook passes the review.")
    return _("Must fix: {errors}; needs explanation: {warnings}. The cells are marked and the list is on the 审核 sheet "
             "from column K.").format(errors=errors, warnings=warnings)


def _previous(book: Book) -> set[tuple[str, str]]:
    sheet = book.sheets.get(AUDIT_SHEET)
    if sheet is None:
        return set()
    col = ADDIN_COLUMNS[2]  # 单元格
    return previous_marked_cells(sheet.get(f"{col}{row}").value for row in range(FIRST_ROW, FIRST_ROW + ADDIN_ROWS))


def check_book(book: Book, cfg: ScoringConfig | None = None) -> Outcome:
    """Read *book* (values only), run the catalogue, and plan the marks."""
    try:
        result = read_book(book, cfg=cfg)
    except NotOurWorkbook as exc:
        return Outcome(NOT_OURS, exc.message)
    findings = sort_findings(check_result(result))
    plan = build_plan(result.form, findings, previous=_previous(book))
    outcome = Outcome(OK, verdict(plan.errors, plan.warnings), plan=plan, result=result)
    if book.source == SOURCE_BY_LAYOUT:
        outcome.notices.append(_(
            "The add-in did not send the template's identification sheet; the workbook was recognised from its sheets "
            "and year {year}, and scoring settings other than the weights are the defaults."
        ).format(year=result.form.year))
    return outcome


def check_payload(payload: dict, cfg: ScoringConfig | None = None) -> Outcome:
    try:
        book = book_from_payload(payload)
    except NotOurWorkbook as exc:
        return Outcome(NOT_OURS, exc.message)
    except UnreadableWorkbook as exc:
        return Outcome(UNREADABLE, exc.message)
    return check_book(book, cfg)
