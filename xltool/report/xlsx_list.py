"""The 问题清单 workbook: one row per finding, filterable, text never read as a formula."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
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


# How a figure of each kind (Finding.kind, CellRef.kind) shows in a cell: the same figures as
# xltool.numbers.fmt_kind writes in text, but kept as numbers (sortable, summable).
NUMBER_FORMATS = {"amount": "#,##0.00", "rate": "0.00%", "integer": "#,##0", "year": "0", "number": "#,##0.00##",
                  "count": "0"}


COUNT_FORMAT = "0"  # a row number or a count


def number_format(kind: str | None) -> str:
    return NUMBER_FORMATS.get(kind or "", NUMBER_FORMATS["number"])


def finding_rows(report: WorkbookReport) -> list[list[object]]:
    """One row per finding; the 差额 (DIFFERENCE_COLUMN) is the number itself, formatted by
    ``number_format(finding.kind)``, never its text."""
    rows = []
    for n, f in enumerate(report.findings, start=1):
        message = f.message + (f"\n{f.confidence_text}" if f.confidence_text else "")
        rows.append([n, f.code, f.severity.label, cells_text(f, limit=4), message, values_text(f),
                     f.difference, "\n".join(f.attribution), f.fix])
    return rows


FINDING_HEADERS = ("序号", "规则", "级别", "单元格", "问题", "涉及数值", "差额", "差异来源", "修改建议")
FINDING_WIDTHS = (5, 7, 8, 18, 28, 38, 10, 32, 20)  # 166: A4 landscape at about 85 %
DIFFERENCE_COLUMN = FINDING_HEADERS.index("差额") + 1


def print_setup(ws: Worksheet, title_rows: str | None, *, landscape: bool = True, fit_height: bool = False) -> None:
    """A4 as a person expects: one page wide, header rows repeated on every page."""
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4  # (a write-only sheet lacks the constant)
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1 if fit_height else 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    # The page header (title, date) and footer (page numbers) need room above and below the table.
    ws.page_margins.top = ws.page_margins.bottom = 0.75
    ws.page_margins.header = ws.page_margins.footer = 0.3
    if title_rows:
        ws.print_title_rows = title_rows


# Widths in column units (the width of "0" in the workbook's font, Calibri 11). Rows are sized
# here because neither Excel nor LibreOffice sizes the wrapped rows of a generated file, and a
# row too low clips its text. Sized for Excel and WPS, where a CJK character (等线 or 宋体 11 pt,
# 15 px) takes 2.1 units; LibreOffice sets the same text narrower (1.6), so its printouts show
# some space below the longest cell rather than Excel's a clipped last line.
CJK_WIDTH, OTHER_WIDTH, CELL_PADDING = 2.1, 1.1, 0.5
LINE_HEIGHT = 16.0  # points per wrapped line: CJK lines at 11 pt are 16 pt apart in LibreOffice, 15 in Excel
_TOKENS = re.compile(r"[\x21-\x7e]+|.", re.S)  # a run of ASCII (a cell reference, a number) does not break


@lru_cache(maxsize=4096)
def _char_width(ch: str) -> float:
    return CJK_WIDTH if unicodedata.east_asian_width(ch) in ("W", "F") else OTHER_WIDTH


def _text_width(text: str) -> float:
    """Columns the text takes on one line."""
    return sum(_char_width(ch) for ch in text)


def wrapped_lines(text: str, width: float) -> int:
    """Lines *text* takes in a wrapped cell *width* columns wide: CJK breaks between any two
    characters, a run of ASCII only where it ends (or, longer than a line, anywhere)."""
    usable = max(1.0, width - CELL_PADDING)
    if len(text) * CJK_WIDTH <= usable and "\n" not in text:  # fits whatever it holds
        return 1
    lines = 0
    for paragraph in text.split("\n"):
        lines += 1
        x = 0.0
        for token in _TOKENS.findall(paragraph):
            w = len(token) * OTHER_WIDTH if len(token) > 1 else _char_width(token)  # longer: an ASCII run
            if x + w <= usable:
                x += w
            elif len(token) > 1 and w > usable:  # a run longer than a line breaks anywhere
                for _ch in token:
                    if x + OTHER_WIDTH > usable:
                        lines, x = lines + 1, 0.0
                    x += OTHER_WIDTH
            else:
                lines, x = lines + 1, (0.0 if token == " " else w)
    return max(1, lines)


def row_height(row: list[object], widths: tuple[float, ...], line: float = LINE_HEIGHT) -> float:
    """The height a wrapped row needs: spreadsheets do not size wrapped rows of a generated file
    (LibreOffice keeps the default height when it opens one)."""
    lines = 1
    for value, width in zip(row, widths):
        if value is None or isinstance(value, (int, float)):  # a number never wraps
            continue
        lines = max(lines, wrapped_lines(str(value), width))
    return round(min(409.0, lines * line + 4), 1)


def header_footer_text(text: str, limit: int = 80) -> str:
    """Text for a printed page header or footer: ``&`` starts a code there (&P the page number),
    so a literal one is doubled; Excel allows 255 characters for a whole header."""
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("&", "&&")


def page_numbers() -> str:
    """The footer's page numbers (header/footer codes: &P this page, &N the number of pages)."""
    return _("Page &P of &N")


def page_furniture(ws, title: str, right: str = "") -> None:
    """What a clerk files: the title (left) and e.g. the date or file (right) on every page, and
    the page numbers below. *ws*: a worksheet, or an openpyxl ``HeaderFooter``."""
    ws.oddHeader.left.text = header_footer_text(title)
    if right:
        ws.oddHeader.right.text = header_footer_text(right)
    ws.oddFooter.center.text = page_numbers()


def write_findings_sheet(ws: Worksheet, report: WorkbookReport, first_row: int = 1,
                         headers=FINDING_HEADERS) -> None:
    """The findings of *report* as a filterable table from *first_row* (its header row), one
    A4 landscape page wide with the header row on every page."""
    rows = finding_rows(report)
    widths = FINDING_WIDTHS
    for col, (head, width) in enumerate(zip(headers, widths + (20,) * 10), start=1):
        cell = ws.cell(row=first_row, column=col, value=head)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        ws.column_dimensions[cell.column_letter].width = width
    for r, (row, finding) in enumerate(zip(rows, report.findings), start=first_row + 1):
        for c, value in enumerate(row, start=1):
            write_cell(ws, r, c, value)
            ws.cell(row=r, column=c).alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(row=r, column=1).number_format = COUNT_FORMAT
        ws.cell(row=r, column=3).fill = SEVERITY_FILL[finding.severity]
        ws.cell(row=r, column=DIFFERENCE_COLUMN).number_format = number_format(finding.kind)
        ws.row_dimensions[r].height = row_height(row, widths)
    ws.freeze_panes = ws.cell(row=first_row + 1, column=1)
    print_setup(ws, f"{first_row}:{first_row}")
    if rows:
        ws.auto_filter.ref = f"A{first_row}:{ws.cell(row=first_row + len(rows), column=len(headers)).coordinate}"


def issue_list_title(report: WorkbookReport) -> str:
    return _("Review of {unit} {year}").format(unit=report.unit or "", year=report.year or "")


def issue_list_file(report: WorkbookReport) -> str:
    return _("File: {file}").format(file=Path(report.path).name)


def write_issue_list(report: WorkbookReport, out: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "问题清单"
    # The unit name comes from the workbook: written as text, never as a formula.
    write_cell(ws, 1, 1, issue_list_title(report))
    ws["A1"].font = Font(bold=True, size=14)
    write_cell(ws, 2, 1, _("Must fix: {errors}; needs explanation: {warnings}.").format(
        errors=report.errors, warnings=report.warnings))
    write_cell(ws, 3, 1, issue_list_file(report))
    covered = coverage_line(report)
    if covered:  # what ran, so that an empty list never reads as “nothing was checked”
        write_cell(ws, 4, 1, covered)
    write_findings_sheet(ws, report, first_row=5)
    page_furniture(ws, issue_list_title(report), issue_list_file(report))
    return save_atomic(wb, out)
