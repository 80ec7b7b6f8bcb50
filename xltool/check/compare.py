"""Building one rule instance: two sides compared, each stated and at its stated precision."""

from __future__ import annotations


from xltool.check.blanks import all_of, at_precision, numeric_leaves, stated as stated_expr
from xltool.check.catalogue import rule
from xltool.check.finding import Severity
from xltool.check.rule import Check, Rule
from xltool.form.expr import Count, Expr, Ref
from xltool.form.model import Form
from xltool.form.scoring import ScoringConfig
from xltool.record import replace

HALF_CENT = 0.005


def has(form: Form, *ids: str) -> bool:
    """Whether the form pack declares every field a rule reads (a project form has no 附件2)."""
    return all(i in form.by_id for i in ids)


def label(form: Form, fid: str) -> str:
    f = form.field(fid)
    return f"{form.sheet_title(f.sheet)} {f.label}"


def _leaves(form: Form, expr: Expr) -> list[str]:
    return [i for i in numeric_leaves(expr, form.formulas) if i in form.by_id and form.field(i).numeric]


def rounding_allowance(form: Form, lhs: Expr, rhs: Expr) -> Expr | None:
    """(number of stated figures) × 0.005, or None when both sides are one stated figure."""
    single = lambda e: isinstance(e, Ref) and not form.field(e.id).derived  # noqa: E731
    if single(lhs) and single(rhs):
        return None
    leaves = tuple(dict.fromkeys(_leaves(form, lhs) + _leaves(form, rhs)))
    return Count(leaves) * HALF_CENT


def compare(form: Form, code: str, instance: str, lhs: Expr, op: str, rhs: Expr, *, fields=None,
            lhs_label="", rhs_label="", rounding=True, tolerance=0.0, kind="amount", stated=True,
            applies: Expr | None = None, severity_rule: Rule | None = None, **kw) -> Check:
    """``lhs op rhs`` as a rule instance. With *stated* (the default) it applies only when both
    sides are stated (blank is not zero); amounts are compared as stated, to two decimals."""
    fields = tuple(fields or dict.fromkeys(lhs.refs() + rhs.refs()))
    allowance = rounding_allowance(form, lhs, rhs) if rounding else None
    lhs_label = lhs_label or (label(form, lhs.id) if isinstance(lhs, Ref) else "")
    rhs_label = rhs_label or (label(form, rhs.id) if isinstance(rhs, Ref) else "")
    if stated:
        applies = all_of(applies, stated_expr(form, lhs), stated_expr(form, rhs))
    if kind == "amount":
        lhs, rhs = at_precision(lhs), at_precision(rhs)
    return Check(
        rule=severity_rule or rule(code), instance=instance, lhs=lhs, op=op, rhs=rhs, fields=fields,
        tolerance=tolerance, tolerance_expr=allowance, lhs_label=lhs_label, rhs_label=rhs_label,
        rounding=rule("XT202") if allowance is not None else None, kind=kind, applies=applies, **kw,
    )


def below_rule(cfg: ScoringConfig) -> Rule:
    """XT616 at the severity the pack's policy gives it (需要说明 by default)."""
    r = rule("XT616")
    wanted = Severity.ERROR if cfg.policy.below_rule == "error" else Severity.WARNING
    return r if r.severity is wanted else _variant(r, wanted)


_VARIANTS: dict[tuple[str, Severity], Rule] = {}


def _variant(r: Rule, severity: Severity) -> Rule:
    # One object per (code, severity): checks built for the same settings share it.
    key = (r.code, severity)
    if key not in _VARIANTS:
        _VARIANTS[key] = replace(r, severity=severity)
    return _VARIANTS[key]
