"""The 问题清单 workbook: one row per finding, filterable, text never read as a formula."""

from __future__ import annotations

import math
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from xltool.check.finding import Severity, WorkbookReport
from xltool.i18n import _
from xltool.report.terminal import cells_text, coverage_line
from xltool.template.styles import FAIL_RGB, WARN_RGB
from xltool.template.writer import save_atomic

HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
SEVERITY_FILL = {Severity.ERROR: PatternFill("solid", fgColor=FAIL_RGB),
                 Severity.WARNING: PatternFill("solid", fgColor=WARN_RGB)}


def safe_text(value: object) -> object:
    """Text from a workbook must not become a formula in ours (=, +, -, @ at the start)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value if value[:1] != "'" else value
    return value


def write_cell(ws: Worksheet, row: int, col: int, value: object) -> None:
    cell = ws.cell(row=row, column=col, value=safe_text(value) if isinstance(value, str) else value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text says


def values_text(finding, limit: int = 4) -> str:
    """The figures a finding involves (the first *limit*), each formatted as a person reads it."""
    shown = [f"{c.where or f'{c.sheet}!{c.cell}'} {c.label} = {c.text}" for c in finding.cells if c.value not in (None, "")]
    more = len(shown) - limit
    return "；".join(shown[:limit]) + (f" …(+{more})" if more > 0 else "")


def finding_rows(report: WorkbookReport) -> list[list[object]]:
    rows = []
    for n, f in enumerate(report.findings, start=1):
        message = f.message + (f"\n{f.confidence_text}" if f.confidence_text else "")
        rows.append([n, f.code, f.severity.label, cells_text(f, limit=4), message, values_text(f),
                     f.difference_text, "\n".join(f.attribution), f.fix])
    return rows


FINDING_HEADERS = ("序号", "规则", "级别", "单元格", "问题", "涉及数值", "差额", "差异来源", "修改建议")
FINDING_WIDTHS = (5, 7, 8, 16, 44, 36, 9, 32, 30)


def print_setup(ws: Worksheet, title_rows: str | None, *, landscape: bool = True, fit_height: bool = False) -> None:
    """A4 as a person expects: one page wide, header rows repeated on every page."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1 if fit_height else 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    if title_rows:
        ws.print_title_rows = title_rows


def _text_width(text: str) -> float:
    """Columns the text takes in a spreadsheet: a CJK or full-width character about 1.7."""
    import unicodedata

    return sum(1.7 if unicodedata.east_asian_width(ch) in ("W", "F") else 1.0 for ch in text)


def row_height(row: list[object], widths: tuple[float, ...], line: float = 14.0) -> float:
    """The height a wrapped row needs: spreadsheets do not size wrapped rows of a generated file."""
    lines = 1
    for value, width in zip(row, widths):
        if value is None:
            continue
        text = str(value)
        usable = max(1.0, width - 1.5)
        count = sum(max(1, math.ceil(_text_width(part) / usable)) for part in text.split("\n"))
        lines = max(lines, count)
    return round(min(409.0, lines * line + 3), 1)


def write_findings_sheet(ws: Worksheet, rows: list[list[object]], headers=FINDING_HEADERS, first_row: int = 1) -> None:
    # Sized for A4 landscape at about 80 %: the wrapped 问题 and 修改建议 stay readable.
    widths = FINDING_WIDTHS
    for col, (head, width) in enumerate(zip(headers, widths + (20,) * 10), start=1):
        cell = ws.cell(row=first_row, column=col, value=head)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        ws.column_dimensions[cell.column_letter].width = width
    for r, row in enumerate(rows, start=first_row + 1):
        for c, value in enumerate(row, start=1):
            write_cell(ws, r, c, value)
            ws.cell(row=r, column=c).alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[r].height = row_height(row, widths)
    ws.freeze_panes = ws.cell(row=first_row + 1, column=1)
    print_setup(ws, f"{first_row}:{first_row}")
    if rows:
        ws.auto_filter.ref = f"A{first_row}:{ws.cell(row=first_row + len(rows), column=len(headers)).coordinate}"


def write_issue_list(report: WorkbookReport, out: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "问题清单"
    # The unit name comes from the workbook: written as text, never as a formula.
    write_cell(ws, 1, 1, _("Review of {unit} {year}").format(unit=report.unit or "", year=report.year or ""))
    ws["A1"].font = Font(bold=True, size=14)
    write_cell(ws, 2, 1, _("Must fix: {errors}; needs explanation: {warnings}.").format(
        errors=report.errors, warnings=report.warnings))
    write_cell(ws, 3, 1, _("File: {file}").format(file=Path(report.path).name))
    covered = coverage_line(report)
    if covered:  # what ran, so that an empty list never reads as “nothing was checked”
        write_cell(ws, 4, 1, covered)
    rows = finding_rows(report)
    write_findings_sheet(ws, rows, first_row=5)
    for r, f in enumerate(report.findings, start=6):
        ws.cell(row=r, column=3).fill = SEVERITY_FILL[f.severity]
    return save_atomic(wb, out)
