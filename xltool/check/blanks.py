"""Blank is not zero: which side of a comparison is stated at all, and figures at their precision.

A spreadsheet counts an empty cell as 0, so an empty 全年预算数 compared with 89.97 reads as
“0.00 … 差额为-89.97”. A rule instance here applies only when each side it compares is stated:
an input figure is stated when its cell is filled, a computed figure when any figure it is
computed from is filled. An empty required entry is XT103's finding, an empty breakdown
XT108's, an undefined rate XT502's — each said once, never as a difference from zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from xltool.form.expr import And, Const, Expr, Filled, Or, Ref, Round
from xltool.form.model import Form


def numeric_leaves(expr: Expr, formulas: Mapping[str, Expr], _seen: frozenset[str] = frozenset()) -> list[str]:
    """The figures (Ref ids) *expr* finally computes from, expanding computed fields; ids read
    only as text or as “filled?” (TextIs, Filled, Count) are not figures it computes from."""
    out: dict[str, None] = {}
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Ref):
            if node.id in formulas and node.id not in _seen:
                for leaf in numeric_leaves(formulas[node.id], formulas, _seen | {node.id}):
                    out.setdefault(leaf, None)
            else:
                out.setdefault(node.id, None)
            continue
        stack.extend(reversed(list(node.children())))
    return list(out)


def stated(form: Form, expr: Expr) -> Expr | None:
    """“Any figure *expr* computes from is filled”; None when it reads no input (a constant, a
    bureau setting), which is always stated."""
    inputs = [i for i in numeric_leaves(expr, form.formulas) if i in form.by_id and form.field(i).is_input]
    if not inputs:
        return None
    return Filled(inputs[0]) if len(inputs) == 1 else Or(tuple(Filled(i) for i in inputs))


def all_of(*conditions: Expr | None) -> Expr | None:
    """The conjunction of the given conditions (None: no condition)."""
    parts: list[Expr] = []
    for c in conditions:
        if c is None:
            continue
        parts.extend(c.items if isinstance(c, And) else (c,))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else And(tuple(dict.fromkeys(parts)))


def at_precision(expr: Expr) -> Expr:
    """An amount as stated: to two decimals (2701.574 is compared as 2701.57; XT106 says so)."""
    if isinstance(expr, (Const, Round)):
        return expr
    return Round(expr, 2)


def first_stated(form: Form, ids: Iterable[str]) -> Expr:
    """The first of several statements of one figure that is stated (the last one otherwise)."""
    from xltool.form.expr import If

    ids = list(ids)
    expr: Expr = Ref(ids[-1])
    for fid in reversed(ids[:-1]):
        cond = stated(form, Ref(fid))
        expr = expr if cond is None else If(cond, Ref(fid), expr)
    return expr


def statements(form: Form, fid: str) -> list[str]:
    """*fid* and the other fields that state the same concept, *fid* first."""
    concept = form.field(fid).concept if fid in form.by_id else None
    if not concept:
        return [fid]
    others = [f.id for f in form.concepts().get(concept, []) if f.id != fid and f.kind is form.field(fid).kind]
    return [fid, *others]
