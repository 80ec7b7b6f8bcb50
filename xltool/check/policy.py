"""The checks reviewers apply from the policy texts, each a rule whose parameters are settings.

- the execution rate judged from the figures that are there, or undefined (XT502);
- the 财预〔2013〕53号 附件2 department ratios recomputed from the form's figures (XT503–XT509);
- 偏离: an actual far beyond its target with no reason (XT612, 财预〔2020〕10号 第十一、十六条);
- 自评得分虚高: the indicators' score rate well above the execution rate (XT613);
- the grade stated against the total score (XT614, 第十八条);
- too few 三级指标 (XT615).

Every threshold comes from ``ScoringConfig.policy`` (defaults in scoring_default.toml); a rule
whose threshold is off, or whose figures the form pack does not hold, is not built, and the
report's coverage says so (xltool.check.coverage).
"""

from __future__ import annotations


from xltool.check.blanks import all_of, first_stated, numeric_leaves, stated, statements
from xltool.check.catalogue import rule
from xltool.check.compare import compare, has
from xltool.check.rule import Check
from xltool.form.expr import (
    Abs, And, Cmp, Const, Count, CountNamed, Div, Expr, Filled, If, Or, Ref, Round, Sub, TextIs,
)
from xltool.form.model import Form
from xltool.form.scoring import ScoringConfig, threshold
from xltool.form.selfeval import indicator_ids
from xltool.record import record

GRADE_FIELD = "eval_grade"


@record
class Execution:
    """全年预算数, 全年执行数 and 执行率 as the figures that are there give them."""

    budget: Expr  # the first stated statement of 全年预算数
    spent: Expr  # … of 全年执行数
    rate: Expr  # spent ÷ budget; None (undefined) when the budget is empty or 0
    defined: Expr  # 1 when the rate is defined


def execution(form: Form) -> Execution | None:
    if not has(form, "eval_budget_full", "eval_exec"):
        return None
    budget = first_stated(form, statements(form, "eval_budget_full"))
    spent = first_stated(form, statements(form, "eval_exec"))
    return Execution(budget=budget, spent=spent, rate=Div(spent, budget),
                     defined=Cmp(">", Abs(budget), Const(0)))


def undefined_rate(form: Form) -> list[Check]:
    """XT502: no budget to divide by, while the spending or the score is stated."""
    ex = execution(form)
    if ex is None:
        return []
    told = [c for c in (stated(form, ex.spent), Filled("eval_exec_score") if has(form, "eval_exec_score") else None,
                        *(Filled(i) for i in statements(form, "eval_budget_full") if form.field(i).is_input))
            if c is not None]
    return [Check(
        rule=rule("XT502"), instance="eval_exec_rate", lhs=ex.defined, op=">=", rhs=Const(1),
        fields=tuple(i for i in ("eval_budget_full", "eval_exec", "eval_exec_score") if i in form.by_id),
        kind="flag", applies=Or(tuple(told)) if len(told) > 1 else told[0],
    )]


# (code, settings key, ratio name, numerator and denominator ids, formula in words, op of the norm)
_RATIOS = (
    ("XT503", "staff_control_max", ("base_staff_active", "base_staff_quota"), "在职人数 ÷ 编制数", "<="),
    ("XT504", "sgjf_change_max", ("base_sgjf_final", "base_sgjf_prev"), "(本年决算数 − 上年决算数) ÷ 上年决算数", "<="),
    ("XT505", "public_control_max", ("base_public_final", "base_public_budget"), "决算数 ÷ 预算数", "<="),
    ("XT506", "procurement_min", ("base_procurement_final", "base_procurement_budget"), "实际采购金额 ÷ 采购预算", ">="),
    ("XT507", "carryover_max", ("eval_exec", "eval_budget_full"), "(全年预算数 − 全年执行数) ÷ 全年预算数", "<="),
    ("XT508", "adjustment_max", ("eval_budget_full", "eval_budget_initial"), "|全年预算数 − 年初预算数| ÷ 年初预算数", "<="),
    ("XT509", "sgjf_control_max", ("base_sgjf_final", "base_sgjf_budget"), "决算数 ÷ 预算数", "<="),
)


def department_ratios(form: Form, cfg: ScoringConfig) -> list[Check]:
    out = []
    for code, key, (num, den), words, op in _RATIOS:
        limit = threshold(getattr(cfg.policy.ratios, key))
        if limit is None or not has(form, num, den):
            continue
        n, d = Ref(num), Ref(den)
        if code == "XT504":
            ratio: Expr = Div(Sub(n, d), d)
        elif code == "XT507":
            ratio = Div(Sub(d, n), d)
        elif code == "XT508":
            ratio = Div(Abs(Sub(n, d)), d)
        else:
            ratio = Div(n, d)
        # The figures first (the message quotes them), then the cells they are computed from, which
        # the live marks colour (a computed 三公经费 is no cell a unit types into).
        leaves = [i for i in numeric_leaves(ratio, form.formulas) if form.field(i).is_input and i not in (num, den)]
        out.append(compare(
            form, code, key, Round(ratio, 4), op, Const(limit), fields=(num, den, *leaves), rounding=False, kind="rate",
            applies=all_of(stated(form, n), stated(form, d), Cmp(">", Abs(d), Const(0))), stated=False,
            params={"formula": words},
        ))
    return out


def _direction_deviation(ids: dict[str, str], theta: float) -> Expr:
    # No division: Excel's AND evaluates every argument, and a blank target must not make #VALUE!.
    # Rounded to 6 places: 130 − 100 × 1.3 is −2.8e−14 in binary floats.
    t, a = Ref(ids["target"]), Ref(ids["actual"])
    up = And((TextIs(ids["dir"], "≥"), Cmp(">=", Round(Sub(a, t * (1 + theta)), 6), Const(0))))
    down = And((TextIs(ids["dir"], "≤"), Cmp(">=", Round(Sub(t * (1 - theta), a), 6), Const(0))))
    return Or((up, down))


def deviations(form: Form, cfg: ScoringConfig, named: dict[str, Expr]) -> list[Check]:
    """XT612 per 三级 row with two figures: far beyond the target and no reason given."""
    theta = cfg.indicator.deviation_threshold
    if not theta or theta <= 0:
        return []
    out = []
    for l1, l2, l2_label, j in form.indicator_places():
        ids = indicator_ids(l1, l2, j)
        figures = And((Cmp(">", Ref(ids["target"]), Const(0)), Filled(ids["actual"]),
                       Cmp("=", TextIs(ids["dir"], "定性"), Const(0))))
        out.append(compare(
            form, "XT612", ids["reason"], Filled(ids["reason"]), ">=", Const(1), rounding=False, kind="flag",
            stated=False, fields=(ids["reason"], ids["actual"], ids["target"], ids["dir"], ids["name"]),
            # IF, not AND: Excel evaluates every argument of AND, and a target written as text
            # (达成) must not turn the row into #VALUE!.
            applies=If(And((named[ids["name"]], Cmp("=", Count((ids["target"], ids["actual"])), Const(2)), figures)),
                       _direction_deviation(ids, theta), Const(0)),
            params={"name": f"{l2_label}第{j}行", "indicator": ids["name"], "row": f"{l1}:{l2}:{j}"},
        ))
    return out


def score_inflation(form: Form, cfg: ScoringConfig) -> list[Check]:
    """XT613: Σ indicator 得分 ÷ Σ 分值 − 执行率 above the margin."""
    margin = threshold(cfg.policy.inflation_margin)
    ex = execution(form)
    ids = ("eval_total_score", "eval_exec_score", "eval_total_weight", "eval_exec_weight")
    if margin is None or ex is None or not has(form, *ids):
        return []
    weights = Sub(Ref("eval_total_weight"), Ref("eval_exec_weight"))
    score_rate = Div(Sub(Ref("eval_total_score"), Ref("eval_exec_score")), weights)
    return [compare(
        form, "XT613", "total", Round(Sub(score_rate, ex.rate), 4), "<=", Const(margin), rounding=False,
        kind="rate", stated=False,
        fields=ids + tuple(i for i in ("eval_exec_rate", "eval_budget_full", "eval_exec") if i in form.by_id),
        applies=all_of(ex.defined, Cmp(">", weights, Const(0)), stated(form, ex.spent), Filled("eval_exec_score")),
        params={"margin": f"{margin * 100:g}"},
    )]


def grade(form: Form, cfg: ScoringConfig) -> list[Check]:
    """XT614 where the form states a grade (a field ``eval_grade``)."""
    if not has(form, GRADE_FIELD, "eval_total_score") or not cfg.policy.grades:
        return []
    bands = sorted(cfg.policy.grades, key=lambda b: -b[0])
    stated_index: Expr = Const(0)
    expected: Expr = Const(len(bands))
    for n, (minimum, name) in reversed(list(enumerate(bands, start=1))):
        stated_index = If(TextIs(GRADE_FIELD, name), Const(n), stated_index)
    for n, (minimum, _name) in reversed(list(enumerate(bands, start=1))):
        expected = If(Cmp(">=", Ref("eval_total_score"), Const(minimum - 1e-9)), Const(n), expected)
    return [compare(
        form, "XT614", GRADE_FIELD, stated_index, "=", expected, rounding=False, kind="flag", stated=False,
        fields=(GRADE_FIELD, "eval_total_score"),
        applies=Or(tuple(TextIs(GRADE_FIELD, name) for _m, name in bands)),
        params={"bands": "；".join(f"{name} ≥ {m:g}" for m, name in bands)},
    )]


def indicator_count(form: Form, cfg: ScoringConfig) -> list[Check]:
    """XT615: named 三级指标 (not 无) fewer than the minimum."""
    minimum = cfg.policy.min_indicators
    names = tuple(indicator_ids(l1, l2, j)["name"] for l1, l2, _l, j in form.indicator_places())
    if minimum <= 0 or not names:
        return []
    cells = [form.field(i) for i in names]
    span = len({(f.sheet, f.column) for f in cells}) == 1 and [f.row for f in cells] == list(
        range(cells[0].row, cells[0].row + len(cells)))
    return [compare(
        form, "XT615", "table", CountNamed(names, "无", span), ">=", Const(minimum), rounding=False,
        kind="count", stated=False, fields=names[:1], lhs_label="", params={"minimum": str(minimum)},
    )]
