"""The live 审核 sheet: one row per rule instance, rendered from the same Checks the
Python checker evaluates, plus conditional formatting on the input cells involved.

Excel and WPS users see 通过 / 尾差 / 不通过 while they type, with no add-in.
"""

from __future__ import annotations

from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.workbook.workbook import Workbook

from xltool.check.describe import describe
from xltool.check.finding import Severity
from xltool.check.instances import build_checks
from xltool.form.model import Form
from xltool.form.scoring import ScoringConfig
from xltool.i18n import _
from xltool.template import styles
from xltool.template.audit_formulas import FAIL, FIRST_ROW, NA, PASS, ROUNDING, audit_formulas  # noqa: F401

AUDIT_SHEET = "审核"
RESULT_COL = "I"
# Columns the add-in's 检查本表 writes its finding list into (unlocked).
ADDIN_COLUMNS = "KLMNOP"
ADDIN_ROWS = 300



def add_audit_sheet(wb: Workbook, form: Form, cells, cfg: ScoringConfig | None = None) -> int:
    """Append the 审核 sheet; returns the number of rule rows."""
    ws = wb.create_sheet(AUDIT_SHEET)
    checks = [c for c in build_checks(form.year, cfg) if c.rule.live]
    formulas = audit_formulas(form, cells, cfg, checks)
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
        ws[ref].font = Font(name=styles.FONT_NAME, bold=True, color=styles.FAIL_FONT_COLOR)
        ws[ref].alignment = styles.text_alignment(styles.Style.LABEL)
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
        ws[f"D{row}"] = describe(check, form)
        for col in "ABCDEFGHI":
            cell = ws[f"{col}{row}"]
            cell.border = styles.BORDER
            cell.font = styles.text_font(styles.Style.LABEL)
        ws[f"D{row}"].alignment = styles.text_alignment(styles.Style.LABEL)
        for col in "EFG":
            ws[f"{col}{row}"].number_format = "#,##0.00##" if check.kind != "rate" else "0.00%"
        for fid in check.fields:
            field = form.field(fid)
            if field.is_input:
                key = (form.sheet_title(field.sheet), field.cell)
                by_severity = marks.setdefault(key, {Severity.ERROR: [], Severity.WARNING: []})
                by_severity[check.rule.severity].append(f"'{AUDIT_SHEET}'!$I${row}=\"{FAIL}\"")
        if check.rule.severity is Severity.WARNING:
            ws[f"I{row}"].font = Font(name=styles.FONT_NAME, color="9C5700")
    # Result column turns red / amber when failing.
    rng = f"I{FIRST_ROW}:I{last}"
    ws.conditional_formatting.add(rng, FormulaRule(formula=[f'I{FIRST_ROW}="{FAIL}"'], fill=styles.FAIL_FILL))
    ws.conditional_formatting.add(rng, FormulaRule(formula=[f'I{FIRST_ROW}="{ROUNDING}"'], fill=styles.WARN_FILL))
    # Input cells light up while any check that reads them fails.
    fills = {Severity.ERROR: styles.FAIL_FILL, Severity.WARNING: styles.WARN_FILL}
    for (title, cell_ref), by_severity in marks.items():
        for severity in (Severity.ERROR, Severity.WARNING):  # the first matching rule wins
            conditions = by_severity[severity]
            if not conditions:
                continue
            formula = conditions[0] if len(conditions) == 1 else "OR(" + ",".join(conditions) + ")"
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
