"""The formulas of the live 审核 sheet, without openpyxl: the template writer puts them in the
sheet (``audit_sheet``) and the reader checks a returned workbook's 审核 sheet against them
(``read.integrity``), so they are declared once."""

from __future__ import annotations

from xltool.check.finding import Severity
from xltool.check.instances import build_checks
from xltool.check.rule import allowance_excel
from xltool.form.model import Form
from xltool.form.scoring import ScoringConfig

FIRST_ROW = 5
PASS, ROUNDING, FAIL, NA = "通过", "尾差", "不通过", "不适用"


def audit_formulas(form: Form, cells, cfg: ScoringConfig | None = None, checks: list | None = None) -> list[tuple[str, str]]:
    """(cell, formula with its "=") of every formula of the 审核 sheet, in document order (row by
    row, column by column): what the template writes, and what the reader checks it against."""
    checks = checks if checks is not None else [c for c in build_checks(form.year, cfg, form_id=form.pack_ref)
                                                 if c.rule.live]
    last = FIRST_ROW + len(checks) - 1
    err, warn = Severity.ERROR.label, Severity.WARNING.label
    out = [
        ("D2", f'=COUNTIFS(C{FIRST_ROW}:C{last},"{err}",I{FIRST_ROW}:I{last},"{FAIL}")'),
        ("D3", f'=COUNTIFS(C{FIRST_ROW}:C{last},"{warn}",I{FIRST_ROW}:I{last},"{FAIL}")'
               f'+COUNTIF(I{FIRST_ROW}:I{last},"{ROUNDING}")'),
    ]
    ref = lambda fid: cells.ref(fid, None)  # noqa: E731 - every reference is cross-sheet here
    for n, check in enumerate(checks, start=1):
        row = FIRST_ROW + n - 1
        # The sides are computed once (E, F, H) and the verdict reads those cells: the sheet
        # stays small and a row's numbers are the ones its verdict is made of.
        lhs, rhs = check.lhs.to_excel(ref), check.rhs.to_excel(ref)
        applies = None
        if check.applies is not None:
            # A row that does not apply shows no sides (they mean nothing there) and J says so.
            applies = f"=IF({check.applies.to_excel(ref)},1,0)"
            lhs, rhs = f'IF($J{row}=1,{lhs},"")', f'IF($J{row}=1,{rhs},"")'
        excess = {"=": f"ABS(E{row}-F{row})", "<=": f"(E{row}-F{row})", ">=": f"(F{row}-E{row})"}[check.op]
        if check.rounding is None:
            verdict = f'IF({excess}<=H{row}+0.000001,"{PASS}","{FAIL}")'
        else:
            verdict = f'IF({excess}<=0.000001,"{PASS}",IF({excess}<=H{row}+0.000001,"{ROUNDING}","{FAIL}"))'
        out += [(f"E{row}", f'=IFERROR({lhs},"")'), (f"F{row}", f'=IFERROR({rhs},"")'),
                (f"G{row}", f'=IFERROR(E{row}-F{row},"")'), (f"H{row}", f'=IFERROR({allowance_excel(check, ref)},"")'),
                (f"I{row}", f'=IFERROR({verdict},"{NA}")')]
        if applies is not None:
            out.append((f"J{row}", applies))
    return out
