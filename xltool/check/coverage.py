"""What ran: every family of rules, whether it judged anything, and why not where it did not.

“No findings” must never mean “nothing was checked”. For each family of the catalogue this
says how many rule instances the form pack gives it, how many had figures to judge, and why
the others did not run: the pack has no such figures, a setting turns the rule off, a sheet
is missing from the workbook, the Word report does not state them, nothing is filled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache

from xltool.check.catalogue import RULES
from xltool.check.finding import Coverage, FamilyRun
from xltool.check.rule import Check
from xltool.form.expr import leaf_refs
from xltool.form.model import Form
from xltool.form.scoring import ScoringConfig, threshold
from xltool.i18n import _


def N_(message: str) -> str:
    return message


# (key, title msgid, codes by prefix or in full), in the order the report lists them.
FAMILIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("integrity", N_("Template integrity"), ("XT0",)),
    ("entries", N_("Entries"), ("XT101", "XT102", "XT103", "XT104", "XT105", "XT106", "XT107", "XT120")),
    ("totals", N_("Totals and breakdowns"), ("XT2", "XT108")),
    ("pairs", N_("One figure in several places"), ("XT3",)),
    ("flows", N_("Budget flow"), ("XT4",)),
    ("execution", N_("Execution rate"), ("XT501", "XT502")),
    ("ratios", N_("Department ratios (财预〔2013〕53号)"), ("XT503", "XT504", "XT505", "XT506", "XT507", "XT508", "XT509")),
    ("scoring", N_("Scoring"), ("XT601", "XT602", "XT603", "XT604", "XT605", "XT606", "XT607", "XT608", "XT609",
                                 "XT610", "XT611", "XT616", "XT617")),
    ("policy", N_("Policy checks (偏离, 得分虚高, 等级, 指标数)"), ("XT612", "XT613", "XT614", "XT615")),
    ("plausibility", N_("Plausibility"), ("XT7",)),
)
READ_TIME = ("integrity", "entries")  # judged while reading the file, not by rule instances


@lru_cache(maxsize=256)
def family_of(code: str) -> str:
    for key, _title, codes in FAMILIES:
        if any(code.startswith(c) for c in codes):
            return key
    return "plausibility"


@lru_cache(maxsize=32)
def _codes(key: str) -> tuple[str, ...]:
    """The family's rules that are rule instances (the others judge the file while it is read)."""
    prefixes = next(codes for k, _t, codes in FAMILIES if k == key)
    return tuple(sorted(c for c in RULES if any(c.startswith(p) for p in prefixes) and RULES[c].live and c != "XT202"))


# Rules built only when a setting turns them on: (code → the setting's name, whether it is on).
def _switches(cfg: ScoringConfig) -> dict[str, tuple[str, bool]]:
    r = cfg.policy.ratios
    ratio = {"XT503": "staff_control_max", "XT504": "sgjf_change_max", "XT505": "public_control_max",
             "XT506": "procurement_min", "XT507": "carryover_max", "XT508": "adjustment_max",
             "XT509": "sgjf_control_max"}
    out = {code: (f"policy.ratios.{key}", threshold(getattr(r, key)) is not None) for code, key in ratio.items()}
    out["XT609"] = ("caps.enabled", cfg.caps.enabled)
    out["XT612"] = ("indicator.deviation_threshold", cfg.indicator.deviation_threshold > 0)
    out["XT613"] = ("policy.inflation_margin", threshold(cfg.policy.inflation_margin) is not None)
    out["XT615"] = ("policy.min_indicators", cfg.policy.min_indicators > 0)
    return out


# Per checks tuple: family → (the codes built, the input fields of each instance, deduplicated).
_PLANS: dict[int, tuple[tuple[Check, ...], dict[str, tuple[frozenset[str], list[tuple[str, ...]]]]]] = {}


def _plan(form: Form, checks: tuple[Check, ...]) -> dict[str, tuple[frozenset[str], list[tuple[str, ...]]]]:
    """Per family, the codes of its instances and the input fields each instance's figures rest
    on (remembered per checks tuple: the same tuple judges every workbook of a form)."""
    stored = getattr(checks, "coverage_plan", None)  # a stored rule set (xltool.check.stored) brings its own
    if stored is not None:
        return stored
    hit = _PLANS.get(id(checks))
    if hit is not None and hit[0] is checks:
        return hit[1]
    codes: dict[str, set[str]] = {}
    inputs: dict[str, list[tuple[str, ...]]] = {}
    for c in checks:
        ids: dict[str, None] = {}
        for fid in c.fields:
            for leaf in ([fid] if fid not in form.formulas else leaf_refs(form.formulas[fid], form.formulas)):
                if leaf in form.by_id and form.field(leaf).is_input:
                    ids.setdefault(leaf, None)
        key = family_of(c.rule.code)
        codes.setdefault(key, set()).add(c.rule.code)
        inputs.setdefault(key, []).append(tuple(ids))
    plan = {key: (frozenset(codes[key]), inputs[key]) for key in codes}
    if len(_PLANS) > 32:
        _PLANS.clear()
    _PLANS[id(checks)] = (checks, plan)
    return plan


def plan(form: Form, checks: tuple[Check, ...]) -> dict[str, tuple[frozenset[str], list[tuple[str, ...]]]]:
    """Per family, the codes built and the input fields of each instance (what ``coverage`` counts)."""
    return _plan(form, checks)


def _filled(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def coverage(form: Form, cfg: ScoringConfig, checks: tuple[Check, ...], values: Mapping[str, object], *,
             missing_sheets: Iterable[str] = (), word: bool = False, unplaced: int = 0,
             notes: Iterable[str] = ()) -> Coverage:
    """*missing_sheets*: sheet keys the workbook lacks; *word*: a Word report (no workbook to check
    for integrity); *unplaced*: figures of a Word report not placed on any field."""
    missing = set(missing_sheets)
    plan = _plan(form, checks)
    switches = _switches(cfg)
    filled: dict[str, bool] = {}
    out = Coverage()
    for key, title, _prefixes in FAMILIES:
        run = FamilyRun(family=key, title=_(title), status="ran")
        built, members = plan.get(key, (frozenset(), []))
        run.checks = len(members)
        blank_sheet = 0
        for ids in members:
            if ids and missing and all(form.field(i).sheet in missing for i in ids):
                blank_sheet += 1
                continue
            for i in ids:
                hit = filled.get(i)
                if hit is None:
                    hit = filled[i] = _filled(values.get(i))
                if hit:
                    run.judged += 1
                    break
            else:
                run.judged += not ids
        off = [c for c in _codes(key) if c in switches and not switches[c][1]]
        absent = [c for c in _codes(key) if c not in built and c not in off]
        if key in READ_TIME:
            if word and key == "integrity":
                run.status = "skipped"
                run.reasons.append(_("a Word report has no workbook structure (formulas, protection) to check"))
            elif word:
                run.reasons.append(_("only the figures the report states are checked"))
            run.checks = run.judged = len(members)
            if missing and key == "entries":
                sheets = "、".join(form.sheet_title(s) for s in sorted(missing))
                run.reasons.append(_("tables the report lacks: {sheets}").format(sheets=sheets) if word
                                   else _("missing sheets: {sheets}").format(sheets=sheets))
            out.families.append(run if run.status == "skipped" or not run.reasons else _status(run))
            continue
        run.off = [f"{c}（{switches[c][0]}）" for c in off]
        run.not_in_form = [c for c in absent if c not in off]
        if blank_sheet:
            sheets = "、".join(form.sheet_title(s) for s in sorted(missing))
            run.reasons.append(
                _("{n} rule instances read only tables the report lacks ({sheets})").format(n=blank_sheet, sheets=sheets)
                if word else
                _("{n} rule instances read only sheets missing from the workbook ({sheets})").format(
                    n=blank_sheet, sheets=sheets))
        # Instances with nothing filled (an unused list row) are counted, not reasons: only a
        # family that judged nothing at all says so.
        if members and run.judged == 0:
            run.status = "skipped"
            if not blank_sheet:
                run.reasons.append(_("the report states none of their figures") if word
                                   else _("none of their figures is filled"))
        out.families.append(_status(run))
    if unplaced:
        out.notes.append(_("{n} figures of the report could not be placed on the form and were not checked").format(
            n=unplaced))
    out.notes.extend(notes)
    return out


def _status(run: FamilyRun) -> FamilyRun:
    if run.status == "skipped" or run.checks == 0:
        run.status = "skipped"
        if not run.reasons:
            run.reasons.append(_("turned off in the settings: {rules}").format(rules="、".join(run.off)) if run.off
                               and not run.not_in_form else _("the form pack has no figures for these rules"))
        run.not_in_form, run.off = [], []
    elif run.reasons:
        run.status = "partial"
    return run
