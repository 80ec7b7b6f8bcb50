"""XT720: last year's 决算数 restated in this year's 附件2 must equal what the unit reported.

附件2 states every figure three times: {Y-1}年决算数, {Y}年预算数, {Y}年决算数. The first column
restates what the same unit reported as {Y}年决算数 in last year's workbook. With last year's
audit folder (``--previous DIR``, its history.sqlite) the batch audit compares the two.

The rule itself (code, severity, texts, docs) is declared in xltool/check/catalogue.py
like every other rule; this module holds the comparison. It is not a live rule: the
template cannot know last year's figures.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from xltool.check.catalogue import rule
from xltool.check.finding import Finding
from xltool.check.rule import EPS

CODE = "XT720"


RULE = rule(CODE)  # declared in the catalogue with every other rule

_ZX = re.compile(r"^base_zx_(\d+)_")


def _norm_name(text: object) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or "")))


def _number(value: object) -> float:
    """Blank counts as 0, as everywhere in the rules; text that is not a number counts as 0 too."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    return float(value)


def pairs(form, current: Mapping[str, object], previous: Mapping[str, object]) -> list[tuple[str, str]]:
    """(this year's *_prev field, last year's *_final field) to compare.

    Fixed rows pair by field id. 专项资金 rows pair by their name: the list may be reordered
    from one year to the next, and a new 专项 has no figure last year.
    """
    out = []
    prev_names = {}
    for f in form.fields:
        m = _ZX.match(f.id)
        if m and f.id.endswith("_name") and previous.get(f.id):
            prev_names.setdefault(_norm_name(previous.get(f.id)), m.group(1))
    for f in form.fields:
        if not f.id.startswith("base_") or not f.id.endswith("_prev") or not f.is_input:
            continue
        final = f.id[: -len("_prev")] + "_final"
        if final not in form.by_id:
            continue
        m = _ZX.match(f.id)
        if m:
            name = _norm_name(current.get(f"base_zx_{m.group(1)}_name"))
            if not name or name not in prev_names:
                continue
            final = f"base_zx_{prev_names[name]}_final"
        out.append((f.id, final))
    return out


def cross_year_findings(form, current: Mapping[str, object], previous: Mapping[str, object]) -> list[Finding]:
    """XT720 findings of one unit: *current* and *previous* are the two years' values by field id."""
    from xltool.form.expr import excel_round
    from xltool.numbers import fmt_amount
    from xltool.read.reader import cell_ref

    prev_year = form.year - 1
    out = []
    for this_id, last_id in pairs(form, current, previous):
        actual, expected = _number(current.get(this_id)), _number(previous.get(last_id))
        # Compared as stated (万元 to two decimals): 70.774 restates 70.77 (XT106 notes the decimals).
        diff = round(excel_round(actual, 2) - excel_round(expected, 2), 2)
        if abs(diff) <= EPS:
            continue
        label = form.field(this_id).label.rsplit(" / ", 1)[0]
        params = {"label": label, "prev_year": prev_year, "actual": fmt_amount(actual),
                  "expected": fmt_amount(expected), "diff": fmt_amount(abs(diff))}
        out.append(Finding(
            code=CODE, severity=RULE.severity, message=RULE.message().format(**params), fix=RULE.fix().format(**params),
            cells=[cell_ref(form, this_id, current.get(this_id))], expected=round(expected, 6),
            actual=round(actual, 6), difference=round(diff, 6), instance=this_id,
        ))
    return out
