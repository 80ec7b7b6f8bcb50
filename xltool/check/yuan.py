"""XT107: an amount typed in 元 into a form whose amounts are in 万元.

Units copy figures from accounts kept in 元 (24,502,100.00 where 2,450.21 万元 is meant). A size
threshold alone cannot tell such a figure from a large budget, so the evidence is another
statement of the same quantity: a relation of the form that fails (one figure stated twice, a
total and its parts, a project's budget flow) and holds, at the precision the figures are
stated, once this one figure is divided by 10,000. Only equalities are used (an inequality
such as 其中 ≤ parent would hold for any figure made small enough), and the other side must
state a figure (not 0.00 or blank), so a figure is never said to be in 元 because its partner
is empty. The relation's own finding (XT301, XT201 …) stands; this one says why.
"""

from __future__ import annotations

from collections.abc import Mapping

from xltool.check.catalogue import rule
from xltool.check.finding import Finding
from xltool.check.rule import Check, Outcome, evaluate
from xltool.form.expr import evaluate_all, excel_round, leaf_refs
from xltool.form.model import Form, Kind
from xltool.i18n import _
from xltool.numbers import fmt_amount
from xltool.read.reader import cell_ref

YUAN_PER_WAN = 10_000
SMALLEST = 100.0  # 100 元 = 0.01 万元: a smaller figure divided by 10,000 states nothing at two decimals


def yuan_findings(form: Form, outcomes: list[Outcome], values: Mapping[str, object],
                  shown: Mapping[str, object] | None = None) -> list[Finding]:
    """XT107 for each amount that, divided by 10,000, makes a failed equality of *outcomes* hold
    (*values*: what the rules judged; *shown*: the values as read, which the cells quote)."""
    shown = values if shown is None else shown
    found: dict[str, Finding] = {}
    for outcome in outcomes:
        check = outcome.check
        if check.op != "=" or check.kind != "amount" or outcome.rule is not check.rule:
            continue  # an inequality, a rate or count, or a rounding note: no evidence of a unit
        for fid in _candidates(form, check, values, outcome.diff):
            if fid in found:
                continue
            trial = _scaled(form, values, fid)
            if not _holds(check, trial):
                continue
            found[fid] = _finding(form, check, fid, values, trial, shown)
    return list(found.values())


_LEAVES: dict[int, tuple[Mapping, dict[str, frozenset[str]]]] = {}


def _leaves(form: Form) -> dict[str, frozenset[str]]:
    """Each derived field's input leaves, once per form (the same form judges every workbook)."""
    formulas = form.formulas
    hit = _LEAVES.get(id(formulas))
    if hit is not None and hit[0] is formulas:
        return hit[1]
    leaves = {d: frozenset(leaf_refs(expr, formulas)) for d, expr in formulas.items()}
    if len(_LEAVES) > 32:
        _LEAVES.clear()
    _LEAVES[id(formulas)] = (formulas, leaves)
    return leaves


def _candidates(form: Form, check: Check, values: Mapping[str, object], diff: float) -> list[str]:
    """Input amounts of the relation large enough to be a figure in 元 and whose scaling could close
    the gap: a figure enters an equality of amounts once, so dividing it by 10,000 moves the
    difference by 0.9999 of it (a cheap sieve before the relation is evaluated again)."""
    leaves = _leaves(form)
    out: dict[str, None] = {}
    for ref in check.lhs.refs() + check.rhs.refs():
        for fid in leaves.get(ref, (ref,)):
            f = form.by_id.get(fid)
            value = values.get(fid)
            if (f is None or not f.is_input or f.kind is not Kind.AMOUNT or not isinstance(value, (int, float))
                    or isinstance(value, bool) or abs(value) < SMALLEST):
                continue
            if abs(abs(diff) - abs(value) * (1 - 1 / YUAN_PER_WAN)) <= max(1.0, abs(value) * 1e-6):
                out.setdefault(fid, None)
    return list(out)


def _scaled(form: Form, values: Mapping[str, object], fid: str) -> dict[str, object]:
    """*values* with *fid* divided by 10,000 and every derived figure resting on it recomputed
    (the others kept as they are, e.g. a sub-total a Word report states without its rows)."""
    trial = dict(values)
    trial[fid] = float(values[fid]) / YUAN_PER_WAN  # type: ignore[arg-type]
    kept = {d: v for d, leaves in _leaves(form).items() if fid not in leaves
            and isinstance(v := values.get(d), (int, float))}
    trial.update(evaluate_all(form.formulas, trial, kept))
    return trial


def _holds(check: Check, trial: Mapping[str, object]) -> bool:
    """The relation holds on *trial* (or differs by rounding only), between two stated figures."""
    outcome = evaluate(check, trial)
    if outcome is not None and outcome.rule is check.rule:
        return False
    sides = [check.lhs.evaluate(trial), check.rhs.evaluate(trial)]
    return all(isinstance(v, float) and excel_round(abs(v), 2) > 0 for v in sides)


def _other_side(form: Form, check: Check, fid: str) -> tuple[str, object]:
    """(label, expression) of the side of *check* that does not hold *fid*."""
    in_lhs = fid in leaf_refs(check.lhs, form.formulas)
    label, expr = (check.rhs_label, check.rhs) if in_lhs else (check.lhs_label, check.lhs)
    if not label:
        refs = [r for r in leaf_refs(expr, form.formulas) if r in form.by_id]
        names = [form.field(r).label for r in refs[:2]]
        label = "、".join(names) + ("等" if len(refs) > 2 else "")
    return label, expr


def _finding(form: Form, check: Check, fid: str, values, trial, shown) -> Finding:
    r = rule("XT107")
    f = form.field(fid)
    value = float(values[fid])
    scaled = value / YUAN_PER_WAN
    other_label, other_expr = _other_side(form, check, fid)
    other = other_expr.evaluate(trial)  # type: ignore[attr-defined]
    params = {"label": f"{form.sheet_title(f.sheet)} {f.label}", "where": form.where(fid), "value": fmt_amount(value),
              "scaled": fmt_amount(excel_round(scaled, 2)), "other_label": other_label,
              "other": fmt_amount(other)}
    cells = [cell_ref(form, fid, shown.get(fid))]
    cells += [cell_ref(form, i, shown.get(i)) for i in check.fields if i != fid and i in form.by_id]
    return Finding(
        code="XT107", severity=r.severity, message=r.message().format(**params), fix=r.fix().format(**params),
        cells=cells, expected=round(scaled, 6), actual=round(value, 6), kind="amount", instance=fid,
        confidence="medium",
        basis=[_("inferred: {label} divided by 10,000 agrees with {other_label}").format(**params)],
    )
