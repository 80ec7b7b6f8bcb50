"""Figures a rule's message quotes besides its two sides, from the row or block it is about.

Each message quotes its own row's figures (XT607: this row's score and weight, never the sides
of the “reason filled?” comparison), and a blank or unreadable figure is named as such.
"""

from __future__ import annotations

from collections.abc import Mapping

from xltool.check.rule import Check, Outcome
from xltool.form.model import Form
from xltool.form.scoring import ScoringConfig
from xltool.i18n import _
from xltool.numbers import fmt_amount, fmt_figure, fmt_rate


def _f(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _text(value: object) -> str:
    """A figure as the unit wrote it (“≥50个”) or as a number reads (9.44)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return _("(empty)")
    return value.strip() if isinstance(value, str) else fmt_figure(float(value))  # type: ignore[arg-type]


def _row(check: Check) -> dict[str, str]:
    """The ids of the indicator row a check is about (by its 三级指标 name field)."""
    name = check.params.get("indicator", "")
    stem = name[: -len("_name")] if name.endswith("_name") else ""
    return {k: f"{stem}_{k}" for k in ("target", "actual", "weight", "score", "dir", "reason")} if stem else {}


def flavour_params(check: Check, outcome: Outcome, form: Form, values: Mapping[str, object],
                   shown: Mapping[str, object], cfg: ScoringConfig | None, params: dict[str, object]) -> None:
    code = check.rule.code
    fill = _FILLERS.get(code) or (_ratio if "XT503" <= code <= "XT509" else None)
    if fill is not None:
        fill(check, outcome, form, values, shown, cfg, params)


def _reason(check, outcome, form, values, shown, cfg, params) -> None:  # XT607
    row = _row(check)
    score, weight = _f(values.get(row["score"])), _f(values.get(row["weight"]))
    params["score"], params["weight"] = _text(score), _text(weight)
    if score is not None and weight is not None and score < weight - 1e-9:
        params["detail"] = _("scored {score} of {weight}").format(score=fmt_figure(score), weight=fmt_figure(weight))
    elif values.get(row["dir"]) == "定性":
        params["detail"] = _("judged {judgement}").format(judgement=_text(values.get(row["actual"])))
    else:
        params["detail"] = _("the actual value {actual} misses the target {target}").format(
            actual=_text(shown.get(row["actual"])), target=_text(shown.get(row["target"])))


def _deviation(check, outcome, form, values, shown, cfg, params) -> None:  # XT612
    row = _row(check)
    t, a = _f(values.get(row["target"])), _f(values.get(row["actual"]))
    params["target"], params["actual"] = _text(shown.get(row["target"])), _text(shown.get(row["actual"]))
    params["deviation"] = fmt_rate(abs(a - t) / t) if t and a is not None else "—"
    theta = cfg.indicator.deviation_threshold if cfg else 0.3
    params["threshold"] = fmt_rate(theta)
    points = cfg.indicator.deviation_deduction if cfg else 0
    params["deduction"] = _("; this region deducts {points} points for it (XT605 expects the deducted score)").format(
        points=fmt_figure(points)) if points else ""


def _breakdown(check, outcome, form, values, shown, cfg, params) -> None:  # XT108
    for fid in check.params.get("counterparts", "").split(","):
        value = _f(values.get(fid)) if fid else None
        if value:
            f = form.field(fid)
            params["other_label"] = f"{form.sheet_title(f.sheet)} {f.label}"
            params["other"] = fmt_amount(value)
            return
    params["other_label"], params["other"] = "—", "—"


def _undefined_rate(check, outcome, form, values, shown, cfg, params) -> None:  # XT502
    budget = values.get("eval_budget_full")
    params["budget"] = _("empty") if budget in (None, "") else fmt_amount(_f(budget))
    score = values.get("eval_exec_score")
    params["detail"] = (_("预算执行率得分 {score} cannot be checked").format(score=_text(score))
                        if score not in (None, "") else _("预算执行率得分 cannot be judged"))


_RATIO_SHAPES = {"XT504": "({n} − {d}) ÷ {d}", "XT507": "({d} − {n}) ÷ {d}", "XT508": "|{n} − {d}| ÷ {d}"}


def _ratio(check, outcome, form, values, shown, cfg, params) -> None:  # XT503–XT509
    params["lhs"], params["rhs"] = fmt_rate(outcome.lhs), fmt_rate(outcome.rhs)
    num, den = check.fields[:2]
    figure = fmt_figure if check.rule.code == "XT503" else fmt_amount
    n, d = figure(_f(values.get(num)) or 0.0), figure(_f(values.get(den)) or 0.0)
    shape = _RATIO_SHAPES.get(check.rule.code, "{n} ÷ {d}")
    params["formula"] = f"{check.params.get('formula', '')} = {shape.format(n=n, d=d)}"


def _inflation(check, outcome, form, values, shown, cfg, params) -> None:  # XT613
    total, exec_score = _f(values.get("eval_total_score")) or 0.0, _f(values.get("eval_exec_score")) or 0.0
    weights = (_f(values.get("eval_total_weight")) or 0.0) - (_f(values.get("eval_exec_weight")) or 0.0)
    score_rate = (total - exec_score) / weights if weights else 0.0
    rate = _f(values.get("eval_exec_rate"))
    if rate is None:  # the pack computes no rate field: the one the rule computed
        rate = score_rate - outcome.lhs
    # Both rates and their gap as printed (two decimals of a percent), so the sentence adds up.
    shown_score, shown_rate = round(score_rate * 100, 2), round(rate * 100, 2)
    params["score_rate"] = fmt_rate(shown_score / 100)
    params["rate"] = fmt_rate(shown_rate / 100)
    params["diff"] = fmt_figure(round(shown_score - shown_rate, 2))


def _grade(check, outcome, form, values, shown, cfg, params) -> None:  # XT614
    bands = sorted((cfg.policy.grades if cfg else []), key=lambda b: -b[0])
    score = _f(values.get("eval_total_score")) or 0.0
    params["stated"] = _text(values.get("eval_grade"))
    params["score"] = fmt_figure(score)
    params["expected"] = next((name for minimum, name in bands if score >= minimum - 1e-9), "—")


def _count(check, outcome, form, values, shown, cfg, params) -> None:  # XT615
    params["count"] = fmt_figure(outcome.lhs)


def _band(check, outcome, form, values, shown, cfg, params) -> None:  # XT606, XT616 on a 定性 row
    if not cfg or not check.params.get("band"):
        return
    row = _row(check)
    judgement = values.get(row["actual"])
    weight = _f(values.get(row["weight"]))
    if judgement in cfg.indicator.qualitative and weight is not None:
        lo, hi = cfg.indicator.qualitative[judgement]
        params["band"] = _("{judgement} {low}–{high} of the weight ({a}–{b} points)").format(
            judgement=judgement, low=f"{lo:.0%}", high=f"{hi:.0%}", a=fmt_figure(round(lo * weight, 2)),
            b=fmt_figure(round(hi * weight, 2)))


def _incomplete(check, outcome, form, values, shown, cfg, params) -> None:  # XT608
    params["missing"] = "、".join(form.field(fid).label.split(" ")[-1] for fid in missing_parts(check, values)) or "—"


def missing_parts(check: Check, values: Mapping[str, object]) -> list[str]:
    """The parts of an indicator row XT608 finds empty, in the row's order (a direction is stated
    by its column or by a target written as text, as the rule counts it)."""
    row = _row(check)
    if not row:
        return []
    blank = lambda fid: values.get(fid) is None or (isinstance(values.get(fid), str) and not values[fid].strip())  # noqa: E731
    out = []
    for part in ("dir", "target", "actual", "weight", "score"):
        fid = row[part]
        if part == "dir":
            target = values.get(row["target"])
            if blank(fid) and not (isinstance(target, str) and target.strip()):
                out.append(fid)
        elif part in ("weight", "score"):
            if not isinstance(values.get(fid), (int, float)) or isinstance(values.get(fid), bool):
                out.append(fid)
        elif blank(fid):
            out.append(fid)
    return out


def missing_first(check: Check, values: Mapping[str, object], cells: list) -> list:
    """XT608 cites the row's name, then the cells it finds empty, then the filled ones: a
    reviewer sees first what to fill (a list showing a few cells shows those)."""
    if check.rule.code != "XT608":
        return cells
    empty = set(missing_parts(check, values))
    return cells[:1] + [c for c in cells[1:] if c.field_id in empty] + [c for c in cells[1:] if c.field_id not in empty]


_FILLERS = {
    "XT607": _reason, "XT612": _deviation, "XT108": _breakdown, "XT502": _undefined_rate,
    "XT613": _inflation, "XT614": _grade, "XT615": _count, "XT606": _band, "XT616": _band, "XT608": _incomplete,
}
