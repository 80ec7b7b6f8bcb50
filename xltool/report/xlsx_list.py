"""The 问题清单 workbook: one row per finding, filterable, text never read as a formula."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from xltool.check.finding import Severity, WorkbookReport
from xltool.i18n import _
from xltool.report.terminal import cells_text
from xltool.template.writer import save_atomic

HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
SEVERITY_FILL = {Severity.ERROR: PatternFill("solid", fgColor="FFC7CE"),
                 Severity.WARNING: PatternFill("solid", fgColor="FFEB9C")}


def safe_text(value: object) -> object:
    """Text from a workbook must not become a formula in ours (=, +, -, @ at the start)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value if value[:1] != "'" else value
    return value


def write_cell(ws: Worksheet, row: int, col: int, value: object) -> None:
    cell = ws.cell(row=row, column=col, value=safe_text(value) if isinstance(value, str) else value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text says


def finding_rows(report: WorkbookReport) -> list[list[object]]:
    rows = []
    for n, f in enumerate(report.findings, start=1):
        values = "；".join(f"{c.where or f'{c.sheet}!{c.cell}'} {c.label} = {c.value}" for c in f.cells if c.value not in (None, ""))
        rows.append([n, f.code, f.severity.label, cells_text(f, limit=8), f.message, values,
                     f.difference, "\n".join(f.attribution), f.fix])
    return rows


FINDING_HEADERS = ("序号", "规则", "级别", "单元格", "问题", "涉及数值", "差额", "差异来源", "修改建议")


def write_findings_sheet(ws: Worksheet, rows: list[list[object]], headers=FINDING_HEADERS, first_row: int = 1) -> None:
    widths = (6, 8, 10, 28, 60, 50, 10, 50, 40)
    for col, (head, width) in enumerate(zip(headers, widths + (20,) * 10), start=1):
        cell = ws.cell(row=first_row, column=col, value=head)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        ws.column_dimensions[cell.column_letter].width = width
    for r, row in enumerate(rows, start=first_row + 1):
        for c, value in enumerate(row, start=1):
            write_cell(ws, r, c, value)
            ws.cell(row=r, column=c).alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = ws.cell(row=first_row + 1, column=1)
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
    rows = finding_rows(report)
    write_findings_sheet(ws, rows, first_row=5)
    for r, f in enumerate(report.findings, start=6):
        ws.cell(row=r, column=3).fill = SEVERITY_FILL[f.severity]
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    return save_atomic(wb, out)
