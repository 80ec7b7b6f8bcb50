"""Rule instances generated from the form: which fields each rule compares.

Nothing here names a cell. Identities come from the form's ``concept`` tags, totals
from its derived fields and lists, scoring from the indicator tree and the scoring
configuration. The result drives both the Python checker and the 审核 sheet.
"""

from __future__ import annotations

from functools import lru_cache

from xltool.check import pairs, policy
from xltool.check.catalogue import rule
from xltool.check.compare import below_rule, compare as _compare, has as _has, label as _label
from xltool.check.rule import Check
from xltool.form.expr import (
    Abs, And, Or, Cmp, Const, Count, Div, Expr, Filled, If, IsText, Max, Min, Ref, Round, Sub, Sum, TextIs, total,
)
from xltool.form.model import Form
from xltool.form.scoring import ScoringConfig
from xltool.form.selfeval import BASE_COLUMNS, build_form, indicator_ids

# 附件2 rows with 其中 rows under them: (parent, its 其中 rows).
OF_WHICH = (("car", ("car_buy", "car_run")), ("public", ("office", "utilities", "meeting")))


def _required(form: Form) -> list[Check]:
    return [
        Check(rule=rule("XT103"), instance=f.id, lhs=Filled(f.id), op=">=", rhs=Const(1), fields=(f.id,),
              lhs_label=_label(form, f.id), kind="flag")
        for f in form.inputs if f.required
    ]


def _half_rows(form: Form) -> list[Check]:
    out = []
    # (list, name, main figure, the row's other figures, rows): a name needs the main figure and
    # the main figure a name; any other figure of the row also needs a name.
    lists = (
        ("fin_proj", "fin_proj_{i}_name", "fin_proj_{i}_amount", ()),
        ("proj", "proj_{i}_name", "proj_{i}_actual", ("proj_{i}_initial", "proj_{i}_adjust", "proj_{i}_balance")),
        ("base_zx", "base_zx_{i}_name", "base_zx_{i}_final", ("base_zx_{i}_prev", "base_zx_{i}_budget")),
        ("base_bld", "base_bld_{i}_name", "base_bld_{i}_area_approved",
         ("base_bld_{i}_area_actual", "base_bld_{i}_invest_budget", "base_bld_{i}_invest_actual")),
    )
    for group, name, amount, others in lists:
        for i in range(1, form.lists.get(group, 0) + 1):  # the pack's row count; a pack may omit a list
            n, a = name.format(i=i), amount.format(i=i)
            sheet = form.sheet_title(form.field(n).sheet)
            out.append(Check(
                rule=rule("XT105"), instance=f"{group}:{i}", lhs=Filled(n), op="=", rhs=Filled(a), fields=(n, a),
                lhs_label=form.field(n).label.split(" ")[-1], rhs_label=form.field(a).label.split(" ")[-1],
                kind="flag", params={"row": str(i), "list": sheet},
            ))
            rest = tuple(o.format(i=i) for o in others)
            if rest:
                out.append(Check(
                    rule=rule("XT105"), instance=f"{group}:{i}:figures", lhs=Filled(n), op=">=",
                    rhs=Or(tuple(Filled(r) for r in rest)), fields=(n, *rest),
                    lhs_label=form.field(n).label.split(" ")[-1],
                    rhs_label="、".join(form.field(r).label.split(" ")[-1] for r in rest),
                    kind="flag", params={"row": str(i), "list": sheet},
                ))
    return out


def _totals(form: Form) -> list[Check]:
    out = []
    # 附件3: both breakdowns of 全年预算数 must add up to it.
    for total_id in ("eval_inc_total", "eval_exp_total"):
        if not _has(form, total_id, "eval_budget_full"):
            continue
        out.append(_compare(form, "XT201", total_id, form.formulas[total_id], "=", Ref("eval_budget_full"),
                            fields=(total_id, "eval_budget_full"), lhs_label=_label(form, total_id)))
    if _has(form, "info_staff_active", "info_staff_retired", "info_staff_total"):
        staff = Ref("info_staff_active") + Ref("info_staff_retired")
        out.append(_compare(form, "XT201", "info_staff_total", staff, "=", Ref("info_staff_total"), rounding=False,
                            lhs_label="在职人员 + 退休人员", kind="number"))
    # 其中 rows never exceed their parent.
    for parent, parts in OF_WHICH:
        for col, _ in BASE_COLUMNS:
            lhs = total(f"base_{p}_{col}" for p in parts)
            pid = f"base_{parent}_{col}"
            if not _has(form, pid, *(f"base_{p}_{col}" for p in parts)):
                continue
            out.append(_compare(form, "XT203", pid, lhs, "<=", Ref(pid), lhs_label="其中合计"))
    return out + _of_which_blank(form)


def _of_which_blank(form: Form) -> list[Check]:
    """XT108 for a 其中 block: every 其中 cell empty under a parent stated (not zero) — a missing
    breakdown, said once per block rather than compared as 0.00 column by column."""
    out = []
    for parent, parts in OF_WHICH:
        parents = [f"base_{parent}_{col}" for col, _ in reversed(BASE_COLUMNS)]  # the year's 决算数 first
        cells = [f"base_{p}_{col}" for p in parts for col, _ in BASE_COLUMNS]
        parents, cells = [i for i in parents if i in form.by_id], [i for i in cells if i in form.by_id]
        if not parents or not cells:
            continue
        stated_nonzero = tuple(Cmp(">", Abs(Ref(i)), Const(0)) for i in parents)
        names = list(dict.fromkeys(form.field(i).label.split(" / ")[0] for i in cells))
        name = _label(form, parents[0]).split(" / ")[0]
        out.append(Check(
            rule=rule("XT108"), instance=f"of_which:{parent}",
            lhs=Sum(tuple(Filled(i) for i in cells)), op=">=", rhs=Const(1),
            fields=tuple(parents) + tuple(cells), kind="flag",
            applies=stated_nonzero[0] if len(stated_nonzero) == 1 else Or(stated_nonzero),
            lhs_label=name, params={"name": name, "rows": "、".join(names), "counterparts": ",".join(parents)},
        ))
    return out


def _flows(form: Form) -> list[Check]:
    out = []
    for i in range(1, form.lists.get("proj", 0) + 1):
        p = lambda k: f"proj_{i}_{k}"  # noqa: E731
        lhs = Ref(p("initial")) + Ref(p("adjust")) - Ref(p("actual"))
        out.append(_compare(
            form, "XT401", str(i), lhs, "=", Ref(p("balance")), stated=False,
            fields=(p("initial"), p("adjust"), p("actual"), p("balance"), p("name")),
            # Projects of the 年初预算, and any project with a 年中调整 (added or changed mid-year).
            applies=Or((And((TextIs(p("initial_flag"), "是"), Filled(p("initial")))), Filled(p("adjust")))),
            params={"row": str(i)},
        ))
    if not _has(form, "eval_budget_full", "eval_exec", "proj_total_balance", "proj_total_actual", "proj_total_initial",
                "eval_exp_project", "eval_exp_basic", "eval_budget_initial", "base_basic_adjust_final", "proj_1_initial"):
        return out  # a form without the project list and 附件2 (e.g. the project-level form)
    unspent = Ref("eval_budget_full") - Ref("eval_exec")
    out.append(_compare(form, "XT402", "overall", unspent, "=", Ref("proj_total_balance"),
                        fields=("eval_budget_full", "eval_exec", "proj_total_balance"), lhs_label="全年预算数 − 全年执行数",
                        applies=Filled("eval_budget_full")))
    spent_plus = Ref("proj_total_actual") + Ref("proj_total_balance")
    out.append(_compare(form, "XT403", "overall", Ref("eval_exp_project"), "=", spent_plus,
                        fields=("eval_exp_project", "proj_total_actual", "proj_total_balance"),
                        rhs_label="项目绩效 实际支出合计 + 结余结转合计",
                        applies=Filled("eval_exp_project")))
    change = Ref("eval_exp_basic") - (Ref("eval_budget_initial") - Ref("proj_total_initial"))
    out.append(_compare(form, "XT404", "overall", Ref("base_basic_adjust_final"), "=", change, stated=False,
                        fields=("base_basic_adjust_final", "eval_exp_basic", "eval_budget_initial", "proj_total_initial"),
                        applies=And((Filled("eval_exp_basic"), Filled("proj_1_initial")))))
    return out


def _ratios(form: Form) -> list[Check]:
    if not _has(form, "proj_exec_rate", "eval_exec", "eval_budget_full"):
        return []
    rate = Div(Ref("eval_exec"), Ref("eval_budget_full"))
    return [_compare(
        form, "XT501", "proj_exec_rate", Ref("proj_exec_rate"), "=", Round(rate, 4),
        fields=("proj_exec_rate", "eval_exec", "eval_budget_full"), rounding=False, tolerance=0.00005,
        kind="rate", applies=Filled("proj_exec_rate"), params={"definition": "预算执行率 = 全年执行数 ÷ 全年预算数"},
    )]


def _execution_expected(cfg: ScoringConfig, rate: Expr) -> Expr:
    weight = Ref("eval_exec_weight")
    if cfg.execution.method == "linear":
        return Min((weight, Round(weight * rate, 2)))
    expr: Expr = Const(0)
    for minimum, share in sorted(cfg.execution.thresholds):
        expr = If(Cmp(">=", rate, Const(minimum - 1e-9)), Round(weight * share, 2), expr)
    return expr


def _indicator_expected(ids: dict[str, str], cfg: ScoringConfig) -> Expr:
    w, t, a = Ref(ids["weight"]), Ref(ids["target"]), Ref(ids["actual"])
    ratio = Div(a, t)
    up = If(Cmp(">=", a, t), w, Round(ratio * w, 2))
    if cfg.indicator.deviation_deduction:
        limit = t * (1 + cfg.indicator.deviation_threshold)
        up = If(Cmp(">=", a, limit), Max((Const(0), w - cfg.indicator.deviation_deduction)), up)
    over = Div(a - t, t)
    down = If(Cmp("<=", a, t), w, If(Cmp(">=", a, t * 2), Const(0), Round((Const(1) - over) * w, 2)))
    gap = Div(Abs(a - t), t)
    equal = If(Cmp("=", a, t), w, Max((Const(0), Round((Const(1) - gap) * w, 2))))
    return If(TextIs(ids["dir"], "≥"), up, If(TextIs(ids["dir"], "≤"), down, equal))


def _scoring(form: Form, cfg: ScoringConfig) -> list[Check]:
    # Every form with indicators has the execution row: a pack without it is refused (forms check).
    out = [_compare(form, "XT601", "eval_exec_score", Ref("eval_exec_score"), "<=", Ref("eval_exec_weight"),
                    rounding=False, kind="number", applies=Filled("eval_exec_score"))]
    out.append(_compare(form, "XT603", "total", Ref("eval_total_weight"), "=", Const(100), rounding=False,
                        kind="number", fields=("eval_total_weight",), rhs_label="100", stated=False))
    ex = policy.execution(form)
    if ex is not None:
        # Judged only where 执行率 is defined, from the figures that are there (XT502 says when not):
        # above the rule is 自评得分虚高 (XT604), below it the unit was stricter (XT616).
        expected = _execution_expected(cfg, ex.rate)
        kw = dict(rounding=False, tolerance=cfg.score_tolerance, kind="number", stated=False,
                  fields=("eval_exec_score", "eval_exec_rate", "eval_exec_weight"),
                  applies=And((Filled("eval_exec_score"), ex.defined)),
                  params={"method": "分值 × 执行率，最高为分值" if cfg.execution.method == "linear" else "按执行率分档",
                          "name": "预算执行率得分"})
        out.append(_compare(form, "XT604", "eval_exec_score", Ref("eval_exec_score"), "<=", expected, **kw))
        out.append(_compare(form, "XT616", "eval_exec_score", Ref("eval_exec_score"), ">=", expected,
                            severity_rule=below_rule(cfg), **kw))
    if cfg.caps.enabled:
        cap: Expr = Const(cfg.caps.bands[-1][1])
        for minimum, limit in sorted(cfg.caps.bands):
            cap = If(Cmp(">=", Ref("eval_exec_rate"), Const(minimum - 1e-9)), Const(limit), cap)
        out.append(_compare(form, "XT609", "total", Ref("eval_total_score"), "<=", cap, rounding=False,
                            kind="number", fields=("eval_total_score", "eval_exec_rate")))
    named = {}
    for l1, l1_label, children in form.tree:
        rows = [indicator_ids(l1, l2, j) for l2, _ in children for j in range(1, form.rows_of(l1, l2) + 1)]
        out.append(_compare(
            form, "XT602", l1, total(r["weight"] for r in rows), "=", Ref(f"guide_w_{l1}"), rounding=False,
            kind="number", fields=tuple(r["weight"] for r in rows) + (f"guide_w_{l1}",), params={"name": l1_label},
            stated=False,
        ))
        for l2, l2_label in children:
            for j in range(1, form.rows_of(l1, l2) + 1):
                ids = indicator_ids(l1, l2, j)
                named[ids["name"]] = And((Filled(ids["name"]), Cmp("=", TextIs(ids["name"], "无"), Const(0))))
                out += _indicator_checks(form, cfg, ids, f"{l2_label}第{j}行", named[ids["name"]])
    out += policy.deviations(form, cfg, named)
    return out


def _missed(ids: dict[str, str], cfg: ScoringConfig) -> Expr:
    """The row missed its target: an actual short of a ≥ target, above a ≤ target, off an = target,
    or a 定性 judgement below the first (达成)."""
    t, a = Ref(ids["target"]), Ref(ids["actual"])
    two = Cmp("=", Count((ids["target"], ids["actual"])), Const(2))
    lower = tuple(TextIs(ids["actual"], j) for j in list(cfg.indicator.qualitative)[1:])
    return Or((
        And((TextIs(ids["dir"], "≥"), two, Cmp("<", a, t))),
        And((TextIs(ids["dir"], "≤"), two, Cmp(">", a, t))),
        And((TextIs(ids["dir"], "="), two, Cmp("=", Cmp("=", a, t), Const(0)))),
        And((TextIs(ids["dir"], "定性"), Or(lower))),
    ))


def _indicator_checks(form: Form, cfg: ScoringConfig, ids: dict[str, str], where: str, named: Expr) -> list[Check]:
    scored = And((Filled(ids["score"]), Filled(ids["weight"])))
    quantitative = And((named, scored, Cmp("=", TextIs(ids["dir"], "定性"), Const(0)), Filled(ids["dir"]),
                        Cmp(">", Count((ids["target"], ids["actual"])), Const(1))))
    params = {"name": where, "indicator": ids["name"]}
    kw = {"rounding": False, "kind": "number", "params": params, "stated": False}
    score_fields = (ids["score"], ids["target"], ids["actual"], ids["weight"], ids["dir"], ids["name"])
    checks = [
        _compare(form, "XT601", ids["score"], Ref(ids["score"]), "<=", Ref(ids["weight"]),
                 applies=scored, fields=(ids["score"], ids["weight"], ids["name"]), **kw),
        # Above the rule is 自评得分虚高 (XT605); below it the unit was stricter than the rule (XT616).
        _compare(form, "XT605", ids["score"], Ref(ids["score"]), "<=", _indicator_expected(ids, cfg),
                 applies=quantitative, tolerance=cfg.score_tolerance, fields=score_fields, **kw),
        _compare(form, "XT616", ids["score"], Ref(ids["score"]), ">=", _indicator_expected(ids, cfg),
                 applies=quantitative, tolerance=cfg.score_tolerance, fields=score_fields,
                 severity_rule=below_rule(cfg), **kw),
        _compare(form, "XT607", ids["reason"], Filled(ids["reason"]), ">=", Const(1),
                 applies=And((named, scored, Or((Cmp("<", Ref(ids["score"]), Ref(ids["weight"])), _missed(ids, cfg))))),
                 fields=(ids["reason"], ids["score"], ids["weight"], ids["target"], ids["actual"], ids["dir"],
                         ids["name"]),
                 lhs_label="", **{**kw, "kind": "flag"}),
    ]
    # Figures on a row without an indicator name are not scored by anyone: the row needs its name.
    figures = (ids["dir"], ids["target"], ids["actual"], ids["weight"], ids["score"])
    checks.append(Check(
        rule=rule("XT105"), instance=f"{ids['name']}:figures", lhs=Filled(ids["name"]), op=">=",
        rhs=Or(tuple(Filled(f) for f in figures)), fields=(ids["name"], *figures),
        lhs_label=form.field(ids["name"]).label.split(" ")[-1], rhs_label="指标方向、指标值、分值、得分",
        kind="flag", params={"row": where, "list": form.sheet_title(form.field(ids["name"]).sheet)},
    ))
    checks.append(_compare(
        form, "XT611", ids["name"], Filled(ids["target"]) + Filled(ids["actual"]) + Abs(Ref(ids["weight"]))
        + Abs(Ref(ids["score"])), "=", Const(0), applies=TextIs(ids["name"], "无"),
        fields=(ids["name"], ids["target"], ids["actual"], ids["weight"], ids["score"]), **kw,
    ))
    # Complete: a target and an actual value (a number, ≥50个, or qualitative text), weight and
    # score, and a direction — in its column, or stated by a target written as text.
    filled = (Count((ids["weight"], ids["score"])) + Filled(ids["target"]) + Filled(ids["actual"])
              + Or((Filled(ids["dir"]), IsText(ids["target"]))))
    # A count of entries (5 of 5), not money: its figures and 差额 read as whole numbers.
    checks.append(_compare(form, "XT608", ids["name"], filled, "=", Const(5), applies=named,
                           fields=(ids["name"], ids["dir"], ids["target"], ids["actual"], ids["weight"], ids["score"]),
                           **{**kw, "kind": "count"}))
    # 定性: the score must lie in the band of the judgement given as the actual value: above it is
    # 自评得分虚高 (XT606), below it the unit was stricter than the rule (XT616).
    w, s = Ref(ids["weight"]), Ref(ids["score"])
    low: Expr = Const(0)
    high: Expr = Const(0)
    known = []
    for judgement, (lo, hi) in cfg.indicator.qualitative.items():
        low = If(TextIs(ids["actual"], judgement), Const(lo), low)
        high = If(TextIs(ids["actual"], judgement), Const(hi), high)
        known.append(TextIs(ids["actual"], judgement))
    bands = "；".join(f"{j} {lo:.0%}–{hi:.0%}" for j, (lo, hi) in cfg.indicator.qualitative.items())
    band_kw = dict(applies=And((named, scored, TextIs(ids["dir"], "定性"), Or(tuple(known)))),
                   fields=(ids["score"], ids["actual"], ids["weight"], ids["name"]), tolerance=cfg.score_tolerance,
                   rounding=False, kind="number", stated=False, params={**params, "band": bands})
    checks.append(_compare(form, "XT606", ids["score"], s, "<=", Round(w * high, 2), **band_kw))
    checks.append(_compare(form, "XT616", f"{ids['score']}:band", s, ">=", Round(w * low, 2),
                           severity_rule=below_rule(cfg), **band_kw))
    return checks


# Figures an indicator may be named after, by the name it would carry.
NAMED_FIGURES = {
    "基本支出": "fin_basic",
    "人员经费": "fin_staff_cost",
    "公用经费": "fin_public_cost",
    "项目支出": "fin_proj",
    "三公经费": "base_sgjf_final",
}


def _named_figures(form: Form) -> list[Check]:
    out = []
    for l1, l2, l2_label, j in form.indicator_places():
        ids = indicator_ids(l1, l2, j)
        for name, fid in NAMED_FIGURES.items():
            if fid not in form.by_id:
                continue
            out.append(_compare(
                form, "XT610", f"{ids['actual']}:{fid}", Ref(ids["actual"]), "=", Ref(fid),
                applies=And((TextIs(ids["name"], name), Filled(ids["actual"]))), rounding=False,
                fields=(ids["actual"], fid, ids["name"]),
                params={"name": f"{l2_label}第{j}行", "indicator": ids["name"]},
            ))
    return out


def _plausibility(form: Form, cfg: ScoringConfig) -> list[Check]:
    p = cfg.plausibility
    # (fields the check reads, the check): a form pack without those fields goes without it.
    candidates = [
        (("eval_exec", "eval_budget_full"), lambda: _compare(
            form, "XT702", "eval_exec", Ref("eval_exec"), "<=", Ref("eval_budget_full"))),
        (("base_staff_active", "base_staff_quota"), lambda: _compare(
            form, "XT704", "staff", Ref("base_staff_active"), "<=", Ref("base_staff_quota"), rounding=False,
            kind="number", applies=Filled("base_staff_quota"))),
        (("info_year",), lambda: _compare(
            form, "XT705", "year", Ref("info_year"), "=", Const(form.year), rounding=False, kind="year",
            fields=("info_year",), rhs_label=str(form.year), applies=Filled("info_year"))),
        (("fin_income", "fin_exp"), lambda: _compare(
            form, "XT709", "income", Abs(Ref("fin_income") - Ref("fin_exp")), "<=",
            Ref("fin_exp") * p.income_gap_ratio, fields=("fin_income", "fin_exp"), rounding=False,
            applies=Filled("fin_income"), params={"share": f"{p.income_gap_ratio:.0%}"})),
        (("base_procurement_final", "eval_exec"), lambda: _compare(
            form, "XT710", "final", Ref("base_procurement_final"), "<=", Ref("eval_exec"))),
        (("base_procurement_budget", "eval_budget_full"), lambda: _compare(
            form, "XT710", "budget", Ref("base_procurement_budget"), "<=", Ref("eval_budget_full"))),
    ]
    out = [make() for ids, make in candidates if _has(form, *ids)]
    for i in range(1, form.lists.get("base_bld", 0) + 1):
        b = f"base_bld_{i}"
        out.append(_compare(form, "XT703", f"{b}:area", Ref(f"{b}_area_actual"), "<=", Ref(f"{b}_area_approved"),
                            rounding=False, kind="number", applies=Filled(f"{b}_area_approved")))
        out.append(_compare(form, "XT703", f"{b}:invest", Ref(f"{b}_invest_actual"), "<=", Ref(f"{b}_invest_budget"),
                            applies=Filled(f"{b}_invest_budget")))
    rows = [f.id[5:-6] for f in form.fields if f.sheet == "base" and f.id.endswith("_final")
            and f"{f.id[:-6]}_budget" in form.by_id]
    parent_of = {part: parent for parent, parts in OF_WHICH for part in parts}
    for key in rows:
        prev, budget, final = (f"base_{key}_{c}" for c, _ in BASE_COLUMNS)
        label = _label(form, final).rsplit(" / ", 1)[0]
        threshold = lambda base: Max((Abs(Ref(base)) * p.change_ratio, Const(p.change_amount)))  # noqa: E731
        # A 其中 row that repeats its parent's figures (the only 其中 row used) has the parent's
        # deviation: the parent's finding says it once.
        parent = parent_of.get(key)
        own = lambda *cols: (  # noqa: E731
            None if parent is None else
            Cmp("=", And(tuple(Cmp("=", Ref(f"base_{key}_{c}"), Ref(f"base_{parent}_{c}")) for c in cols)), Const(0)))
        if prev in form.by_id:
            out.append(_compare(form, "XT706", key, Abs(Ref(final) - Ref(prev)), "<=", threshold(prev),
                                fields=(final, prev), rounding=False, params={"label": label},
                                applies=own("final", "prev")))
        out.append(_compare(form, "XT707", key, Abs(Ref(final) - Ref(budget)), "<=", threshold(budget),
                            fields=(final, budget), rounding=False, params={"label": label},
                            applies=own("final", "budget")))
    for key in ("car", "car_buy", "car_run", "abroad", "reception"):
        if not _has(form, f"base_{key}_final", f"base_{key}_budget"):
            continue
        out.append(_compare(form, "XT708", key, Ref(f"base_{key}_final"), "<=", Ref(f"base_{key}_budget"),
                            rounding=False, applies=Filled(f"base_{key}_budget")))
    return out


@lru_cache(maxsize=16)
def _checks(year: int, cfg_json: str, form_id: str) -> tuple[Check, ...]:
    cfg = ScoringConfig.from_json(cfg_json)
    return _checks_for_form(build_form(year, cfg, form_id or None), cfg)


def _checks_for_form(form: Form, cfg: ScoringConfig) -> tuple[Check, ...]:
    checks = (
        _required(form) + _half_rows(form) + _totals(form) + pairs.breakdowns(form) + pairs.identities(form)
        + _flows(form) + _ratios(form) + policy.undefined_rate(form) + policy.department_ratios(form, cfg)
        + _scoring(form, cfg) + policy.score_inflation(form, cfg) + policy.grade(form, cfg)
        + policy.indicator_count(form, cfg) + _named_figures(form) + _plausibility(form, cfg)
    )
    keys = [c.key for c in checks]
    assert len(keys) == len(set(keys)), "rule instance keys must be unique"
    return tuple(checks)


def build_checks(year: int, cfg: ScoringConfig | None = None, form_id: str = "") -> tuple[Check, ...]:
    """The rule instances of the form pack *form_id* (the default form when empty) for *year*."""
    from xltool.form.selfeval import default_scoring

    return _checks(year, (cfg or default_scoring(form_id or None)).to_json(), form_id)


__all__ = ["build_checks", "Sub", "Sum"]
