"""Book → identity, typed values by field id, and integrity findings.

Cached formula results are never trusted: derived values are computed from the inputs,
and a cached value is only compared with the computed one (XT005).
"""

from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache
from datetime import date, datetime, timedelta
from pathlib import Path

from xltool.check.finding import CellRef, Finding
from xltool.check.catalogue import rule
from xltool.form.expr import evaluate_all, excel_round
from xltool.form.model import Field, Form, Kind, Role
from xltool.form.scoring import ScoringConfig, overlay
from xltool.form.pack import PackError
from xltool.form.registry import UnknownForm
from xltool.form.selfeval import TEMPLATE_ID, VERSION, build_form, config_values, default_scoring
from xltool.i18n import _
from xltool.form.measure import is_instruction, normal_text
from xltool.numbers import fmt_amount, fmt_number, fmt_stated, no_figure, parse_number, too_precise
from xltool.read.book import Book
from xltool.read.formulas import norm_formula
from xltool.read.integrity import check_integrity
from xltool.read.safety import Limits, UnreadableWorkbook
from xltool.plaintext import plain
from xltool.record import field, record
from xltool.template.meta import FORMAT, META_SHEET, TemplateMeta, read_meta, seal

HELPER_SHEETS = {META_SHEET, "_xltool_lists"}


class NotOurWorkbook(UnreadableWorkbook):
    """A readable workbook that is not an xltool template (or from an unknown version)."""

    def __init__(self, message: str, reason: str = "not_ours", detail: str = "", path: str = "") -> None:
        Exception.__init__(self, message)
        self.reason = reason  # type: ignore[assignment]  # "not_ours" / "newer_version"
        self.message = message
        self.detail = detail
        self.path = path

    def __reduce__(self):
        return (type(self), (self.message, self.reason, self.detail, self.path))


@record(frozen=False)
class ReadResult:
    form: Form
    meta: TemplateMeta
    cfg: ScoringConfig
    values: dict[str, object]  # inputs and config, typed; derived computed from them
    raw: dict[str, object] = field(default_factory=dict)  # as found in the cell
    cached: dict[str, object] = field(default_factory=dict)  # derived fields' cached results
    findings: list[Finding] = field(default_factory=list)
    source: str = "xml"
    sha256: str = ""  # of the file, as the safety gate read it
    missing_sheets: list[str] = field(default_factory=list)  # keys of the form's sheets the workbook lacks

    @property
    def unfilled(self) -> bool:
        """A template returned with nothing typed in it: every input a unit types is empty."""
        return not any(_typed(self.raw.get(f.id)) for f in self.form.typed_inputs)


def _typed(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def cell_ref(form: Form, field_id: str, value: object = None) -> CellRef:
    f = form.field(field_id)
    kind = "year" if field_id == "info_year" else f.kind.value
    return CellRef(field_id=field_id, sheet=form.sheet_title(f.sheet), cell=f.cell, label=f.label,
                   value=_ref_value(value), kind=kind)


def _ref_value(value: object) -> object:
    """A cell's value as a finding shows it: an integer too large for a float is shown as text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        try:
            float(value)
        except OverflowError:
            text = str(value)
            return text if len(text) <= 24 else text[:20] + "…"
        return value
    return value if isinstance(value, (float, str)) or value is None else str(value)


@record
class Provenance:
    """What the hidden sheet proves about the template: see template/legacy.py for formats 1–5."""

    status: str  # legacy.GENUINE / EDITED / UNPROVABLE
    format: int | None  # the template format (None: rows no version wrote)
    pack_ref: str  # id@version of the pack that made it

    @property
    def older(self) -> bool:
        """A genuine (or unprovable) template of an earlier format: XT006."""
        from xltool.template.legacy import EDITED

        return self.status != EDITED and self.format is not None and self.format < FORMAT


def identify(book: Book) -> TemplateMeta:
    return read_identity(book)[0]


def read_identity(book: Book) -> tuple[TemplateMeta, Provenance]:
    """The meta sheet of *book* and what it proves; NotOurWorkbook when it cannot be read with
    the pack version that made it (a foreign workbook, a newer one, a pack version not here)."""
    meta_sheet = book.sheets.get(META_SHEET)
    if meta_sheet is None:
        raise NotOurWorkbook(_(
            "This workbook is not a self-evaluation template made by xltool (its identification sheet is missing). "
            "Fill in the template sent by the finance bureau."
        ))
    rows: dict[str, object] = {}
    for row in range(1, 40):
        key = meta_sheet.get(f"A{row}").value
        if key:
            rows[str(key)] = meta_sheet.get(f"B{row}").value
    try:
        meta = read_meta(rows)
    except ValueError:
        raise NotOurWorkbook(_("The template's identification sheet is damaged; use a fresh template.")) from None
    if meta.template_id != TEMPLATE_ID:
        raise NotOurWorkbook(_("This workbook is a different template ({found}), not the self-evaluation workbook.").format(
            found=plain(meta.template_id, 60)))
    if _version_key(meta.version) > _version_key(VERSION) or (meta.format_number or 0) > FORMAT:
        raise NotOurWorkbook(_(
            "This workbook was made by a newer template version ({found}) than this xltool knows ({known}); "
            "update xltool."
        ).format(found=_version_label(plain(meta.version, 20), meta.format_number), known=_version_label(VERSION, FORMAT)),
            reason="newer_version")
    from xltool.form.registry import get_pack

    try:
        pack = get_pack(meta.pack_ref, session=False)  # by id and version among the shipped and registered packs, never a path
    except UnknownForm as exc:
        raise NotOurWorkbook(str(exc)) from None
    except PackError as exc:
        raise NotOurWorkbook(_("The form pack {ref} of this workbook is not valid here: {problem}").format(
            ref=meta.pack_ref[:80], problem=str(exc.problems[0]) if exc.problems else "")) from None
    return meta, _provenance(meta, {k: "" if v is None else str(v) for k, v in rows.items()}, pack)


def _provenance(meta: TemplateMeta, rows: dict[str, str], pack) -> Provenance:
    from xltool.template import legacy

    number = meta.format_number
    if number is None:
        verdict = legacy.judge(rows)
        status, fmt = verdict.status, verdict.format
    elif number == FORMAT:
        status, fmt = (legacy.GENUINE if meta.fingerprint == seal(rows) else legacy.EDITED), number
        if status == legacy.GENUINE and meta.form_digest != pack.digest:
            raise NotOurWorkbook(_(
                "This workbook was made with the form pack {ref}, whose file here has changed since. Restore that "
                "version's file: a changed pack is a new version beside the old one (docs/forms.md)."
            ).format(ref=pack.ref))
    else:  # a format no version wrote
        status, fmt = legacy.EDITED, None
    if meta.version != pack.info("form_version"):  # the pack version states the template version it makes
        status = legacy.EDITED
    return Provenance(status, fmt, pack.ref)


def _version_label(version: str, fmt: int | None) -> str:
    return _("{version} (format {format})").format(version=version, format=fmt) if fmt else version


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text or "0"))


def _norm_text(text: object) -> str:
    try:
        return _norm_text_cached(text)
    except TypeError:  # unhashable (never from a Book, but keep the function total)
        return _norm_text_cached.__wrapped__(text)


# Memoised: the same labels recur in every workbook of a batch. typed=True keeps 1, 1.0 and
# True apart (their str() differ).
@lru_cache(maxsize=8192, typed=True)
def _norm_text_cached(text: object) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or "")))


@record
class _FormPlan:
    """What read_book compares every workbook against, computed once per form."""

    formulas: dict[str, tuple[str, str]]  # derived field id → (expected formula, normalised)
    names: tuple[tuple[Field, str], ...]  # (field, normalised defined-name target)
    texts: tuple[tuple[str, str, object, str], ...]  # (sheet key, sheet title, Text, normalised text)
    cells: tuple[tuple[Field, str, str, bool], ...]  # (field, sheet title, cell, derived) in form order
    name_texts: dict[str, str]  # defined name → the target text the template writes


_PLANS: dict[int, tuple[Form, _FormPlan]] = {}


def _plan(form: Form) -> _FormPlan:
    """The plan of *form* (forms are cached per year and configuration, so few exist)."""
    hit = _PLANS.get(id(form))
    if hit is not None and hit[0] is form:
        return hit[1]
    formulas, names, texts, name_texts = _plan_texts(form)
    titles = {s.key: s.title for s in form.sheets}
    plan = _FormPlan(
        formulas=formulas,
        names=tuple(zip(form.fields, names)),
        texts=tuple((sheet.key, sheet.title, text, norm)
                    for (sheet, text), norm in zip(((s, t) for s in form.sheets for t in s.texts), texts)),
        cells=tuple((f, titles[f.sheet], f.cell, f.role is Role.DERIVED) for f in form.fields),
        name_texts=name_texts,
    )
    if len(_PLANS) > 32:
        _PLANS.clear()
    _PLANS[id(form)] = (form, plan)  # the reference keeps id(form) from being reused
    return plan


def _plan_texts(form: Form) -> tuple[dict, tuple, tuple, dict]:
    """The texts of the plan, rendered and normalised from the form (kept in the derived cache,
    ``xltool.form.derived``): derived formulas, defined-name targets in field order, fixed texts
    in sheet order, and each name's target as written."""
    from xltool.form import derived

    count, text_count = len(form.fields), sum(len(s.texts) for s in form.sheets)
    stored = derived.load(form, "read-plan")
    if (isinstance(stored, tuple) and len(stored) == 4 and isinstance(stored[0], dict)
            and isinstance(stored[1], tuple) and len(stored[1]) == count and isinstance(stored[2], tuple)
            and len(stored[2]) == text_count and isinstance(stored[3], dict) and len(stored[3]) == count):
        return stored
    from xltool.form.cells import CellMap

    cells = CellMap(form)
    formulas = {}
    for f in form.fields:
        if f.role is Role.DERIVED:
            expected = cells.formula(f)
            formulas[f.id] = (expected, norm_formula(expected))
    names = tuple(norm_formula(cells.name_ref(f.id)) for f in form.fields)
    texts = tuple(_norm_text(text.text) for sheet in form.sheets for text in sheet.texts)
    name_texts = {f.id: cells.name_ref(f.id) for f in form.fields}
    derived.store(form, "read-plan", (formulas, names, texts, name_texts))
    return formulas, names, texts, name_texts


def _to_date(value: object) -> object:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1 <= value < 2958466:
            return (datetime(1899, 12, 30) + timedelta(days=float(value))).date()
    if isinstance(value, (datetime, date)):
        return value if isinstance(value, date) and not isinstance(value, datetime) else value.date()
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip()
        m = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", text)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return None
    return None


# No figure of the form comes near this (amounts are in 万元); beyond it sums lose cents
# and 1e308 + 1e308 overflows to infinity.
MAX_MAGNITUDE = 1e12


def finite(value: object) -> float | None:
    """*value* as a float when it is a finite number of a plausible size, else None.

    Total: huge integers (OverflowError), NaN and infinities give None, never an exception;
    -0 becomes 0.
    """
    try:
        number = float(value)  # type: ignore[arg-type]
    except (OverflowError, TypeError, ValueError):
        return None
    if number != number or abs(number) >= MAX_MAGNITUDE:  # NaN, ±inf, absurd
        return None
    return number + 0.0  # -0.0 + 0.0 == 0.0


class _Typer:
    """Turns raw cell contents into typed values, collecting entry findings."""

    def __init__(self, form: Form, findings: list[Finding]) -> None:
        self.form = form
        self.findings = findings

    def _finding(self, code: str, f: Field, raw: object, **params: object) -> None:
        r = rule(code)
        where = f"{self.form.sheet_title(f.sheet)}!{f.cell}"
        fmt = {"where": where, "label": f.label, "text": raw, **params}
        self.findings.append(Finding(
            code=code, severity=r.severity, message=r.message().format(**fmt), fix=r.fix().format(**fmt),
            cells=[cell_ref(self.form, f.id, raw)], instance=f.id,
        ))

    def typed(self, f: Field, raw: object) -> object:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if f.kind is Kind.TEXT:
            return str(raw).strip() if isinstance(raw, str) else fmt_number(raw) if isinstance(raw, float) else str(raw)
        if f.kind is Kind.CHOICE:
            text = str(raw).strip()
            if text not in f.choices and normal_text(text) in f.choices:  # “≧” for ≥ (xltool.form.measure)
                return normal_text(text)
            if text not in f.choices:
                self._finding("XT104", f, raw, detail=_("choose one of {choices}").format(choices="、".join(f.choices)))
            return text
        if f.kind is Kind.DATE:
            value = _to_date(raw)
            if value is None:
                self._finding("XT104", f, raw, detail=_("enter a date such as 2024-03-31"))
            return value
        if isinstance(raw, bool):
            self._finding("XT102", f, raw)
            return None
        if isinstance(raw, (int, float)):
            value = finite(raw)
            if value is None:
                self._finding("XT120", f, raw)
                return None
        else:
            text = str(raw).strip()
            if text in f.choices or unicodedata.normalize("NFKC", text) in f.choices:
                return unicodedata.normalize("NFKC", text)
            if f.kind is Kind.NUMBER and f.choices:
                return self._indicator_value(f, raw, text)
            if no_figure(text):  # “——”: the cell states no figure (blank, as the Word reader reads it)
                return None
            parsed = parse_number(text)
            if parsed is None:
                self._finding("XT102", f, raw)
                return None
            value, percent = parsed
            if f.kind is not Kind.RATE and percent:
                value *= 100  # 90% typed into a number cell means 90 (the unit is %)
            if finite(value) is None:
                self._finding("XT120", f, raw)
                return None
            self._finding("XT101", f, raw, value=fmt_number(value))
        if not math.isfinite(value):  # "999…9" (400 digits), "inf", "NaN": no figure at all
            self._finding("XT102", f, raw)
            return None
        if f.kind is Kind.AMOUNT and value < 0 and not (f.sheet == "proj" and f.id.endswith("_adjust")):
            self._finding("XT701", f, raw, value=fmt_number(value))
        if f.kind is Kind.INTEGER and value != int(value):
            self._finding("XT104", f, raw, detail=_("enter a whole number"))
        if f.kind is Kind.AMOUNT and too_precise(value):
            # Stated in 万元 to two decimals: said once here, compared as stated everywhere else.
            self._finding("XT106", f, fmt_stated(value), value=fmt_amount(excel_round(value, 2)))
        return value

    def _indicator_value(self, f: Field, raw: object, text: str) -> object:
        """An indicator's 年度指标值 / 实际完成值 written as text: a number (90%, 38000平方米), a
        target with its comparator and unit (≥50个), or qualitative text (达成预期指标, 是, 合格) —
        all as published forms write them. Instruction text left in the cell is not a value."""
        if is_instruction(text):
            self._finding("XT104", f, raw, detail=_(
                "enter the value itself: a number, a target such as ≥50个, or a judgement such as 达成"))
            return None
        if no_figure(text):  # “无”, “——”: no figure stated, blank as the Word reader reads it
            return None
        parsed = parse_number(text)
        if parsed is not None and finite(parsed[0]) is not None:
            value, percent = parsed
            return value * 100 if percent else value  # 90% in a number cell means 90 (the unit is %)
        return unicodedata.normalize("NFKC", text)


def read_book(book: Book, path: str = "", cfg: ScoringConfig | None = None) -> ReadResult:
    """Read *book*. *cfg* is the bureau's scoring configuration; without it the settings stored
    in the workbook judge only when its fingerprint vouches for them (see settings_for)."""
    meta, origin = read_identity(book)
    # The pack is looked up by its id and version among the registered packs: the workbook never names a file.
    fallback = default_scoring(origin.pack_ref)
    findings: list[Finding] = []
    cfg = settings_for(meta, cfg, findings, fallback, origin)
    form = build_form(int(meta.year), cfg, origin.pack_ref)
    typer = _Typer(form, findings)
    values: dict[str, object] = {}
    raw: dict[str, object] = {}
    cached: dict[str, object] = {}
    plan = _plan(form)
    sheets = {title: sheet.cells for title, sheet in book.sheets.items()}
    typed = typer.typed
    for f, title, ref, derived in plan.cells:
        cells = sheets.get(title)
        if cells is None:
            continue
        data = cells.get(ref)  # None: an empty cell
        value = data.value if data is not None else None
        if derived:
            cached[f.id] = value
            if book.has_formulas:
                _check_formula(form, f, data.formula if data is not None else None, findings, plan.formulas[f.id])
            continue
        raw[f.id] = value
        values[f.id] = None if value is None else typed(f, value)
    _check_config(form, cfg, values, findings)
    _check_identity(form, meta, values, findings)

    prefilled = frozenset(fid for fid, value in (("info_unit_name", meta.unit_name), ("info_unit_code", meta.unit_code),
                                                 ("info_email", meta.unit_email)) if value)
    # The 审核 sheet holds every live check: it is compared only with a template of this very
    # build and settings (the fingerprint vouched for them, and the bureau's agree); otherwise
    # XT006, XT020 or XT021 says so already.
    same_build = bool(meta.fingerprint) and not any(f.code in ("XT006", "XT020", "XT021") for f in findings)
    check_integrity(form, book, findings, prefilled=prefilled, audit=same_build)  # first: reads 审核's protection
    _check_structure(form, book, findings, plan)
    computed = evaluate_all(form.formulas, values)
    if book.has_cached:
        _check_cached(form, computed, cached, findings)
    values.update(computed)
    return ReadResult(form=form, meta=meta, cfg=cfg, values=values, raw=raw, cached=cached,
                      findings=findings, source=book.source,
                      missing_sheets=[s.key for s in form.sheets if s.title not in book.sheets])


def settings_for(meta: TemplateMeta, bureau: ScoringConfig | None, findings: list[Finding],
                 default: ScoringConfig | None = None, origin: Provenance | None = None) -> ScoringConfig:
    """The scoring settings that judge this workbook; what the workbook says is evidence only.

    With the bureau's configuration (*bureau*: audit, ``--rules-config``) it wins, and stored
    settings that differ are reported (XT021). Without it the stored settings are used only
    when the fingerprint vouches for them (*origin*: what the hidden sheet proves); otherwise
    the pack's own settings judge, and an edited sheet is reported (XT020), or stored settings
    of an older template that cannot be proven differ (XT021). An older template is noted (XT006).
    *default* is the rule set of the workbook's form pack (looked up by id and version, never
    read from the workbook); the bureau's settings override it key by key, as ``--rules-config``
    does for a template.
    """
    from xltool.template.legacy import EDITED, GENUINE

    default = default if default is not None else ScoringConfig()
    if bureau is not None:
        bureau = overlay(default, bureau)
    try:
        embedded: ScoringConfig | None = (ScoringConfig.from_json(meta.scoring) if meta.scoring
                                          else default)
    except ValueError:
        embedded = None
    if origin is None:
        origin = Provenance(EDITED, None, meta.pack_ref)
    if origin.older:
        r = rule("XT006")
        findings.append(Finding(code="XT006", severity=r.severity,
                                message=r.message().format(found=_version_label(meta.version, origin.format),
                                                           expected=_version_label(VERSION, FORMAT)),
                                fix=r.fix(), instance="version"))
    sealed = origin.status == GENUINE and embedded is not None
    chosen = bureau if bureau is not None else embedded if sealed else default
    detail = settings_difference(embedded, chosen)
    if origin.status == EDITED:
        what = _("the fingerprint does not match")
        r = rule("XT020")
        findings.append(Finding(
            code="XT020", severity=r.severity, instance="meta",
            message=r.message().format(detail="；".join([what, *([detail] if detail else [])]),
                                       settings=_("the bureau's settings") if bureau is not None
                                       else _("the default settings")),
            fix=r.fix(),  # no cells: the hidden sheet is not one to mark or show
        ))
    elif detail:
        r = rule("XT021")
        findings.append(Finding(
            code="XT021", severity=r.severity, instance="meta", message=r.message().format(detail=detail),
            fix=r.fix(),
        ))
    return chosen


def settings_difference(found: ScoringConfig | None, expected: ScoringConfig, limit: int = 4) -> str:
    """The settings of *found* that differ from *expected*, as a short sentence ('' if none)."""
    if found is None:
        return _("the stored settings cannot be read")
    if found == expected:
        return ""
    ours, theirs = _flat(expected.to_dict()), _flat(found.to_dict())
    keys = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))
    parts = [_("{key}: workbook {found}, bureau {expected}").format(
        key=k, found=_short(theirs.get(k)), expected=_short(ours.get(k))) for k in keys[:limit]]
    if len(keys) > limit:
        parts.append(_("{n} more").format(n=len(keys) - limit))
    return "，".join(parts)


def _flat(data: object, prefix: str = "") -> dict[str, object]:
    if isinstance(data, dict):
        out: dict[str, object] = {}
        for key, value in data.items():
            out.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: data}


def _short(value: object) -> str:
    text = "—" if value is None else str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _check_identity(form: Form, meta: TemplateMeta, values: dict[str, object], findings: list[Finding]) -> None:
    """The unit the template was made for is locked: its cells must still say so (XT007). The
    e-mail address matters most: check-workbook --email writes to it."""
    r = rule("XT007")
    for fid, locked in (("info_unit_name", meta.unit_name), ("info_unit_code", meta.unit_code),
                        ("info_email", meta.unit_email)):
        if not locked or fid not in values:
            continue
        found = values.get(fid)
        if _norm_text(found) != _norm_text(locked):
            findings.append(Finding(
                code="XT007", severity=r.severity,
                message=r.message().format(where=form.where(fid), expected=locked, found=found or "—"),
                fix=r.fix(), cells=[cell_ref(form, fid, found)], instance=fid,
            ))


def _check_formula(form: Form, f: Field, found: str | None, findings: list[Finding],
                   expected_formula: tuple[str, str] | None = None) -> None:
    """XT001 unless *found* is the formula the template put there (*expected_formula*:
    the expected text and its normalised form, from the form's plan)."""
    if expected_formula is None:
        from xltool.form.cells import CellMap

        expected = CellMap(form).formula(f)
        expected_formula = (expected, norm_formula(expected))
    expected, normalised = expected_formula
    if norm_formula(found) == normalised:
        return
    r = rule("XT001")
    shown = f"={found}" if found else _("a constant value")
    findings.append(Finding(
        code="XT001", severity=r.severity,
        message=r.message().format(where=form.where(f.id), label=f.label, found=shown),
        fix=r.fix(), cells=[cell_ref(form, f.id, found)], expected=expected, actual=shown, instance=f.id,
    ))


def _check_config(form: Form, cfg: ScoringConfig, values: dict[str, object], findings: list[Finding]) -> None:
    r = rule("XT007")
    for fid, expected in config_values(cfg, form).items():
        found = values.get(fid)
        if found is None or abs(float(found) - expected) > 1e-9:  # type: ignore[arg-type]
            findings.append(Finding(
                code="XT007", severity=r.severity,
                message=r.message().format(where=form.where(fid), expected=fmt_number(expected), found=found),
                fix=r.fix(), cells=[cell_ref(form, fid, found)], instance=fid,
            ))
        values[fid] = expected  # score with the bureau's settings, not the edited ones


def _check_structure(form: Form, book: Book, findings: list[Finding], plan: _FormPlan | None = None) -> None:
    plan = plan or _plan(form)
    expected = [s.title for s in form.sheets] + ["审核"]
    # An annotated copy's printable 问题 list (report/annotate.py) is not part of the form: a unit
    # that corrects the annotated copy and sends it back is not told it added a sheet.
    present = [t for t in book.sheets if t not in HELPER_SHEETS and t != "问题"]
    missing = [t for t in expected if t not in book.sheets]
    extra = [t for t in present if t not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append(_("missing {names}").format(names="、".join(missing)))
        if extra:
            parts.append(_("added {names}").format(names="、".join(extra)))
        r = rule("XT003")
        findings.append(Finding(code="XT003", severity=r.severity,
                                message=r.message().format(detail="；".join(parts)), fix=r.fix(), instance="sheets"))
    r = rule("XT002")
    for title in expected:
        sheet = book.sheets.get(title)
        if sheet is not None and sheet.protected is False:
            findings.append(Finding(code="XT002", severity=r.severity, message=r.message().format(where=title),
                                    fix=r.fix(), instance=title))
    if book.structure_protected is False:
        r = rule("XT008")
        findings.append(Finding(code="XT008", severity=r.severity, message=r.message(), fix=r.fix(),
                                instance="structure"))
    if book.names is not None and book.names != plan.name_texts:  # equal: every name as the template wrote it
        r = rule("XT004")
        for f, want in plan.names:
            got = book.names.get(f.id)
            if got is None or norm_formula(got) != want:
                findings.append(Finding(code="XT004", severity=r.severity,
                                        message=r.message().format(name=f.id, found=got or "—"), fix=r.fix(),
                                        cells=[cell_ref(form, f.id)], instance=f.id))
    # Locked labels and headers: a changed text changes what a figure means.
    r = rule("XT007")
    for key, title, text, want in plan.texts:
        data = book.sheets.get(title)
        if data is None:
            continue
        found = data.get(text.cell).value
        if found != text.text and _norm_text(found) != want:
            findings.append(Finding(
                code="XT007", severity=r.severity,
                message=r.message().format(where=f"{title}!{text.cell}", expected=text.text, found=found or "—"),
                fix=r.fix(), cells=[CellRef(sheet=title, cell=text.cell, label=text.text, value=str(found or ""))],
                instance=f"{key}!{text.cell}",
            ))


def _check_cached(form: Form, computed: dict[str, object], cached: dict[str, object], findings: list[Finding]) -> None:
    r = rule("XT005")
    for fid, stored in cached.items():
        if stored is None or stored == "" and computed.get(fid) in (None, ""):
            continue  # no cached result (e.g. written by openpyxl): nothing to compare
        value = computed.get(fid)
        f = form.field(fid)
        if f.numeric:
            if value is None and stored in ("", None):
                continue
            try:
                same = value is not None and abs(float(stored) - float(value)) <= 1e-6 * max(1.0, abs(float(value)))
            except (TypeError, ValueError):
                same = False
        else:
            same = _norm_text(stored) == _norm_text(value if not isinstance(value, date) else value)
            if f.kind is Kind.DATE and isinstance(stored, (int, float)):
                same = _to_date(stored) == _to_date(value) if value not in ("", None) else False
        if not same:
            findings.append(Finding(
                code="XT005", severity=r.severity,
                message=r.message().format(where=form.where(fid), label=f.label, cached=stored,
                                           computed="—" if value in (None, "") else value),
                fix=r.fix(), cells=[cell_ref(form, fid, stored)], expected=_plain(value), actual=_plain(stored),
                instance=fid,
            ))


def _plain(value: object) -> float | str | None:
    if value is None or isinstance(value, (int, float, str)):
        return value  # type: ignore[return-value]
    return str(value)


def read_path(path: Path, *, backend: str = "xml", cfg: ScoringConfig | None = None,
              limits: Limits | None = None) -> ReadResult:
    from xltool.read import book as books
    from xltool.read.safety import inspect, open_package

    try:
        if backend == "xml":
            # The identification sheet first: a workbook that is not ours is refused unparsed.
            book, facts = books.read_package(open_package(Path(path), limits), skip=frozenset({"审核"}),
                                             first=META_SHEET, accept=identify)
        else:
            facts = inspect(Path(path), limits)
            book = books.from_openpyxl(Path(path))
    except UnreadableWorkbook:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure becomes a clear message
        from xltool.read.safety import Reason

        message = _("The workbook could not be read ({error}); open it in Excel or WPS, save it as .xlsx and send it again.")
        raise UnreadableWorkbook(Reason.parse_error, message.format(error=type(exc).__name__), repr(exc), str(path)) from exc
    result = read_book(book, str(path), cfg)
    result.sha256 = facts.sha256
    return result
