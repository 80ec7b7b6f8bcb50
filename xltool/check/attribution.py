"""Diff attribution: which rows account for a difference.

When two per-project lists disagree, the projects are matched by name (the report
words them differently: “公车平台” and “公务用车平台经费”), and the pairs whose amounts
differ are named with their share of the difference.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from xltool.check.rule import Check, Outcome
from xltool.form.model import Form
from xltool.form.selfeval import PROJECT_ROWS
from xltool.i18n import _
from xltool.numbers import fmt_amount, fmt_rate

_GENERIC = re.compile(r"专项资金|专项|项目|资金|经费|[（）()、，,\s]")
Item = tuple[str, float]


def _grams(name: str) -> set[str]:
    text = _GENERIC.sub("", unicodedata.normalize("NFKC", name))
    if len(text) < 2:
        return {text} if text else set()
    return {text[i : i + 2] for i in range(len(text) - 1)}


def similarity(a: str, b: str) -> float:
    ga, gb = _grams(a), _grams(b)
    if not ga or not gb:
        return 0.0
    return len(ga & gb) / min(len(ga), len(gb))


def _items(values: Mapping[str, object], name: str, amount: str, rows: int = PROJECT_ROWS) -> list[Item]:
    out = []
    for i in range(1, rows + 1):
        n, a = values.get(name.format(i=i)), values.get(amount.format(i=i))
        if n or isinstance(a, (int, float)):
            out.append((str(n or f"第{i}行"), float(a) if isinstance(a, (int, float)) else 0.0))
    return out


def match_lists(left: list[Item], right: list[Item]) -> list[tuple[list[Item], list[Item]]]:
    """Group items of two lists that name the same project (many-to-one allowed)."""
    groups: dict[int, list[Item]] = {}
    unmatched_left: list[Item] = []
    for item in left:
        scored = [(similarity(item[0], r[0]), -abs(item[1] - r[1]), j) for j, r in enumerate(right)]
        best = max(scored, default=(0.0, 0.0, -1))
        if best[0] >= 0.5:
            groups.setdefault(best[2], []).append(item)
        else:
            unmatched_left.append(item)
    pairs = [(groups.get(j, []), [r]) for j, r in enumerate(right)]
    pairs += [([item], []) for item in unmatched_left]
    return pairs


def _names(items: list[Item]) -> str:
    return "".join(f"「{n}」" for n, _ in items) or "—"


def list_differences(left: list[Item], right: list[Item], left_title: str, right_title: str) -> list[str]:
    lines = []
    for lhs, rhs in match_lists(left, right):
        a, b = sum(v for _, v in lhs), sum(v for _, v in rhs)
        if abs(a - b) < 0.005:
            continue
        lines.append(_("{left_title}{left_names} {left_amount} against {right_title}{right_names} {right_amount}: difference {diff}").format(
            left_title=left_title, left_names=_names(lhs), left_amount=fmt_amount(a),
            right_title=right_title, right_names=_names(rhs), right_amount=fmt_amount(b), diff=fmt_amount(a - b),
        ))
    return lines


def _project_lists(values: Mapping[str, object]) -> list[str]:
    fin = _items(values, "fin_proj_{i}_name", "fin_proj_{i}_amount")
    proj = _items(values, "proj_{i}_name", "proj_{i}_actual")
    return list_differences(fin, proj, "收支情况", "项目绩效")


def attribute(check: Check, outcome: Outcome, form: Form, values: Mapping[str, object]) -> list[str]:
    code = check.rule.code
    if code == "XT301":
        return _identity(check, outcome, values)
    if code == "XT501":
        return _ratio_base(outcome, values)
    if code == "XT401":
        row = check.params["row"]
        initial, adjust, actual, balance = (_f(values.get(f"proj_{row}_{k}")) for k in ("initial", "adjust", "actual", "balance"))
        return [_("If 结余结转 ({balance}) is right, 年中调整 should be {adjust}; if 年中调整 is right, 结余结转 should be {expected}.").format(
            balance=fmt_amount(balance), adjust=fmt_amount(balance + actual - initial),
            expected=fmt_amount(initial + adjust - actual))]
    if code == "XT610":
        return _equal_figure(outcome, form, values)
    if code in ("XT201", "XT203"):
        return _part_equal_to_diff(check, outcome, form, values)
    return []


def _identity(check: Check, outcome: Outcome, values: Mapping[str, object]) -> list[str]:
    concept = check.params.get("concept")
    fields = set(check.fields)
    if concept == "project_spending" and {"fin_proj", "proj_total_actual"} <= fields:
        return _project_lists(values)
    if concept == "spending_total" and "fin_exp_all" in fields:
        lines = _project_lists(values)
        gap = _f(values.get("fin_proj")) - _f(values.get("proj_total_actual"))
        if lines and abs(abs(gap) - abs(outcome.diff)) < 0.005:
            return [_("The difference equals the difference between the two project lists ({gap}):").format(
                gap=fmt_amount(gap))] + lines
    return []


def _ratio_base(outcome: Outcome, values: Mapping[str, object]) -> list[str]:
    stated = outcome.lhs
    candidates = (
        ("全年执行数 ÷ 年初预算数", values.get("eval_exec"), values.get("eval_budget_initial")),
        ("报告实际支出 ÷ 报告年初预算资金总计", values.get("proj_spending"), values.get("proj_budget_initial")),
    )
    for label, num, den in candidates:
        if isinstance(num, (int, float)) and isinstance(den, (int, float)) and den:
            if abs(round(num / den, 4) - stated) <= 0.00005:
                return [_("The stated {stated} equals {formula} ({num} ÷ {den}): the wrong base was used.").format(
                    stated=fmt_rate(stated), formula=label, num=fmt_amount(num), den=fmt_amount(den))]
    return []


def _equal_figure(outcome: Outcome, form: Form, values: Mapping[str, object]) -> list[str]:
    from xltool.check.instances import NAMED_FIGURES

    for fid in NAMED_FIGURES.values():
        value = values.get(fid)
        if isinstance(value, (int, float)) and abs(value - outcome.lhs) < 0.005:
            return [_("{value} is the figure of {label}.").format(value=fmt_amount(value), label=form.field(fid).label)]
    return []


def _part_equal_to_diff(check: Check, outcome: Outcome, form: Form, values: Mapping[str, object]) -> list[str]:
    for fid in check.lhs.refs() + check.rhs.refs():
        value = values.get(fid)
        if isinstance(value, (int, float)) and value and abs(abs(value) - abs(outcome.diff)) < 0.005:
            return [_("The difference equals {label} ({value}): it may be missing or counted twice.").format(
                label=form.field(fid).label, value=fmt_amount(value))]
    return []


def _f(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) else 0.0
