"""A form's rule instances as the checker judges them, kept in the on-disk cache (``xltool.cache``).

Building the ≈1,000 instances of a form (``build_checks``) takes longer than judging a workbook
with them, and the first check of every process paid it. The checker needs little of each
instance to judge: its operator, allowance and rules. So the set is stored under the rules key
(pack, year, settings, code: ``checker._rules_key``) as those heads, the coverage plan, and each
instance's full declaration as plain data, rebuilt only for the instances that fire. An entry is
used only when it names the same key and format and every part has the expected shape; anything
else is built afresh (and stored again). Only what xltool derived from its own packs is stored.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable

from xltool.check.rule import Check, Rule

FORMAT = 1
_SETS: dict[str, "StoredChecks"] = {}  # this process's sets, by key


class Head:
    """What judging an instance needs (see ``rule._judge``)."""

    __slots__ = ("op", "tolerance", "rule", "rounding")

    def __init__(self, op: str, tolerance: float, rule: Rule, rounding: Rule | None) -> None:
        self.op, self.tolerance, self.rule, self.rounding = op, tolerance, rule, rounding


class StoredChecks:
    """The instances of one rule set: heads to judge, the coverage plan, whole checks on demand."""

    def __init__(self, key: str, heads: tuple[Head, ...], plan: dict, plain: tuple[bytes, ...],
                 rules: Callable[[str, str], Rule]) -> None:
        self.key, self.heads, self.coverage_plan, self._plain, self._rules = key, heads, plan, plain, rules
        self._built: dict[int, Check] = {}

    def __len__(self) -> int:
        return len(self.heads)

    def all(self) -> tuple[Check, ...]:
        return tuple(self.check(n) for n in range(len(self.heads)))

    def check(self, n: int) -> Check:
        """The *n*-th instance, as ``build_checks`` built it."""
        hit = self._built.get(n)
        if hit is None:
            hit = self._built[n] = _check_from(marshal.loads(self._plain[n]), self._rules)
        return hit


def _rule_of(code: str, severity: str) -> Rule:
    from xltool.check.catalogue import rule
    from xltool.check.compare import _variant
    from xltool.check.finding import Severity

    r = rule(code)
    return r if r.severity.value == severity else _variant(r, Severity(severity))


def _plain_of(check: Check) -> tuple:
    from xltool.form.expr import to_plain

    def expr(e):
        return None if e is None else to_plain(e)

    return (check.rule.code, check.rule.severity.value, check.instance, expr(check.lhs), check.op, expr(check.rhs),
            tuple(check.fields), check.tolerance, expr(check.tolerance_expr), expr(check.applies), check.lhs_label,
            check.rhs_label, check.kind,
            None if check.rounding is None else (check.rounding.code, check.rounding.severity.value),
            tuple(check.params.items()))


def _check_from(p: tuple, rules: Callable[[str, str], Rule]) -> Check:
    from xltool.form.expr import from_plain

    def expr(e):
        return None if e is None else from_plain(e)

    (code, severity, instance, lhs, op, rhs, fields, tolerance, tolerance_expr, applies, lhs_label, rhs_label, kind,
     rounding, params) = p
    return Check(rule=rules(code, severity), instance=instance, lhs=expr(lhs), op=op, rhs=expr(rhs),
                 fields=tuple(fields), tolerance=tolerance, tolerance_expr=expr(tolerance_expr),
                 applies=expr(applies), lhs_label=lhs_label, rhs_label=rhs_label, kind=kind,
                 rounding=None if rounding is None else rules(*rounding), params=dict(params))


def _heads(rows, rules) -> tuple[Head, ...]:
    known: dict = {}  # (code, severity) → rule: a few dozen rules among a thousand instances

    def rule_of(code: str, severity: str) -> Rule:
        hit = known.get((code, severity))
        if hit is None:
            hit = known[(code, severity)] = rules(code, severity)
        return hit

    return tuple(Head(op, tolerance, rule_of(code, severity), None if rounding is None else rule_of(*rounding))
                 for op, tolerance, code, severity, rounding in rows)


def load(key: str) -> StoredChecks | None:
    """The stored set named *key*, or None (not stored, damaged, or not this key's)."""
    hit = _SETS.get(key)
    if hit is not None:
        return hit
    from xltool import cache

    data = cache.load(f"rules/{key}.checks")
    if data is None:
        return None
    try:
        form, stored_key, rows, plan, plain = data
        if (form != FORMAT or stored_key != key or type(rows) is not tuple or type(plain) is not tuple
                or len(rows) != len(plain) or type(plan) is not dict
                or not all(type(b) is bytes for b in plain)):
            return None
        found = StoredChecks(key, _heads(rows, _rule_of), plan, plain, _rule_of)
    except Exception:  # noqa: BLE001 - a damaged or foreign entry: built afresh
        return None
    _remember(key, found)
    return found


def store(key: str, checks: tuple[Check, ...], plan: dict) -> None:
    """Keep *checks* (built by ``build_checks``) and their coverage *plan* under *key*, if every
    instance comes back equal from its plain form (else nothing is stored)."""
    from xltool import cache

    if not cache.writable():  # a read-only cache: not worth writing out every time
        return
    try:
        plain = tuple(_plain_of(c) for c in checks)
        if any(_check_from(p, _rule_of) != c for p, c in zip(plain, checks)):
            return
        rows = tuple((c.op, c.tolerance, c.rule.code, c.rule.severity.value,
                      None if c.rounding is None else (c.rounding.code, c.rounding.severity.value)) for c in checks)
        blobs = tuple(marshal.dumps(p) for p in plain)
        data = marshal.dumps((FORMAT, key, rows, plan, blobs))
    except (TypeError, ValueError, KeyError):  # something not plain: not kept
        return
    cache.write(f"rules/{key}.checks", data)
    found = StoredChecks(key, _heads(rows, _rule_of), plan, blobs, _rule_of)
    found._built = dict(enumerate(checks))
    _remember(key, found)


def _remember(key: str, found: StoredChecks) -> None:
    if len(_SETS) > 16:
        _SETS.clear()
    _SETS[key] = found
