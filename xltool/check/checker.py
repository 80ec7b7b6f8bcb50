"""Run the rule catalogue over values read from a workbook and produce findings."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path


from xltool.check.attribution import attribute
from xltool.check.coverage import coverage, plan as coverage_plan
from xltool.check.finding import CellRef, Coverage, Finding, WorkbookReport
from xltool.check.indicators import read_indicators
from xltool.check.instances import build_checks
from xltool.check.messages import flavour_params, missing_first
from xltool.check.rule import Check, Outcome, allowance, evaluate_many, evaluate_stored
from xltool.form.expr import Ref, Round, leaf_refs
from xltool.form.model import Form
from xltool.form.scoring import ScoringConfig
from xltool.i18n import _
from xltool.numbers import fmt_amount, fmt_kind, format_decimal
from xltool.read.reader import ReadResult, cell_ref
from xltool.read.safety import Limits


def _fmt(kind: str, value: float) -> str:
    return fmt_kind(kind, value)


def _fmt_allowance(value: Decimal) -> str:
    """The allowance as it is: 3 × 0.005 is 0.015, not 0.02."""
    return format_decimal(value, "#,##0.00####")


def _side(form: Form, expr: object, shown: str, values: Mapping[str, object]) -> str:
    """A side that is one input cell left blank says so, rather than quoting the 0 it counts as."""
    if isinstance(expr, Round):  # an amount compared at its stated precision
        expr = expr.inner
    if isinstance(expr, Ref) and form.field(expr.id).is_input and _blank(values.get(expr.id)):
        return _("(empty)")
    return shown


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _cells(form: Form, check: Check, values: Mapping[str, object]) -> list[CellRef]:
    """The figures the check shows, then the inputs behind any derived one."""
    out = [cell_ref(form, fid, values.get(fid)) for fid in check.fields]
    seen = set(check.fields)
    for fid in check.fields:
        if form.field(fid).derived:
            for leaf in leaf_refs(form.formulas[fid], form.formulas):
                if leaf not in seen and values.get(leaf) not in (None, ""):
                    seen.add(leaf)
                    ref = cell_ref(form, leaf, values.get(leaf))
                    out.append(ref.replace(**{"label": f"{ref.label}（{form.field(fid).label}）"}))
    return out


def to_finding(outcome: Outcome, form: Form, values: Mapping[str, object], *,
               shown: Mapping[str, object] | None = None, cfg: ScoringConfig | None = None,
               notes: Mapping[str, tuple[str, str]] | None = None) -> Finding:
    """*values*: what the rules judged; *shown*: the values as read, which the finding's cells
    quote (an indicator's “≥50个” rather than the 50 it was judged as); *notes*: readings that are
    less than certain, by field id (see xltool.check.indicators)."""
    check, r = outcome.check, outcome.rule
    shown = values if shown is None else shown
    params = {
        "lhs_label": check.lhs_label, "rhs_label": check.rhs_label,
        # The sentence states the same signed difference (前者 − 后者) as the 差额 column;
        # a side that is one blank input says so rather than quoting the 0 it counts as.
        "lhs": _side(form, check.lhs, _fmt(check.kind, outcome.lhs), values),
        "rhs": _side(form, check.rhs, _fmt(check.kind, outcome.rhs), values),
        "diff": _fmt(check.kind, outcome.diff), "tol": _fmt_allowance(allowance(check, values)),
        "where": _where(form, check),
        "label": check.params.get("label", check.lhs_label), "name": check.params.get("name", ""),
        **check.params,
    }
    for fid in check.fields:
        params.setdefault("value", fmt_kind(form.field(fid).kind.value, values.get(fid)))
    expected, actual = outcome.rhs, outcome.lhs
    difference = _flavour(check, values, params)
    if difference is not None:  # threshold rules: the two figures compared, not |change| and the limit
        actual, expected = _f(values.get(check.fields[0])), _f(values.get(check.fields[1]))
    if "name" in check.params or check.rule.code == "XT401":
        params["name"] = _row_name(check, values) or params.get("name", "")
    flavour_params(check, outcome, form, values, shown, cfg, params)
    flag = check.kind == "flag"  # filled / not filled: no figures to compare
    confidence, basis = _confidence(form, check, notes or {})
    return Finding(
        code=r.code, severity=r.severity, message=r.message().format_map(_Safe(params)),
        fix=r.fix().format_map(_Safe(params)), cells=missing_first(check, values, _cells(form, check, shown)),
        expected=None if flag else round(expected, 6), actual=None if flag else round(actual, 6),
        difference=None if flag else round(outcome.diff if difference is None else difference, 6),
        kind="amount" if difference is not None or flag else check.kind,
        attribution=attribute(check, outcome, form, values), instance=check.instance,
        confidence=confidence, basis=basis,
    )


_LEVELS = {"high": 0, "medium": 1, "low": 2}


def _confidence(form: Form, check: Check, notes: Mapping[str, tuple[str, str]]) -> tuple[str, list[str]]:
    """The least certain reading among the figures the check read, and what each reading was."""
    if not notes:
        return "high", []
    level, basis = "high", []
    for fid in check.fields:
        ids = [fid] + (leaf_refs(form.formulas[fid], form.formulas) if fid in form.formulas else [])
        for i in ids:
            if i in notes:
                how, text = notes[i]
                level = how if _LEVELS.get(how, 0) > _LEVELS[level] else level
                if text not in basis:
                    basis.append(text)
    if len(basis) > 3:  # a total read from many sentences: the first few, and how many more
        basis = basis[:3] + [_("{n} more").format(n=len(basis) - 3)]
    return level, basis


def _prints_as_zero(outcome: Outcome) -> bool:
    """A difference that prints as 0.00 (or 0.00%) is no difference at the stated precision."""
    kind = outcome.check.kind
    if kind not in ("amount", "rate"):
        return False
    return fmt_kind(kind, abs(outcome.diff)) == fmt_kind(kind, 0.0)


def _where(form: Form, check: Check) -> str:
    """The cell of the check's first figure, for messages that name it (XT103)."""
    return form.where(check.fields[0]) if check.fields else ""


def _row_name(check: Check, values: Mapping[str, object]) -> str:
    """The name a list row or indicator row gives itself (项目名称, 三级指标)."""
    for key in ("indicator",):
        if key in check.params and values.get(check.params[key]):
            return f"{check.params.get('name', '')}「{values[check.params[key]]}」"
    if check.rule.code == "XT401":
        name = values.get(f"proj_{check.params['row']}_name")
        return f"「{name}」" if name else f"第{check.params['row']}行"
    return ""


def _flavour(check: Check, values: Mapping[str, object], params: dict[str, object]) -> float | None:
    """Figures some messages quote besides the two sides; the difference to show, if not lhs − rhs."""
    if check.rule.code in ("XT706", "XT707", "XT709"):
        # Threshold rules compare |change| with a limit: show the change itself.
        first, other = check.fields[0], check.fields[1]
        change = _f(values.get(first)) - _f(values.get(other))
        params["value"] = fmt_amount(_f(values.get(first)))
        params["prev"] = params["budget"] = fmt_amount(_f(values.get(other)))
        params["lhs"], params["rhs"] = fmt_amount(_f(values.get(first))), fmt_amount(_f(values.get(other)))
        params["diff"] = fmt_amount(change)
        return change
    return None


def _f(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) else 0.0


class _Safe(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def judge(form: Form, cfg: ScoringConfig, values: Mapping[str, object], *,
          notes: Mapping[str, tuple[str, str]] | None = None, missing_sheets: tuple[str, ...] = (),
          word: bool = False, unplaced: int = 0) -> tuple[list[Finding], Coverage]:
    """Every rule instance of the form over *values*, and what ran. Indicator rows are read first
    as published forms fill them (xltool.check.indicators). *notes*: figures read with less
    certainty by the caller (a Word report's narrative), by field id."""
    reading = read_indicators(form, cfg, values)
    notes = {**(notes or {}), **reading.notes}
    checks, outcomes = _judged(form, cfg, reading.values)
    findings = [to_finding(outcome, form, reading.values, shown=values, cfg=cfg, notes=notes)
                for outcome in outcomes if not _prints_as_zero(outcome)]
    findings += [_not_a_figure(form, fid, values.get(fid)) for fid in reading.not_figures]
    if outcomes:  # a failed relation that one figure in 元 explains (XT107)
        from xltool.check.yuan import yuan_findings

        findings += yuan_findings(form, outcomes, reading.values, values)
    extra = []
    if reading.unjudged:
        rows = "、".join(reading.unjudged[:5]) + ("等" if len(reading.unjudged) > 5 else "")
        extra.append(_("{n} indicator rows not scored by rule: their target or actual value is not a figure or a "
                       "judgement ({rows})").format(n=len(reading.unjudged), rows=rows))
    return findings, coverage(form, cfg, checks, values, missing_sheets=missing_sheets, word=word,
                              unplaced=unplaced, notes=extra)


def _judged(form: Form, cfg: ScoringConfig, values: Mapping[str, object]):
    """(the rule set, the outcomes over *values*): the set stored for this form and settings when
    there is one (xltool.check.stored), else built and stored for the next process."""
    from xltool.check import stored

    key = _rules_key(form, cfg)
    found = stored.load(key)
    if found is not None:
        return found, evaluate_stored(found, values)
    checks = build_checks(form.year, cfg, form_id=form.pack_ref)
    outcomes = evaluate_many(checks, values, key)
    stored.store(key, checks, coverage_plan(form, checks))
    return checks, outcomes


def _not_a_figure(form: Form, fid: str, raw: object) -> Finding:
    """XT102 for an indicator's 实际完成值 written in words where its target is a figure."""
    from xltool.check.catalogue import rule

    r, f = rule("XT102"), form.field(fid)
    params = {"where": f"{form.sheet_title(f.sheet)}!{f.cell}", "label": f.label, "text": raw}
    return Finding(code="XT102", severity=r.severity, message=r.message().format(**params), fix=r.fix().format(**params),
                   cells=[cell_ref(form, fid, raw)], instance=fid)


def run_checks(form: Form, cfg: ScoringConfig, values: Mapping[str, object],
               notes: Mapping[str, tuple[str, str]] | None = None) -> list[Finding]:
    return judge(form, cfg, values, notes=notes)[0]


def _rules_key(form: Form, cfg: ScoringConfig) -> str:
    """What ``build_checks`` built the rule set from: the form's key (pack, year, code) and the settings."""
    from xltool.digests import sha256
    from xltool.form.derived import form_key

    return sha256(f"{form_key(form)}\0{cfg.to_json()}".encode("utf-8")).hexdigest()[:40]


def check_result(result: ReadResult) -> list[Finding]:
    """Entry and integrity findings from reading, then every rule's findings."""
    return check_result_covered(result)[0]


def check_result_covered(result: ReadResult) -> tuple[list[Finding], Coverage]:
    findings, covered = judge(result.form, result.cfg, result.values, missing_sheets=tuple(result.missing_sheets))
    # A cell that holds words where a figure belongs is said once (XT102), not again as empty (XT103).
    unreadable = {c.field_id for f in result.findings if f.code in NOT_A_FIGURE for c in f.cells}
    findings = [f for f in findings if not (f.code == "XT103" and {c.field_id for c in f.cells} <= unreadable)]
    return result.findings + findings, covered


NOT_A_FIGURE = ("XT102", "XT120")  # entry findings whose cell is read as no value


def check_path(path: Path, *, backend: str = "xml", cfg: ScoringConfig | None = None,
               limits: Limits | None = None) -> tuple[ReadResult, WorkbookReport]:
    from xltool.read.reader import read_path

    result = read_path(Path(path), backend=backend, cfg=cfg, limits=limits)
    findings, covered = check_result_covered(result)
    v = result.values
    report = WorkbookReport(
        path=str(path), sha256=result.sha256,
        unit=_text(v.get("info_unit_name")) or result.meta.unit_name or None,
        unit_code=_text(v.get("info_unit_code")) or result.meta.unit_code or None,
        year=result.form.year, template_version=result.meta.version,
        contact_name=_text(v.get("info_preparer")), contact_email=_text(v.get("info_email")),
        findings=sort_findings(findings), coverage=covered,
    )
    return result, report


def _text(value: object) -> str | None:
    return str(value).strip() if value not in (None, "") else None


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.severity.value != "error", f.code, f.instance))
