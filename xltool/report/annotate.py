"""An annotated copy of a returned workbook: each flagged cell filled and commented.

The original is never modified: the copy is loaded from the original's bytes and written
atomically to a new path. Formatting cells is allowed by the template's protection, so the
copy stays protected.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill

from xltool.check.finding import Severity, WorkbookReport
from xltool.template.styles import FAIL_RGB, WARN_RGB
from xltool.template.writer import save_atomic

FILLS = {Severity.ERROR: PatternFill("solid", fgColor=FAIL_RGB), Severity.WARNING: PatternFill("solid", fgColor=WARN_RGB)}
AUTHOR = "xltool"


def comments_by_cell(report: WorkbookReport) -> dict[tuple[str, str], tuple[Severity, list[str]]]:
    """(sheet, cell) → (worst severity, lines) for every cell a finding names."""
    marks: dict[tuple[str, str], tuple[Severity, list[str]]] = {}
    for f in report.findings:
        for ref in f.cells:
            key = (ref.sheet, ref.cell)
            severity, lines = marks.get(key, (Severity.WARNING, []))
            if f.severity is Severity.ERROR:
                severity = Severity.ERROR
            line = f"【{f.severity.label} {f.code}】{f.message}"
            if line not in lines:
                lines.append(line)
            marks[key] = (severity, lines)
    return marks


def annotate(original: Path, report: WorkbookReport, out: Path) -> Path:
    if Path(out).resolve() == Path(original).resolve():
        raise ValueError("the annotated copy must not overwrite the original")
    with warnings.catch_warnings():
        # openpyxl warns on stderr about the Excel extensions (x14 formats, controls) it drops
        # from the copy: nothing the user can act on, and the original keeps them.
        warnings.simplefilter("ignore", UserWarning)
        wb = openpyxl.load_workbook(original)
    for (sheet, cell), (severity, lines) in comments_by_cell(report).items():
        if sheet not in wb.sheetnames:
            continue
        target = wb[sheet][cell]
        if type(target).__name__ == "MergedCell":
            continue
        target.fill = FILLS[severity]
        text = "\n".join(lines)
        target.comment = Comment(text[:2000], AUTHOR, width=420, height=min(600, 60 + 40 * len(lines)))
    if report.findings:
        add_findings_sheet(wb, report)
    return save_atomic(wb, out)


ISSUES_SHEET = "问题"


def add_findings_sheet(wb, report: WorkbookReport) -> None:
    """Comments do not print: a last sheet lists every finding beside the cells it marks."""
    from xltool.report.xlsx_list import issue_list_file, issue_list_title, page_furniture, write_findings_sheet

    ws = wb.create_sheet(ISSUES_SHEET)
    write_findings_sheet(ws, report)
    page_furniture(ws, issue_list_title(report), issue_list_file(report))
    ws.protection.sheet = True  # read-only like the rest of the copy (no password: it holds no figures)
    ws.protection.autoFilter = False
