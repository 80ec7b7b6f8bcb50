"""Deployment 2, the classic xlwings add-in: ``RunPython`` on a PC with Excel and Python.

VBA (see ``xltool addin init`` → ``xltool_classic.bas``)::

    Sub XltoolCheck()
        RunPython "from xltool.addin.classic import check_caller; check_caller()"
    End Sub

This talks to Excel through COM (xlwings core, BSD licence: no key needed). It reads the
same values the Office.js client sends, runs the same ``check_payload`` and applies the
same ``MarkPlan``; only the writing differs. It cannot be exercised without Excel, so it
stays thin: everything it decides comes from the plan.
"""

from __future__ import annotations

from datetime import datetime

from xltool.addin.engine import Outcome, check_payload
from xltool.addin.plan import MarkPlan
from xltool.form.selfeval import build_form
from xltool.i18n import _

_VISIBLE = {-1: "Visible", 0: "Hidden", 2: "VeryHidden"}  # XlSheetVisibility


def _rgb(colour: str | None) -> tuple[int, int, int] | None:
    if colour is None:
        return None
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def _value(value: object) -> object:
    if isinstance(value, datetime):  # as the Office.js and VBA clients send dates
        return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return "" if value is None else value


def payload_from_book(book) -> dict:
    """The payload an xlwings client would send for *book* (values of each used range)."""
    sheets = []
    for sheet in book.sheets:
        last = sheet.used_range.last_cell
        values = sheet.range((1, 1), (last.row, last.column)).options(ndim=2).value
        sheets.append({
            "name": sheet.name,
            "visibility": _VISIBLE.get(int(sheet.api.Visible), "Visible"),
            "values": [[_value(v) for v in row] for row in values],
        })
    return {"client": "COM", "version": "", "book": {"name": book.name, "active_sheet_index": 0}, "names": [],
            "sheets": sheets}


def _is_template(book) -> bool:
    titles = {s.title for s in build_form(2023).sheets}
    return titles <= {sheet.name for sheet in book.sheets}


def target_book(xw):
    """The calling workbook, or the active one when the macro lives in an add-in or PERSONAL.XLSB."""
    try:
        book = xw.Book.caller()
    except Exception:  # noqa: BLE001 - not called from Excel
        book = None
    if book is None or not _is_template(book):
        book = xw.books.active
    return book


def apply_com(book, plan: MarkPlan) -> int:
    """Apply *plan* through COM; returns the number of notes that could not be written."""
    sheets = {sheet.name: sheet for sheet in book.sheets}
    for block in plan.restore:
        if block.sheet in sheets:
            sheets[block.sheet].range(block.ref).color = _rgb(block.colour)
    for title, cells in plan.managed.items():
        sheet = sheets.get(title)
        if sheet is None:
            continue
        for comment in list(sheet.api.Comments):  # legacy comments = notes
            if str(comment.Parent.Address).replace("$", "") in cells:
                comment.Delete()
    failures = 0
    for mark in plan.marks:
        sheet = sheets.get(mark.sheet)
        if sheet is None:
            continue
        cell = sheet.range(mark.cell)
        cell.color = _rgb(mark.colour)
        try:
            cell.add_note(mark.note)
        except Exception:  # noqa: BLE001 - e.g. objects protected in a modified template
            failures += 1
    audit = sheets.get(plan.result.sheet)
    if audit is not None:
        if plan.result.filled_ref:
            audit.range(plan.result.filled_ref).value = plan.result.rows
        if plan.result.cleared_ref:
            audit.range(plan.result.cleared_ref).clear_contents()
    return failures


def check_caller() -> Outcome:
    """检查本表 for the classic add-in (RunPython)."""
    import xlwings as xw

    book = target_book(xw)
    outcome = check_payload(payload_from_book(book))
    lines = [outcome.message, *outcome.notices]
    if outcome.plan is not None:
        app = book.app
        app.screen_updating = False
        try:
            failures = apply_com(book, outcome.plan)
        finally:
            app.screen_updating = True
        if failures:
            lines.append(_("{n} notes could not be written; the cells are coloured and the list is on the 审核 sheet.")
                         .format(n=failures))
    book.app.alert("\n".join(lines), title=_("Check this workbook"), buttons="ok",
                   mode="info" if outcome.status == "ok" else "critical")
    return outcome
