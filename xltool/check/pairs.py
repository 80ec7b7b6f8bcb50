"""Statements of one figure (the form's ``concept`` declarations): every pair compared, and a
computed statement with no figures under it named once as a missing breakdown.

The first typed statement of a concept (inputs come before computed totals) is compared with
each other one (XT301). When it is filled, those comparisons are exact (zero tolerance) for
every other typed statement, so any two that both equal it equal each other, and a wrong figure
is reported once; otherwise — it is empty, or the concept has only computed statements,
compared with a rounding allowance — every other pair is compared directly as well. So two
typed statements of one figure are always compared at zero tolerance, never only through a total.
"""

from __future__ import annotations

from itertools import combinations

from xltool.check.blanks import numeric_leaves, stated
from xltool.check.catalogue import rule
from xltool.check.compare import compare, has, label
from xltool.check.rule import Check
from xltool.form.expr import Abs, And, Cmp, Const, Expr, Filled, Or, Ref, Sum
from xltool.form.model import Field, Form, Kind

# 附件3 totals computed from a breakdown and compared with 全年预算数 (XT201).
TOTALS = ("eval_inc_total", "eval_exp_total")


def identities(form: Form) -> list[Check]:
    out = []
    for concept, fields in form.concepts().items():
        kind = "number" if fields[0].kind is Kind.INTEGER else "amount"
        fields = [f for f in fields if not f.derived] + [f for f in fields if f.derived]
        head, rest = fields[0], fields[1:]
        params = {"concept": concept}
        for other in rest:
            out.append(compare(form, "XT301", f"{concept}:{other.id}", Ref(head.id), "=", Ref(other.id),
                               rounding=kind == "amount", kind=kind, params=params))
        # Through a filled input head every pair is compared exactly already; through a computed
        # or empty head it is not: compare the others pairwise.
        via_head = None if head.derived else Cmp("=", Filled(head.id), Const(0))
        for a, b in combinations(rest, 2):
            out.append(compare(form, "XT301", f"{concept}:{a.id}:{b.id}", Ref(a.id), "=", Ref(b.id),
                               rounding=kind == "amount", kind=kind, params=params, applies=via_head))
    return out


def _counterparts(form: Form) -> dict[str, list[str]]:
    """Computed amount → the fields stating the same figure (its concept's others, or 全年预算数)."""
    out: dict[str, list[str]] = {}
    for fields in form.concepts().values():
        for f in fields:
            if f.derived and f.kind is Kind.AMOUNT:
                out.setdefault(f.id, []).extend(o.id for o in fields if o.id != f.id)
    for total in TOTALS:
        if has(form, total, "eval_budget_full"):
            out.setdefault(total, []).append("eval_budget_full")
    return out


def _row_name(form: Form, f: Field) -> str:
    """A breakdown row as a person reads it: its label without the column (“ / 2023年决算数”)."""
    text = f.label.split(" / ")[0]
    for word in (" 年初预算数", " 全年预算数", " 全年执行数"):
        text = text.replace(word, "")
    return text.strip()


def breakdowns(form: Form) -> list[Check]:
    """XT108: a computed total whose breakdown rows are all empty while the figure is stated
    elsewhere (and not zero) — one finding per block of rows, whatever columns it has."""
    groups: dict[tuple, tuple[list[str], list[str], list[str]]] = {}  # key → (totals, leaves, counterparts)
    for total, others in _counterparts(form).items():
        leaves = [i for i in numeric_leaves(Ref(total), form.formulas) if form.field(i).is_input]
        if len(leaves) < 2:
            continue
        sheet = form.field(leaves[0]).sheet
        key = (sheet, tuple(sorted({form.field(i).row for i in leaves})))
        totals, all_leaves, counterparts = groups.setdefault(key, ([], [], []))
        totals.append(total)
        all_leaves.extend(i for i in leaves if i not in all_leaves)
        counterparts.extend(o for o in others if o not in counterparts and o not in totals)
    out = []
    for (sheet, rows), (totals, leaves, counterparts) in groups.items():
        counterparts = [c for c in counterparts if c not in totals]
        if not counterparts:
            continue
        nonzero: list[Expr] = []
        for c in counterparts:
            cond = stated(form, Ref(c))
            nonzero.append(And(((cond,) if cond is not None else ()) + (Cmp(">", Abs(Ref(c)), Const(0)),)))
        names = list(dict.fromkeys(_row_name(form, form.field(i)) for i in leaves))
        shown = "、".join(names[:4]) + ("等" if len(names) > 4 else "")
        out.append(Check(
            rule=rule("XT108"), instance=f"{sheet}:{rows[0]}-{rows[-1]}",
            lhs=Sum(tuple(Filled(i) for i in leaves)), op=">=", rhs=Const(1),
            fields=tuple(totals) + tuple(counterparts), kind="flag",
            applies=nonzero[0] if len(nonzero) == 1 else Or(tuple(nonzero)),
            lhs_label="、".join(label(form, t) for t in totals),
            params={"name": "、".join(label(form, t) for t in totals), "rows": shown,
                    "counterparts": ",".join(counterparts)},
        ))
    return out
