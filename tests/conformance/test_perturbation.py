"""Perturbation over the corpus's corrected cases (every case whose expected findings hold no
必须修改): each published amount, moved by +0.03, is detected wherever it breaks a published
relation; moved by +0.004 (below the precision the form states amounts at) it never raises a
必须修改.

A published relation is decided here by arithmetic, not by the rules: fields that state one
figure (the pack's concepts: 年度资金总额 and the sum of its sources), and a 其中 breakdown that
equals its parent. Every amount of every corrected case is tried (no sampling: the rules a
figure feeds are evaluated alone, so one try costs a few milliseconds); one case is also
perturbed end to end through a filled workbook, to show the in-process evaluation is the
checker's.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache

import pytest
from conformance.corpus import case_values, form_for, known_fields, load_cases, packs_registered, scoring_for, workbook
from helpers import chinese, scratch

from xltool.check.checker import check_path, to_finding
from xltool.check.instances import OF_WHICH, build_checks
from xltool.check.rule import evaluate_many
from xltool.form.expr import evaluate_all, leaf_refs
from xltool.form.model import Kind
from xltool.form.selfeval import config_values

CORRECTED = [c for c in load_cases() if not c.raw and not any(e.severity == "error" for e in c.expect)]


def _values(case, form, cfg) -> dict[str, object]:
    values, _raw = case_values(case, form)
    out = {**values, **config_values(cfg, form)}
    out.update(evaluate_all(form.formulas, out))
    return out


def _ties(case, form, values: dict[str, object]) -> dict[str, str]:
    """Filled amount inputs → the published relation a change of 0.03 breaks (by arithmetic):
    two statements of one figure of which only one moves with the input, or a 其中 breakdown that
    equals its parent. A figure counts as stated when it is published or computed from
    published figures only."""
    known = known_fields(case, form)
    leaves = {fid: set(leaf_refs(expr, form.formulas)) for fid, expr in form.formulas.items()}
    filled = lambda fid: isinstance(values.get(fid), (int, float))  # noqa: E731

    def stated(fid: str) -> bool:
        if fid not in form.formulas:
            return filled(fid) and fid in known
        return leaves[fid] <= known and any(filled(x) for x in leaves[fid])

    ties: dict[str, str] = {}
    groups: dict[str, list[str]] = {}
    for f in form.fields:
        if f.concept and f.kind is Kind.AMOUNT and stated(f.id):
            groups.setdefault(f.concept, []).append(f.id)
    for concept, members in groups.items():
        reads = {m: leaves.get(m, {m}) for m in members}
        for m in members:
            for leaf in reads[m]:
                if filled(leaf) and any(leaf not in reads[o] for o in members if o != m):
                    ties.setdefault(leaf, f"{concept}: {' = '.join(members)}")
    for parent, parts in OF_WHICH:
        for col in ("prev", "budget", "final"):
            p, kids = f"base_{parent}_{col}", [f"base_{k}_{col}" for k in parts]
            if p in form.by_id and stated(p) and all(stated(k) for k in kids):
                if Decimal(str(values[p])) == sum(Decimal(str(values[k])) for k in kids):
                    for k in kids:  # a tight breakdown: one more cent in a 其中 row exceeds the parent
                        ties.setdefault(k, f"其中 {' + '.join(kids)} = {p}")
    return ties


@cache
def _subsets(case_id: str):
    """Per amount input: the rule instances that read it (directly or through a computed figure)."""
    case = next(c for c in CORRECTED if c.id == case_id)
    form, cfg = form_for(case), scoring_for(case)
    checks = build_checks(form.year, cfg, form_id=form.pack_id)
    reads_of = []  # each check with the inputs it reads, worked out once per check
    for check in checks:
        refs = set(check.fields)
        for side in (check.lhs, check.rhs, check.applies, check.tolerance_expr):
            if side is not None:
                refs |= set(side.refs())
        expanded = set()
        for r in refs:
            expanded |= set(leaf_refs(form.formulas[r], form.formulas)) if r in form.formulas else {r}
        reads_of.append((check, expanded))
    out = {}
    for f in form.inputs:
        if f.kind is not Kind.AMOUNT:
            continue
        out[f.id] = tuple(check for check, expanded in reads_of if f.id in expanded)
    return form, cfg, out


def _errors_and_keys(form, checks, values):
    outcomes = evaluate_many(checks, values)
    findings = [to_finding(o, form, values) for o in outcomes]
    return {(f.code, f.instance): f for f in findings}


@pytest.mark.parametrize("case", CORRECTED, ids=[c.id for c in CORRECTED])
def test_perturbing_a_published_amount(case):
    with packs_registered(), chinese():
        form, cfg, subsets = _subsets(case.id)
        base = _values(case, form, cfg)
        ties = _ties(case, form, base)
        missed, false = [], []
        tried = 0
        for fid, checks in subsets.items():
            value = base.get(fid)
            if not isinstance(value, (int, float)):
                continue
            tried += 1
            before = _errors_and_keys(form, checks, base)
            for delta in (0.03, 0.004):
                inputs = {k: v for k, v in base.items() if not form.field(k).derived}
                inputs[fid] = float(Decimal(str(value)) + Decimal(str(delta)))
                after_values = {**inputs, **evaluate_all(form.formulas, inputs)}
                after = _errors_and_keys(form, checks, after_values)
                new = [f for key, f in after.items() if key not in before]
                if delta == 0.03 and fid in ties and not any(fid in {c.field_id for c in f.cells} for f in new):
                    missed.append(f"{fid} +0.03 breaks {ties[fid]} unnoticed")
                if delta == 0.004:
                    for f in new:
                        if f.severity.value != "error":
                            continue
                        false.append(f"{fid} +0.004 → {f.code} {f.message}")
        assert tried or not ties, case.id
        assert missed == [], missed
        assert false == [], false


def test_a_perturbed_workbook_gives_what_the_in_process_run_gives():
    """One corrected case end to end: +0.03 on a source amount is found by check-workbook itself."""
    case = next(c for c in CORRECTED if c.id == "guichi-weituo-corrected")
    folder = scratch("conformance_perturb")
    with packs_registered(), chinese():
        moved = case.model_copy(update={"id": "guichi-weituo-corrected-moved",
                                        "fields": {**case.fields, "eval_src_current_exec": "90.00"}})
        _result, report = check_path(workbook(moved, folder))
    hits = [f for f in report.findings if f.severity.value == "error"
            and "eval_src_current_exec" in {c.field_id for c in f.cells}]
    assert hits, [f"{f.code} {f.message}" for f in report.findings]
