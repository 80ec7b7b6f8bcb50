"""The live 审核 sheet: one row per rule instance, rendered from the same Checks the
Python checker evaluates, plus conditional formatting on the input cells involved.

Excel and WPS users see 通过 / 尾差 / 不通过 while they type, with no add-in.
"""

from __future__ import annotations

from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.workbook import Workbook

from xltool.check.describe import describe
from xltool.check.finding import Severity
from xltool.check.instances import build_checks
from xltool.form.model import Form
from xltool.form.scoring import ScoringConfig
from xltool.i18n import _
from xltool.template import styles
from xltool.template.cellvalue import put
from xltool.template.audit_formulas import (FAIL, FIRST_ROW, NA, PASS, ROUNDING, audit_formulas,  # noqa: F401
                                           store_expectation)

AUDIT_SHEET = "审核"
RESULT_COL = "I"
# Columns the add-in's 检查本表 writes its finding list into (unlocked).
ADDIN_COLUMNS = "KLMNOP"
ADDIN_ROWS = 300

# Conditional formats on the form's sheets reach the 审核 sheet through defined names: Excel
# 2007 refuses a rule that names another sheet, and every version (and WPS, LibreOffice)
# accepts a defined name that does (see docs/compat.md).
RESULTS_NAME = "xlt_results"  # 审核!I5:I<last>: the verdict of every live check, in order
STARTED_NAME = "xlt_started"  # 审核!J2: 1 once the unit has typed anything
STARTED_CELL = "J2"
# Helper column of the 审核 sheet counting typed inputs (hidden); each cell counts a chunk
# of input cells (COUNTA takes at most 255 arguments).
COUNT_COLUMN, COUNT_CHUNK = "R", 200
# How a check's two sides and 差额 (E:G) show, by the check's kind: money with two decimals
# (the default), rates as percents, counts and filled/empty flags as whole numbers (5, not 5.00).
AUDIT_FORMATS = {"rate": "0.00%", "count": "0", "flag": "0", "integer": "#,##0"}


def add_audit_sheet(wb: Workbook, form: Form, cells, cfg: ScoringConfig | None = None,
                    prefilled: frozenset[str] = frozenset()) -> int:
    """Append the 审核 sheet; returns the number of rule rows. *prefilled*: the inputs the
    template itself fills (the year, the unit's identity)."""
    ws = wb.create_sheet(AUDIT_SHEET)
    checks = [c for c in build_checks(form.year, cfg, form_id=form.pack_ref) if c.rule.live]
    formulas = audit_formulas(form, cells, cfg, checks)
    store_expectation(form, formulas)  # what the reader compares this sheet by
    for cell, formula in formulas:
        ws[cell] = formula
    widths = {"A": 6, "B": 8, "C": 10, "D": 60, "E": 14, "F": 14, "G": 12, "H": 10, "I": 9, "J": 7,
              "K": 8, "L": 10, "M": 24, "N": 60, "O": 14, "P": 14}
    for col, width in widths.items():
        ws.column_dimensions[col].width = width
    ws["A1"] = _("Live checks: results update as you type")
    ws["A1"].font = styles.text_font(styles.Style.TITLE)
    ws.merge_cells("A1:I1")
    last = FIRST_ROW + len(checks) - 1
    ws["A2"] = _("Must fix, failing:")
    ws["A3"] = _("Needs explanation, failing or rounding:")
    for ref in ("D2", "D3"):
        ws[ref].font = Font(name=styles.FONT_NAME, bold=True)
        ws[ref].alignment = styles.text_alignment(styles.Style.LABEL)
    started = _started(ws, form, cells, prefilled)
    heads = ("序号", "规则", "级别", "审核内容", "左边", "右边", "差额", "允许尾差", "结果")
    for col, head in zip("ABCDEFGHI", heads):
        ws[f"{col}4"] = head
    for col, head in zip(ADDIN_COLUMNS, ("序号", "规则", "单元格", "问题", "填报值", "应为")):
        ws[f"{col}4"] = head
    for col in "ABCDEFGHI" + ADDIN_COLUMNS:
        cell = ws[f"{col}4"]
        cell.font = styles.text_font(styles.Style.HEADER)
        cell.fill = styles.HEADER_FILL
        cell.border = styles.BORDER
        cell.alignment = styles.text_alignment(styles.Style.HEADER)
    ws["K3"] = _("Results of the 检查本表 button (Excel add-in) appear here.")

    marks: dict[tuple[str, str], dict[Severity, list[str]]] = {}
    for n, check in enumerate(checks, start=1):
        row = FIRST_ROW + n - 1
        if check.applies is not None:
            ws[f"J{row}"].number_format = '"适用";;"不适用"'
        ws[f"A{row}"] = n
        ws[f"B{row}"] = check.rule.code
        ws[f"C{row}"] = check.rule.severity.label
        put(ws[f"D{row}"], describe(check, form))  # a pack's labels are text, never a formula
        for col in "ABCDEFGHI":
            cell = ws[f"{col}{row}"]
            cell.border = styles.BORDER
            cell.font = styles.text_font(styles.Style.LABEL)
        ws[f"D{row}"].alignment = styles.text_alignment(styles.Style.LABEL)
        for col in "EFG":
            ws[f"{col}{row}"].number_format = AUDIT_FORMATS.get(check.kind, "#,##0.00##")
        for fid in check.fields:
            field = form.field(fid)
            if field.is_input:
                key = (form.sheet_title(field.sheet), field.cell)
                by_severity = marks.setdefault(key, {Severity.ERROR: [], Severity.WARNING: []})
                by_severity[check.rule.severity].append(f'INDEX({RESULTS_NAME},{n})="{FAIL}"')
        if check.rule.severity is Severity.WARNING:
            ws[f"I{row}"].font = Font(name=styles.FONT_NAME, color="9C5700")
    wb.defined_names[RESULTS_NAME] = DefinedName(RESULTS_NAME, attr_text=f"'{AUDIT_SHEET}'!$I${FIRST_ROW}:$I${last}")
    wb.defined_names[STARTED_NAME] = DefinedName(STARTED_NAME, attr_text=f"'{AUDIT_SHEET}'!${started[0]}${started[1:]}")
    # Nothing turns red or amber before the unit has typed anything: a blank template fails
    # every required entry, which is no news to someone who has not started.
    gate = f"${started[0]}${started[1:]}=1"
    rng = f"I{FIRST_ROW}:I{last}"
    ws.conditional_formatting.add(rng, FormulaRule(formula=[f'AND({gate},I{FIRST_ROW}="{FAIL}")'],
                                                   fill=styles.FAIL_FILL))
    ws.conditional_formatting.add(rng, FormulaRule(formula=[f'AND({gate},I{FIRST_ROW}="{ROUNDING}")'],
                                                   fill=styles.WARN_FILL))
    for ref in ("D2", "D3"):
        ws.conditional_formatting.add(ref, FormulaRule(formula=[f"AND({gate},{ref}>0)"],
                                                       font=Font(bold=True, color=styles.FAIL_FONT_COLOR)))
    # Input cells light up while any check that reads them fails.
    fills = {Severity.ERROR: styles.FAIL_FILL, Severity.WARNING: styles.WARN_FILL}
    for (title, cell_ref), by_severity in marks.items():
        for severity in (Severity.ERROR, Severity.WARNING):  # the first matching rule wins
            conditions = by_severity[severity]
            if not conditions:
                continue
            formula = conditions[0] if len(conditions) == 1 else "OR(" + ",".join(conditions) + ")"
            formula = f"AND({STARTED_NAME}=1,{formula})"
            fill = PatternFill("solid", fgColor=fills[severity].fgColor.rgb[-6:])
            wb[title].conditional_formatting.add(cell_ref, FormulaRule(formula=[formula], fill=fill, stopIfTrue=True))
    ws.freeze_panes = f"A{FIRST_ROW}"
    ws.print_title_rows = "4:4"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    for row in range(FIRST_ROW, FIRST_ROW + ADDIN_ROWS):
        for col in ADDIN_COLUMNS:
            ws[f"{col}{row}"].protection = styles.UNLOCKED
    return len(checks)


def _started(ws, form: Form, cells, prefilled: frozenset[str]) -> str:
    """J2: 1 once any input the unit types is filled, else 0; returns its reference.

    Inputs the template or the bureau fills (the year, unit name, code, e-mail) and last
    year's figures (prefilled from last year's audit) do not count: a unit's template
    arrives with them.
    """
    refs = [cells.ref(f.id, None) for f in form.typed_inputs if f.id not in prefilled]
    chunks = [refs[i:i + COUNT_CHUNK] for i in range(0, len(refs), COUNT_CHUNK)]
    for k, chunk in enumerate(chunks, start=1):
        ws[f"{COUNT_COLUMN}{k}"] = "=COUNTA(" + ",".join(chunk) + ")"
    ws.column_dimensions[COUNT_COLUMN].hidden = True
    ws[STARTED_CELL] = f"=IF(SUM({COUNT_COLUMN}1:{COUNT_COLUMN}{len(chunks)})>0,1,0)"
    ws[STARTED_CELL].number_format = '"已开始填写";;"尚未填写"'
    return STARTED_CELL
