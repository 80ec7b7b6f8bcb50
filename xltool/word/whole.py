"""Amounts a report states in whole 万元, compared at that precision.

A 三公 statement published in whole 万元 (“公车购置及运行费995万元（其中购置费38万元，运行费958万元）”)
rounds each figure on its own, so its parts can miss its total by a 万元 or so: each figure stands
for ±0.5 万元 (XBRL Calculations 1.1, decimals = 0). When every figure of a comparison is stated
without decimals, a difference within the sum of their half-units is a rounding difference
(XT202, 需要说明), not a wrong total (XT201) or 其中 rows over their parent (XT203). A figure
stated with decimals, or read from the narrative (no precision recorded), keeps the cent rule.
"""

from __future__ import annotations

from collections.abc import Iterable

from xltool.check.catalogue import rule
from xltool.check.finding import Finding
from xltool.form.model import Form, Kind
from xltool.i18n import _
from xltool.numbers import fmt_amount

HALF_UNIT = 0.5  # half of the last place of a figure stated in whole 万元
ROUNDED = ("XT201", "XT203")


def whole_allowance(form: Form, places: dict[str, int], fids: Iterable[str]) -> float | None:
    """Σ 0.5 over *fids* when every one is an amount the report states without decimals; else None."""
    fids = list(dict.fromkeys(fids))
    if not fids or any(form.field(i).kind is not Kind.AMOUNT or places.get(i) != 0 for i in fids):
        return None
    return HALF_UNIT * len(fids)


def at_whole_precision(form: Form, places: dict[str, int], values: dict[str, object],
                       findings: list[Finding]) -> list[Finding]:
    """XT201/XT203 between figures all stated in whole 万元, within their rounding: XT202 instead."""
    out = []
    for f in findings:
        if f.code in ROUNDED and f.kind == "amount" and f.difference is not None:
            stated = [c.field_id for c in f.cells if c.field_id and isinstance(values.get(c.field_id), (int, float))]
            tol = whole_allowance(form, places, stated)
            if tol is not None and round(abs(f.difference), 9) <= tol:
                f = rounding_note(f, tol)
        out.append(f)
    return out


def rounding_note(f: Finding, tol: float, parts_label: str | None = None) -> Finding:
    """The finding restated as XT202: the same two figures, and the allowance they are within.
    *parts_label*: what the computed side is called (the cells other than the stated one, by default)."""
    r = rule("XT202")
    whole = next((c for c in f.cells if isinstance(c.value, (int, float)) and c.value == f.expected), None)
    stated = whole.label if whole is not None else ""
    if parts_label is None:
        parts_label = _("the sum of {rows}").format(rows="、".join(c.label for c in f.cells if c is not whole))
    params = {"lhs_label": parts_label, "lhs": fmt_amount(f.actual), "rhs_label": stated, "rhs": fmt_amount(f.expected),
              "diff": fmt_amount(abs(f.difference or 0.0)), "tol": fmt_amount(tol)}
    return f.replace(code=r.code, severity=r.severity, message=r.message().format(**params), fix=r.fix())
