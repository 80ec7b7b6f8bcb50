"""check-report: a Word report's figures through the same rule catalogue as a workbook's.

The extracted inputs stand where a workbook's input cells would; derived figures are computed
by the form's expressions, and a derived figure the report also types (a total, a rate) is
compared with the computed one (XT201). Each finding's figures cite where the report states
them. Fields a Word report has no place for (the unit's e-mail address) are not required.
"""

from __future__ import annotations

from pathlib import Path

from xltool.check.blanks import numeric_leaves
from xltool.check.catalogue import rule
from xltool.check.compare import HALF_CENT
from xltool.check.checker import judge, sort_findings
from xltool.check.finding import CellRef, Coverage, Finding, WorkbookReport
from xltool.form.declared import Pack
from xltool.form.expr import Ref, evaluate_all, excel_round, leaf_refs
from xltool.form.model import Form, Kind
from xltool.form.scoring import ScoringConfig
from xltool.form.selfeval import build_form, config_values, default_scoring
from xltool.i18n import _
from xltool.numbers import fmt_amount, fmt_number, fmt_rate, fmt_stated, too_precise
from xltool.word.document import DocLimits, read_document
from xltool.word.extract import Extraction, extract
from xltool.word.whole import at_whole_precision, whole_allowance

NOT_IN_REPORT = frozenset({"info_email", "info_unit_code"})
DEFAULT_YEAR = 2023


def _year(ext: Extraction) -> int:
    year = ext.values.get("info_year")
    try:
        return int(year) if year and 2000 <= float(year) <= 2100 else DEFAULT_YEAR  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return DEFAULT_YEAR


def evaluate(form: Form, cfg: ScoringConfig, ext: Extraction) -> tuple[dict[str, object], list[Finding]]:
    return evaluate_covered(form, cfg, ext)[:2]  # type: ignore[return-value]


def evaluate_covered(form: Form, cfg: ScoringConfig, ext: Extraction) -> tuple[dict[str, object], list[Finding], Coverage]:
    values: dict[str, object] = {**ext.values, **config_values(cfg, form)}
    values.update(evaluate_all(form.formulas, values, _without_parts(form, ext)))
    # A figure found in the narrative is read by pattern, not from a table cell: less certain.
    notes = {fid: ("medium", _("{label} read from the report's text ({where})").format(
        label=form.field(fid).label, where=ext.where.get(fid, "")))
        for fid in ext.from_text if fid in form.by_id and form.field(fid).numeric}
    missing = missing_tables(form, ext)
    found, covered = judge(form, cfg, values, notes=notes, word=True, unplaced=len(ext.unplaced),
                           missing_sheets=missing)
    findings = [f for f in found if not (f.code == "XT103" and f.instance in NOT_IN_REPORT)]
    findings = at_whole_precision(form, ext.places, values, findings)
    findings += _precision(form, ext)
    said = {c.field_id for f in findings if f.code == "XT108" for c in f.cells}
    findings += _stated(form, ext, values, said)
    if missing:
        # The table is not there: said once (XT617), not as its weights adding up to 0 or its cells empty.
        findings = [f for f in findings if not _only_missing(form, f, set(missing), ext)]
        findings.append(_no_table(form, missing[0], ext))
    return values, [_cite(form, f, ext) for f in findings], covered


SELF_EVALUATION = "eval"  # the form's sheet that holds the 自评表 (附件3, or a project pack's table)


def _has_self_evaluation(form: Form) -> bool:
    return any(s.key == SELF_EVALUATION for s in form.sheets)


def missing_tables(form: Form, ext: Extraction) -> tuple[str, ...]:
    """The form's sheets a Word report has no table for: the 自评表 when no table of it was read."""
    if _has_self_evaluation(form) and not ext.tables.get(3):
        return (SELF_EVALUATION,)
    return ()


def _only_missing(form: Form, finding: Finding, missing: set[str], ext: Extraction) -> bool:
    """Whether *finding* rests only on a missing table: every figure it cites is on that sheet,
    or a bureau setting, or computed from such figures, and the report states none of them."""
    cited = [c.field_id for c in finding.cells if c.field_id and c.field_id in form.by_id]
    if not cited or any(fid in ext.where for fid in cited):
        return False
    leaves = {leaf for fid in cited for leaf in ([fid] if fid not in form.formulas else
                                                 leaf_refs(form.formulas[fid], form.formulas) + [fid])}
    on_sheet = [form.field(i).sheet in missing for i in leaves if i in form.by_id]
    return any(on_sheet) and all(form.field(i).sheet in missing or not (form.field(i).is_input or i in form.formulas)
                                 for i in leaves if i in form.by_id)


def _no_table(form: Form, sheet: str, ext: Extraction) -> Finding:
    r = rule("XT617")
    title = form.sheet_title(sheet)
    if 3 in ext.headings:
        detail = _("the heading {sheet} is there, but no table with the form's header words follows it (a picture "
                   "or a scan cannot be read)").format(sheet=title)
    else:
        detail = _("there is no heading {sheet} and no table with the form's header words (年度资金总额, 绩效指标)"
                   ).format(sheet=title)
    params = {"sheet": title, "detail": detail}
    first = next(f for f in form.inputs if f.sheet == sheet)  # where the table's figures would start
    return Finding(
        code="XT617", severity=r.severity, message=r.message().format(**params), fix=r.fix().format(**params),
        cells=[CellRef(field_id=first.id, sheet=title, cell=first.cell, label=first.label,
                       where=_("(not in the report: {sheet})").format(sheet=title), kind=first.kind.value)],
        instance=sheet,
    )


def _without_parts(form: Form, ext: Extraction) -> dict[str, float]:
    """Sub-totals the report states while leaving every row under them empty (项目支出 286.83 with
    no project list): each stands for its rows in the totals above it (支出 = 基本支出 + 项目支出),
    so a total is not compared with a sum that counts the missing rows as 0.00 (the missing rows
    are said once, XT108)."""
    out = {}
    for fid, stated in ext.stated.items():
        if fid not in form.formulas or not isinstance(stated, (int, float)) or isinstance(stated, bool):
            continue
        parts = [i for i in numeric_leaves(Ref(fid), form.formulas) if form.field(i).is_input]
        if parts and all(ext.values.get(i) in (None, "") for i in parts):
            out[fid] = float(stated)
    return out


def _precision(form: Form, ext: Extraction) -> list[Finding]:
    """XT106: an amount the report states with more than two decimals (compared as stated)."""
    r = rule("XT106")
    out = []
    for fid, value in ext.values.items():
        f = form.field(fid)
        if f.kind is Kind.AMOUNT and too_precise(value):
            params = {"where": ext.where.get(fid, ""), "label": f.label, "text": fmt_stated(value),  # type: ignore[arg-type]
                      "value": fmt_amount(excel_round(value, 2))}  # type: ignore[arg-type]
            out.append(Finding(
                code="XT106", severity=r.severity, message=r.message().format(**params), fix=r.fix().format(**params),
                cells=[CellRef(field_id=fid, sheet=form.sheet_title(f.sheet), cell=f.cell, label=f.label, value=value,
                               kind="amount")],  # type: ignore[arg-type]
                instance=fid,
            ))
    return out


def _fmt(kind: Kind, value: float) -> str:
    return fmt_rate(value) if kind is Kind.RATE else fmt_amount(value) if kind is Kind.AMOUNT else fmt_number(value)


def _stated(form: Form, ext: Extraction, values: dict[str, object], said: set[str | None] = frozenset()) -> list[Finding]:
    """A total or rate the report types must equal the one computed from its parts, compared at
    the precision it is stated; a total whose parts the report leaves all empty is a missing
    breakdown (XT108, said once), not a sum of 0.00."""
    r = rule("XT201")
    out = []
    for fid, stated in ext.stated.items():
        f = form.field(fid)
        computed = values.get(fid)
        if not f.numeric or not isinstance(stated, (int, float)) or not isinstance(computed, (int, float)):
            continue
        parts = [i for i in numeric_leaves(Ref(fid), form.formulas) if form.field(i).is_input]
        if parts and all(values.get(i) in (None, "") for i in parts):
            if stated and fid not in said:  # said once, here or by the rule instances
                out.append(_missing_breakdown(form, fid, stated, parts))
            continue
        if f.kind is Kind.AMOUNT:
            computed = float(computed) + _of_which_of_blank_parents(parts, values)
        digits = 4 if f.kind is Kind.RATE else 2
        if f.kind is Kind.RATE and fid in ext.places:
            digits = min(digits, ext.places[fid] + 2)  # “86%” states a whole percent: compared at that
        shown, expected = excel_round(float(stated), digits), excel_round(float(computed), digits)
        if shown == expected:
            continue
        params = {"lhs_label": f.label, "lhs": _fmt(f.kind, stated), "rhs_label": _("the figure computed from its parts"),
                  "rhs": _fmt(f.kind, computed),
                  # the difference of the two figures the sentence shows (compared above at the stated precision)
                  "diff": _fmt(f.kind, abs(float(stated) - float(computed)))}
        used = r
        if f.kind is Kind.AMOUNT:
            # A sum of n rounded parts may miss its rounded total by (n + 1) × 0.005 (XBRL Calculations 1.1),
            # as the workbook path allows: that is a rounding difference (XT202), not a wrong total.
            stated_parts = [i for i in parts if isinstance(values.get(i), (int, float))]
            allowance = (len(stated_parts) + 1) * HALF_CENT
            # Figures all stated in whole 万元 stand for ±0.5 each (xltool.word.whole).
            allowance = whole_allowance(form, ext.places, [fid, *stated_parts]) or allowance
            if round(abs(shown - expected), 9) <= allowance:
                used = rule("XT202")
                params["tol"] = fmt_amount(allowance)
        out.append(Finding(
            code=used.code, severity=used.severity, message=used.message().format(**params), fix=used.fix(),
            cells=[CellRef(field_id=fid, sheet=form.sheet_title(f.sheet), cell=f.cell, label=f.label, value=stated)],
            expected=round(computed, 6), actual=round(stated, 6), difference=round(stated - computed, 6),
            instance=f"stated:{fid}",
        ))
    return out


def _of_which_of_blank_parents(parts: list[str], values: dict[str, object]) -> float:
    """Σ 其中 rows of each part left blank while its 其中 rows are stated: a 三公 statement that gives
    公车购置 and 公车运行维护 but no 公务用车 line of its own (published Jilin and Guangxi ones) adds up
    with them, not with a blank read as 0 (blank is not zero)."""
    from xltool.check.instances import OF_WHICH
    from xltool.form.selfeval import BASE_COLUMNS

    extra = 0.0
    for parent, kids in OF_WHICH:
        for col, _label in BASE_COLUMNS:
            if f"base_{parent}_{col}" in parts and values.get(f"base_{parent}_{col}") in (None, ""):
                extra += sum(v for k in kids if isinstance(v := values.get(f"base_{k}_{col}"), (int, float)))
    return extra


def _missing_breakdown(form: Form, fid: str, stated: float, parts: list[str]) -> Finding:
    r = rule("XT108")
    f = form.field(fid)
    names = list(dict.fromkeys(form.field(i).label.split(" / ")[0] for i in parts))
    params = {"name": f"{form.sheet_title(f.sheet)} {f.label}",
              "rows": "、".join(names[:4]) + ("等" if len(names) > 4 else ""),
              "other_label": _("the report"), "other": fmt_amount(stated)}
    return Finding(
        code="XT108", severity=r.severity, message=r.message().format(**params), fix=r.fix().format(**params),
        cells=[CellRef(field_id=fid, sheet=form.sheet_title(f.sheet), cell=f.cell, label=f.label, value=stated,
                       kind=f.kind.value)],
        instance=fid,
    )


def _cite(form: Form, finding: Finding, ext: Extraction) -> Finding:
    cells = []
    for c in finding.cells:
        where = ext.where.get(c.field_id or "") or c.where  # (XT617 names the missing table itself)
        if where is None and c.field_id:
            where = _("(computed: {label})").format(label=c.label) if form.field(c.field_id).derived \
                else _("(not stated in the report: {label})").format(label=c.label)
        update: dict[str, object] = {"where": where}
        if not c.kind and c.field_id and c.field_id in form.by_id:  # read as the form states it (2,450.21, 97.58%)
            update["kind"] = "year" if c.field_id == "info_year" else form.field(c.field_id).kind.value
        cells.append(c.replace(**update))
    return finding.replace(**{"cells": cells})


def check_document(path: Path, *, cfg: ScoringConfig | None = None, limits: DocLimits | None = None,
                   form: str | Pack | None = None) -> tuple[Extraction, dict[str, object], WorkbookReport]:
    """Read the Word report at *path* and check it against the form pack *form* (a registered
    id or a loaded pack; the default form when None); raises UnreadableReport (exit 2).
    The form it was checked against is ``ext.form``."""
    doc = read_document(Path(path), limits)
    cfg = cfg or default_scoring(form)
    probe = build_form(DEFAULT_YEAR, cfg, form)
    ext = extract(probe, doc)
    built = build_form(_year(ext), cfg, form)
    if built is not probe:
        ext = extract(built, doc)
    ext.form = built
    values, findings, covered = evaluate_covered(built, cfg, ext)
    report = WorkbookReport(
        path=str(path), sha256=doc.sha256, unit=_text(values.get("info_unit_name")), year=built.year,
        template_version="docx", contact_name=_text(values.get("info_preparer")),
        findings=sort_findings(findings),
        unplaced=[f"{u.where}：{u.text}" for u in ext.unplaced], coverage=covered,
    )
    return ext, values, report


def _text(value: object) -> str | None:
    return str(value).strip() if value not in (None, "") else None


def across(checked: list[tuple[Path, object, WorkbookReport]]) -> None:
    """Word reports checked beside workbooks of the same unit and year: compare their figures.

    *checked*: (path, Extraction or ReadResult, report) per file; findings are added to the
    Word report's own findings.
    """
    from xltool.check.checker import sort_findings as _sort
    from xltool.word.cross import cross_findings, same_unit

    books = [(p, r, w) for p, r, w in checked if not isinstance(r, Extraction)]
    for path, ext, report in checked:
        if not isinstance(ext, Extraction):
            continue
        for book_path, result, book in books:
            if book.year == report.year and same_unit(book.unit, report.unit):
                form = result.form  # type: ignore[attr-defined]
                if ext.form is not None and ext.form.pack_ref != form.pack_ref:
                    # Beside a workbook the report is read against the workbook's pack.
                    ext, _values, again = check_document(path, cfg=result.cfg, form=form.pack_ref)  # type: ignore[attr-defined]
                    report.findings, report.unplaced = again.findings, again.unplaced
                extra = cross_findings(form, ext, result.values, Path(book_path).name)  # type: ignore[attr-defined]
                own = report.findings
                if _has_self_evaluation(form):  # the workbook holds the 自评表 (附件3)
                    own = [f for f in own if f.code != "XT617"]
                report.findings = _sort(own + extra)
                break  # one workbook per report: the first given for the unit


def _registered(form_id: object) -> str | None:
    """A pack id recorded by a checked workbook, if it is still registered here."""
    from xltool.form.registry import is_registered

    return form_id if isinstance(form_id, str) and form_id and is_registered(form_id) else None


class _AuditResult:
    """What the audit worker reads from a checked file, the names a workbook's ReadResult has:
    values, scoring, the form it was checked against, and where each figure was read."""

    def __init__(self, values: dict[str, object], cfg: ScoringConfig, form: Form, where: dict[str, str]) -> None:
        self.values, self.cfg, self.form, self.where = values, cfg, form, where


def audit_result(path: Path, cfg: ScoringConfig | None, form: str | None = None) -> tuple[_AuditResult, WorkbookReport]:
    cfg = cfg or default_scoring(form)
    ext, values, report = check_document(path, cfg=cfg, form=form)
    stated = {**ext.values, **ext.stated}
    assert ext.form is not None
    return _AuditResult(values, cfg, ext.form, {fid: ext.where[fid] for fid in stated}), report


def audit_across(unit, bodies: list[str | None]) -> None:
    """The audit's unit sent a workbook and Word reports: add the reports' disagreements."""
    import json

    from xltool.audit.model import Status
    from xltool.check.checker import sort_findings as _sort
    from xltool.word.cross import cross_findings

    if unit.report is None:
        return
    header = unit.submission.header if unit.submission is not None else {}
    scoring = header.get("scoring")
    form = build_form(int(unit.report.year or DEFAULT_YEAR),
                      ScoringConfig.from_json(scoring) if scoring else None,
                      _registered(header.get("form")))  # the workbook's pack
    extra: list[Finding] = []
    for sub, text in zip(unit.reports, bodies):
        body = json.loads(text) if text else {}
        if sub.header.get("form") != form.pack_ref:
            body = _read_again(sub, form, body)
        where = {k: f"{sub.name} {v}" for k, v in (body.get("where") or {}).items()}
        ext = Extraction(values={k: v for k, v in (body.get("values") or {}).items() if k in where}, where=where)
        extra += [f.replace(**{"instance": f"{f.instance}:{sub.name}"})
                  for f in cross_findings(form, ext, unit.values, Path(unit.submission.source).name)]
    if extra:
        unit.report.findings = _sort(unit.report.findings + extra)
        unit.errors, unit.warnings = unit.report.errors, unit.report.warnings
        unit.status = Status.FIX if unit.errors else Status.EXPLAIN if unit.warnings else Status.PASSED


def _read_again(sub, form: Form, body: dict) -> dict:
    """A report beside a workbook of another pack is read again against the workbook's pack
    (the worker read it against the default one); its stored reading when the file is gone."""
    if sub.path is None or not Path(sub.path).is_file():
        return body
    try:
        result, _report = audit_result(Path(sub.path), ScoringConfig.from_json(form.scoring_json), form.pack_ref)
    except Exception:  # noqa: BLE001 - the worker's reading stands; the audit goes on
        return body
    return {"values": result.values, "where": result.where}
