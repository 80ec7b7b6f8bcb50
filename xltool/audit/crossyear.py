"""XT720: last year's 决算数 restated in this year's 附件2 must equal what the unit reported.

附件2 states every figure three times: {Y-1}年决算数, {Y}年预算数, {Y}年决算数. The first column
restates what the same unit reported as {Y}年决算数 in last year's workbook. With last year's
audit folder (``--previous DIR``, its history.sqlite) the batch audit compares the two.

The rule is declared with the catalogue's ``Rule`` dataclass and registered into
``xltool.check.catalogue.RULES`` when this module is imported (``xltool.audit`` imports it),
so ``xltool rules`` lists and documents it like every other rule. It is not a live rule:
the template cannot know last year's figures.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from xltool.check.catalogue import RULES
from xltool.check.finding import Finding, Severity
from xltool.check.rule import EPS, Rule
from xltool.i18n import _

CODE = "XT720"


def N_(message: str) -> str:
    """Mark a msgid for extraction (gettext_noop); it is translated by _() where it is shown."""
    return message


# English msgids, translated when shown (the locale may change after import).
_TITLE = N_("Last year's final figure restated differently")
_MESSAGE = N_("{label}: this workbook states {actual} as the {prev_year} final figure (决算数), but the unit's "
              "{prev_year} workbook reported {expected}; the difference is {diff}.")
_FIX = N_("Copy the {prev_year} final figure from last year's 附件2 ({expected}), or explain the restatement "
          "to the finance bureau.")
_WHAT = N_("With last year's audit given (xltool audit --previous DIR), compares every Y-1年决算数 of 附件2 with "
           "the Y年决算数 the same unit reported in last year's workbook (units matched by code, then by name; "
           "专项 rows by their name).")
_WHY = N_("A figure of last year's final accounts does not change; a different restatement is a copying error or an "
          "unexplained correction.")
_EXAMPLE = N_("附件2 公务用车购置和维护经费 2022年决算数 70.77, but the 2022 workbook reported 70.78.")

RULE = Rule(
    code=CODE,
    severity=Severity.ERROR,
    title=lambda: _(_TITLE),
    message=lambda: _(_MESSAGE),
    fix=lambda: _(_FIX),
    what=lambda: _(_WHAT),
    why=lambda: _(_WHY),
    example=lambda: _(_EXAMPLE),
    live=False,
)
RULES.setdefault(CODE, RULE)

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
    from xltool.numbers import fmt_amount
    from xltool.read.reader import cell_ref

    prev_year = form.year - 1
    out = []
    for this_id, last_id in pairs(form, current, previous):
        actual, expected = _number(current.get(this_id)), _number(previous.get(last_id))
        diff = actual - expected
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
