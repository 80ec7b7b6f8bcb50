"""One unit, two files: a Word report and a workbook sent together state the same figures.

Every figure the report states is compared with the same field of the workbook (XT301, the
rule for one figure stated twice); the finding cites the paragraph or table cell and the cell.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from xltool.check.catalogue import rule
from xltool.check.finding import CellRef, Finding
from xltool.form.expr import excel_round
from xltool.form.model import Form, Kind
from xltool.i18n import _
from xltool.numbers import fmt_amount, fmt_number, fmt_rate
from xltool.word.extract import Extraction


def same_unit(a: str | None, b: str | None) -> bool:
    norm = lambda s: re.sub(r"\s+", "", unicodedata.normalize("NFKC", s or ""))  # noqa: E731
    return bool(norm(a)) and norm(a) == norm(b)


def _fmt(kind: Kind, value: float) -> str:
    return fmt_rate(value) if kind is Kind.RATE else fmt_amount(value) if kind is Kind.AMOUNT else fmt_number(value)


def cross_findings(form: Form, ext: Extraction, workbook: Mapping[str, object], workbook_name: str) -> list[Finding]:
    r = rule("XT301")
    out = []
    for fid, stated in {**ext.values, **ext.stated}.items():
        f = form.by_id.get(fid)
        other = workbook.get(fid)
        if f is None or not f.numeric or not isinstance(stated, (int, float)) or not isinstance(other, (int, float)):
            continue
        # Compared at the precision each states (金额 two decimals, rates two decimals of a percent).
        digits = 4 if f.kind is Kind.RATE else 2 if f.kind is Kind.AMOUNT else 6
        gap = excel_round(float(stated), digits) - excel_round(float(other), digits)
        if abs(gap) <= 1e-9:
            continue
        params = {"lhs_label": _("the report's {label}").format(label=f.label), "lhs": _fmt(f.kind, stated),
                  "rhs_label": _("the workbook's {label}").format(label=f.label), "rhs": _fmt(f.kind, other),
                  "diff": _fmt(f.kind, abs(gap))}
        out.append(Finding(
            code="XT301", severity=r.severity, message=r.message().format(**params), fix=r.fix(),
            cells=[CellRef(field_id=fid, sheet=form.sheet_title(f.sheet), cell=f.cell, label=f.label, value=round(stated, 6),
                           where=ext.where.get(fid)),
                   CellRef(field_id=fid, sheet=form.sheet_title(f.sheet), cell=f.cell, label=f.label, value=round(other, 6),
                           where=f"{workbook_name} {form.sheet_title(f.sheet)}!{f.cell}")],
            expected=round(other, 6), actual=round(stated, 6), difference=round(stated - other, 6),
            instance=f"docx-xlsx:{fid}",
        ))
    return out
