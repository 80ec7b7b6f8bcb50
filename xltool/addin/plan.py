"""The marking plan of 检查本表: a pure function of (form, findings).

Both deployments apply the same plan: the xlwings Server script through the remote Book
API (a list of actions for the Office.js or VBA client) and the classic add-in through
COM. The plan says, in this order:

1. ``restore``: every field cell gets its template fill back (input yellow, derived grey,
   config blue, see ``xltool.template.styles``), in as few rectangles as possible, plus the
   label cells a previous run marked; this clears the previous marks.
2. ``managed``: the cells whose old notes (comments) are removed: every field and label cell
   of the form sheets. Notes elsewhere are the user's and stay.
3. ``marks``: each flagged cell filled by severity and given one note listing its findings,
   from ``xltool.report.annotate.comments_by_cell`` so the annotated copy of check-workbook
   and the add-in mark the same cells with the same words.
4. ``result``: the numbered list written to the 审核 sheet's unlocked area K5:P304, and the
   rows below it cleared.

Only formatting, notes and the unlocked K:P values are touched: the protected template
allows exactly that, so nothing is ever unprotected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from openpyxl.styles import PatternFill
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string, get_column_letter

from xltool.check.finding import Finding, Severity, WorkbookReport
from xltool.form.model import Form, Style
from xltool.i18n import _
from xltool.numbers import fmt_kind
from xltool.report.annotate import FILLS, comments_by_cell
from xltool.report.terminal import cells_text
from xltool.report.xlsx_list import safe_text
from xltool.template import styles
from xltool.template.audit_sheet import ADDIN_COLUMNS, ADDIN_ROWS, AUDIT_SHEET, FIRST_ROW

NOTE_LIMIT = 2000  # characters per note, as the annotated copy
RESULT_HEADERS = ("序号", "规则", "单元格", "问题", "填报值", "应为")
_CELL_IN_TEXT = re.compile(r"([^\s!、，,;；…()（）]+)!\$?([A-Z]{1,3})\$?(\d{1,7})")


def hex_colour(fill: PatternFill | None) -> str | None:
    """'#RRGGBB' of a solid fill, None for no fill."""
    if fill is None or fill.fill_type is None:
        return None
    return "#" + str(fill.fgColor.rgb)[-6:].upper()


SEVERITY_COLOURS: dict[Severity, str] = {sev: hex_colour(fill) for sev, fill in FILLS.items()}  # type: ignore[misc]


@dataclass(frozen=True)
class Block:
    """A rectangle of one sheet that gets one fill (None: no fill)."""

    sheet: str
    ref: str  # "B5" or "B5:C9"
    colour: str | None


@dataclass(frozen=True)
class CellMark:
    sheet: str
    cell: str
    severity: Severity
    colour: str
    note: str


@dataclass
class ResultList:
    """Rows for the 审核 sheet's add-in area; rows after them down to ``last_row`` are cleared."""

    sheet: str
    first_row: int
    last_row: int
    first_col: str
    last_col: str
    rows: list[list[object]]

    @property
    def filled_ref(self) -> str | None:
        if not self.rows:
            return None
        return f"{self.first_col}{self.first_row}:{self.last_col}{self.first_row + len(self.rows) - 1}"

    @property
    def cleared_ref(self) -> str | None:
        start = self.first_row + len(self.rows)
        if start > self.last_row:
            return None
        return f"{self.first_col}{start}:{self.last_col}{self.last_row}"


@dataclass
class MarkPlan:
    restore: list[Block]
    managed: dict[str, frozenset[str]]
    marks: list[CellMark]
    result: ResultList
    errors: int = 0
    warnings: int = 0
    findings: list[Finding] = field(default_factory=list)


# -- template fills -----------------------------------------------------------------

def template_fills(form: Form) -> dict[tuple[str, str], str | None]:
    """(sheet title, cell) → the template's fill of every field and label cell."""
    out: dict[tuple[str, str], str | None] = {}
    for sheet in form.sheets:
        for text in sheet.texts:
            out[(sheet.title, text.cell)] = hex_colour(styles.HEADER_FILL) if text.style is Style.HEADER else None
    for f in form.fields:
        out[(form.sheet_title(f.sheet), f.cell)] = hex_colour(styles.field_fill(f))
    return out


def rectangles(cells: Iterable[str]) -> list[str]:
    """Cover *cells* exactly with few rectangles: vertical runs, then equal runs side by side."""
    by_col: dict[int, list[int]] = {}
    for ref in set(cells):
        col, row = coordinate_from_string(ref)
        by_col.setdefault(column_index_from_string(col), []).append(row)
    runs: dict[tuple[int, int], list[int]] = {}  # (top, bottom) → columns
    for col, rows in by_col.items():
        rows.sort()
        start = prev = rows[0]
        for row in rows[1:] + [None]:  # type: ignore[list-item]
            if row is not None and row == prev + 1:
                prev = row
                continue
            runs.setdefault((start, prev), []).append(col)
            if row is not None:
                start = prev = row
    out = []
    for (top, bottom), cols in sorted(runs.items(), key=lambda kv: (min(kv[1]), kv[0])):
        cols.sort()
        first = last = cols[0]
        for col in cols[1:] + [None]:  # type: ignore[list-item]
            if col is not None and col == last + 1:
                last = col
                continue
            a = f"{get_column_letter(first)}{top}"
            b = f"{get_column_letter(last)}{bottom}"
            out.append(a if a == b else f"{a}:{b}")
            if col is not None:
                first = last = col
    return out


def cells_of(ref: str) -> list[str]:
    """Every cell of an A1 rectangle."""
    a, _sep, b = ref.partition(":")
    b = b or a
    c1, r1 = coordinate_from_string(a)
    c2, r2 = coordinate_from_string(b)
    return [f"{get_column_letter(c)}{r}" for c in range(column_index_from_string(c1), column_index_from_string(c2) + 1)
            for r in range(r1, r2 + 1)]


def previous_marked_cells(values: Iterable[object]) -> set[tuple[str, str]]:
    """(sheet, cell) named in a previous result list (its 单元格 column)."""
    out = set()
    for value in values:
        for m in _CELL_IN_TEXT.finditer(str(value or "")):
            out.add((m[1], f"{m[2]}{m[3]}"))
    return out


# -- the result list ----------------------------------------------------------------

def _shown(form: Form, finding: Finding, value: object) -> object:
    """A figure as every other output shows it (the finding's own kind: amount, rate, year)."""
    if value is None or value == "":
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return fmt_kind(finding.kind, value)
    return safe_text(str(value))


def result_rows(form: Form, findings: list[Finding], limit: int = ADDIN_ROWS) -> list[list[object]]:
    rows: list[list[object]] = []
    shown = findings if len(findings) <= limit else findings[: limit - 1]
    for n, f in enumerate(shown, start=1):
        problem = f.message + (f" {f.fix}" if f.fix else "")
        rows.append([n, f"{f.code} {f.severity.label}", cells_text(f), safe_text(problem),
                     _shown(form, f, f.actual), _shown(form, f, f.expected)])
    if len(findings) > limit:
        rows.append(["…", "", "", _("{n} more findings are not listed here; the finance bureau's check-workbook lists them all.")
                     .format(n=len(findings) - len(shown)), "", ""])
    return rows


# -- the plan -----------------------------------------------------------------------

def build_plan(form: Form, findings: list[Finding], previous: Iterable[tuple[str, str]] = ()) -> MarkPlan:
    """The marks for *findings* (sorted as the checker sorts them) on a workbook of *form*.

    *previous*: cells a former run marked (from its result list), restored as well.
    """
    fills = template_fills(form)
    restore_cells: dict[tuple[str, str | None], list[str]] = {}
    for f in form.fields:
        title = form.sheet_title(f.sheet)
        restore_cells.setdefault((title, fills[(title, f.cell)]), []).append(f.cell)
    titles = {s.title for s in form.sheets}
    field_cells = {(form.sheet_title(f.sheet), f.cell) for f in form.fields}
    for key in sorted(set(previous)):
        if key[0] in titles and key not in field_cells:
            restore_cells.setdefault((key[0], fills.get(key)), []).append(key[1])
    restore = [Block(sheet, ref, colour) for (sheet, colour), cells in restore_cells.items() for ref in rectangles(cells)]

    managed: dict[str, set[str]] = {}
    for title, cell in fills:
        managed.setdefault(title, set()).add(cell)
    for title, cell in previous:
        if title in titles:
            managed.setdefault(title, set()).add(cell)

    report = WorkbookReport(path="", findings=findings)
    marks = []
    for (sheet, cell), (severity, lines) in comments_by_cell(report).items():
        if sheet not in titles:
            continue
        note = "\n".join(lines)
        if len(note) > NOTE_LIMIT:
            note = note[: NOTE_LIMIT - 1] + "…"
        marks.append(CellMark(sheet, cell, severity, SEVERITY_COLOURS[severity], note))

    result = ResultList(sheet=AUDIT_SHEET, first_row=FIRST_ROW, last_row=FIRST_ROW + ADDIN_ROWS - 1,
                        first_col=ADDIN_COLUMNS[0], last_col=ADDIN_COLUMNS[-1], rows=result_rows(form, findings))
    return MarkPlan(restore=restore, managed={k: frozenset(v) for k, v in managed.items()}, marks=marks,
                    result=result, errors=report.errors, warnings=report.warnings, findings=findings)
