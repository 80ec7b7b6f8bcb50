"""The conformance corpus: published self-evaluation returns as cases, and their runner.

A case (cases/*.yaml) holds one published table as it was published (blank stays blank; text
such as 达成预期指标 stays text; amounts in the unit the source uses), the figures placed on a
form pack's fields, the findings a reviewer decides by hand from the published definitions
(shared/domain.md), and what must not be flagged. Derived variants carry the slips real units
make and say so (``derived_from``). The runner puts each case through both of xltool's paths:

- the workbook path: the pack's template is filled with the project's own fill code, slips a
  unit makes by pasting (text in a number cell) are typed into the cells directly, and the
  workbook is checked exactly as ``xltool check-workbook`` does (``check_path``);
- the Word path: a .docx is written with python-docx in the layout the source uses (its row
  and column words, its cell texts: “≥50个”, “89.974”, “达成预期指标”) and checked exactly as
  ``xltool check-report`` does (``check_document``).

Only what the source shows is judged: a finding counts when every figure it cites was
published (or is a bureau setting, or is computed from published figures). A source cut off
after some rows says which parts are missing; their fields are not judged.
"""

from __future__ import annotations

import os
import re
import hashlib
import json
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field as dfield
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

HERE = Path(__file__).resolve().parent
CASES_DIR = HERE / "cases"
PACKS_DIR = HERE / "packs"
PATHS = ("workbook", "word")
RESULTS_ENV = "XLTOOL_CONFORMANCE_RESULTS"  # where each run's outcome is written for the summary line


# -- the case file ---------------------------------------------------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Expect(_Strict):
    """A finding the case must produce: rule code, the field it must cite, severity, why."""

    code: str = Field(pattern=r"^XT\d{3}$")
    at: str | list[str]
    severity: Literal["error", "warning"]
    why: str = Field(min_length=5)
    paths: list[Literal["workbook", "word"]] = list(PATHS)

    @property
    def fields(self) -> list[str]:
        return [self.at] if isinstance(self.at, str) else list(self.at)


class MustNot(_Strict):
    """A finding the case must not produce (any severity): code, optionally the field it cites."""

    code: str = Field(pattern=r"^XT\d{3}$")
    at: str | None = None
    why: str = Field(min_length=5)
    paths: list[Literal["workbook", "word"]] = list(PATHS)


class Indicator(_Strict):
    """One 三级指标 row as published. ``target``/``actual`` keep the cell text (≥50个, 达成预期指标)."""

    l1: str
    l2: str
    name: str
    dir: str | None = None  # a separate 指标方向 / 指标性质 column, where the form has one
    target: str | None = None
    unit: str | None = None  # a separate 计量单位 / 度量单位 column, where the form has one
    actual: str | None = None
    weight: str | None = None
    score: str | None = None
    reason: str | None = None


class Case(_Strict):
    id: str
    real: bool
    derived_from: str | None = None  # the real case a derived variant is made from
    source: str | None = None  # the published page (real cases)
    unit: str
    year: int = Field(ge=2000, le=2100)
    kind: Literal["project", "unit"]
    table: str
    pack: str
    amount_unit: Literal["万元", "元", "亿元"] = "万元"
    # A source in 元 is entered in the 万元 form divided by 10,000 (one in 亿元 times 10,000), as a
    # unit copying it would; a derived variant keeps the 元 figures as typed (元 in a 万元 form).
    keep_yuan: bool = False
    layout: str = Field(min_length=10)
    missing: dict[str, str] = {}  # part of the table → why it is not judged (cut off, not shown)
    complete_blocks: list[str] = []  # indicator blocks shown whole: “output”, “benefit.econ”
    fields: dict[str, Any] = {}  # field id → the published figure or text; null = published blank
    stated: dict[str, str] = {}  # computed figures the source also states (totals, rates), as text
    indicators: list[Indicator] = []
    infer_direction: bool = False  # the form has no direction column: ≥, or ≤ for 成本
    word_columns: list[str] = ["name", "target", "actual", "weight", "score", "reason"]
    raw: dict[str, str] = {}  # text typed into a cell as it is (the fill would refuse it)
    weights: dict[str, float] | None = None  # the bureau's weights for this project's template
    # The bureau's policy settings where a case turns a check on or off (a derived variant that
    # applies every 53号 ratio); merged into the pack's [policy], ratios key by key.
    policy: dict[str, Any] = {}
    expect: list[Expect] = []
    must_not: list[MustNot] = []
    word: bool = True
    word_reason: str = ""  # why a case has no Word path
    # The report's narrative (附件1) as published, one paragraph a line: the Word path writes it
    # before the tables and reads its figures from the text, as check-report reads a unit's report.
    prose: list[str] = []

    @model_validator(mode="after")
    def _consistent(self) -> "Case":
        if self.real == (self.derived_from is not None):
            raise ValueError("a real case has a source and no derived_from; a derived one names its real case")
        if self.real and not self.source:
            raise ValueError("a real case names its source")
        if not self.word and not self.word_reason:
            raise ValueError("say why a case has no Word path")
        return self


def load_cases(folder: Path = CASES_DIR) -> list[Case]:
    cases = []
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        case = Case.model_validate(data)
        if case.id != path.stem:
            raise ValueError(f"{path.name}: id {case.id} differs from the file name")
        cases.append(case)
    ids = {c.id for c in cases}
    for c in cases:
        if c.derived_from is not None and c.derived_from not in ids:
            raise ValueError(f"{c.id}: derived from unknown case {c.derived_from}")
    return cases


# -- the packs ---------------------------------------------------------------------------------

@contextmanager
def packs_registered():
    """The corpus's own packs (a region's published layout) registered as a bureau's packs."""
    from xltool.form.registry import ENV_DIR

    old = os.environ.get(ENV_DIR)
    os.environ[ENV_DIR] = str(PACKS_DIR)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(ENV_DIR, None)
        else:
            os.environ[ENV_DIR] = old


def scoring_for(case: Case):
    """The pack's scoring rule set, with the bureau's weights for this project where given."""
    from xltool.form.scoring import ScoringConfig, validate_scoring
    from xltool.form.selfeval import default_scoring

    cfg = default_scoring(case.pack)
    if case.weights or case.policy:
        data = cfg.to_dict()
        data["weights"].update(case.weights or {})
        for key, value in case.policy.items():
            if isinstance(value, dict):
                data["policy"][key] = {**(data["policy"].get(key) or {}), **value}
            else:
                data["policy"][key] = value
        cfg = validate_scoring(data)
    return cfg


def form_for(case: Case):
    from xltool.form.selfeval import build_form

    return build_form(case.year, scoring_for(case), case.pack)


# -- published text → field values ---------------------------------------------------------

NUMBER = re.compile(r"^-?\d+(?:,\d{3})*(?:\.\d+)?$")
TARGET = re.compile(r"^(?P<dir>[≥≤=<>])?\s*(?P<n>-?\d+(?:,\d{3})*(?:\.\d+)?)\s*(?P<unit>.*)$")


def blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def as_number(text: object) -> float | None:
    """A published figure as a number (“89.974”, “1,234.5”, “86%” → 0.86); None when it is not one."""
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        return float(text)
    s = str(text).strip().replace("，", ",")
    if s.endswith("%") and NUMBER.match(s[:-1]):
        return float(s[:-1].replace(",", "")) / 100
    return float(s.replace(",", "")) if NUMBER.match(s) else None


def judgements(case: Case) -> tuple[str, ...]:
    from xltool.form.registry import get_pack

    return tuple(get_pack(case.pack).file.choices.get("judgements", ()))


def indicator_fields(case: Case, form) -> tuple[dict[str, object], dict[str, str]]:
    """(values, raw) of the published indicator rows on the pack's eval_<l1>_<l2>_<j>_<part> fields.

    A quantitative target “≥50个” is direction ≥, 50, unit 个. A qualitative row (a target in
    words such as 严格执行相关制度规定) is direction 定性 with the form's first judgement as its
    target (the form takes a judgement, not the words); its actual judgement is kept. A
    completed value that is neither a number nor a judgement (“完成”) is typed as it is.
    """
    from xltool.form.selfeval import indicator_ids

    words = judgements(case)
    values: dict[str, object] = {}
    raw: dict[str, str] = {}
    count: dict[tuple[str, str], int] = {}
    for ind in case.indicators:
        key = (ind.l1, ind.l2)
        count[key] = count.get(key, 0) + 1
        j = count[key]
        if j > form.indicator_rows:
            raise ValueError(f"{case.id}: {ind.l1}.{ind.l2} has more rows than the pack's {form.indicator_rows}")
        ids = indicator_ids(ind.l1, ind.l2, j)
        if ids["name"] not in form.by_id:
            raise ValueError(f"{case.id}: {ind.l1}.{ind.l2} is not a block of pack {case.pack}")
        values[ids["name"]] = ind.name
        direction, unit = (ind.dir or "").strip() or None, ind.unit
        target: object = None
        if not blank(ind.target):
            m = TARGET.match(ind.target.strip())
            if ind.target.strip() in words:
                direction, target = "定性", ind.target.strip()
            elif m:
                direction = direction or {">": "≥", "<": "≤"}.get(m["dir"] or "", m["dir"])
                target = float(m["n"].replace(",", ""))
                unit = unit if unit is not None else (m["unit"].strip() or None)
            else:  # a target in words: a qualitative indicator
                direction, target = "定性", words[0]
        if direction is None and isinstance(target, float) and case.infer_direction:
            direction = "≤" if "cost" in ind.l2 else "≥"
        choices = form.by_id[ids["dir"]].choices if ids["dir"] in form.by_id else ()
        if direction is not None and choices and direction not in choices:
            raw[ids["dir"]] = direction  # a mark the form's list lacks (“≧”, “═”), pasted in as it is
        else:
            values[ids["dir"]] = direction
        values[ids["target"]] = target
        values[ids["unit"]] = unit
        if not blank(ind.actual):
            a = ind.actual.strip()
            m = TARGET.match(a)
            if a in words:
                values[ids["actual"]] = a
            elif m and not m["dir"]:
                values[ids["actual"]] = float(m["n"].replace(",", ""))
            else:
                raw[ids["actual"]] = a
        for part in ("weight", "score"):
            text = getattr(ind, part)
            if blank(text):
                continue
            n = as_number(text)
            if n is None:
                raw[ids[part]] = text
            else:
                values[ids[part]] = n
        values[ids["reason"]] = None if blank(ind.reason) else ind.reason
    return values, raw


def case_values(case: Case, form) -> tuple[dict[str, object], dict[str, str]]:
    """(values for the ordinary fill, raw texts typed into cells) of the case."""
    from xltool.form.model import Kind

    values: dict[str, object] = {}
    raw = dict(case.raw)
    for fid, published in case.fields.items():
        f = form.by_id.get(fid)
        if f is None:
            raise ValueError(f"{case.id}: {fid} is not a field of pack {case.pack}")
        if blank(published):
            values[fid] = None
        elif f.kind in (Kind.AMOUNT, Kind.NUMBER, Kind.RATE, Kind.INTEGER):
            n = as_number(published)
            if n is None and str(published).strip() not in f.choices:
                raw[fid] = str(published)
            else:
                values[fid] = n if n is not None else str(published).strip()
        else:
            values[fid] = published if isinstance(published, str) else str(published)
    ind_values, ind_raw = indicator_fields(case, form)
    values.update(ind_values)
    raw.update(ind_raw)
    if "info_year" in form.by_id:
        values.setdefault("info_year", case.year)
    if _converts(case):
        for fid, v in values.items():
            if isinstance(v, float) and form.by_id[fid].kind is Kind.AMOUNT:
                values[fid] = round(v * _factor(case), 6)
    for fid in raw:
        values.pop(fid, None)
    return values, raw


@cache
def _leaves(pack: str, year: int, cfg_json: str) -> dict[str, tuple[str, ...]]:
    from xltool.form.expr import leaf_refs
    from xltool.form.scoring import ScoringConfig
    from xltool.form.selfeval import build_form

    form = build_form(year, ScoringConfig.from_json(cfg_json), pack)
    return {fid: tuple(leaf_refs(expr, form.formulas)) for fid, expr in form.formulas.items()}


def known_fields(case: Case, form) -> frozenset[str]:
    """The fields the source lets us judge: published ones (blank included), every field of an
    indicator block shown whole, the bureau's settings, and what is computed from those."""
    from xltool.form.model import Role

    values, raw = case_values(case, form)
    known = set(values) | set(raw)
    for block in case.complete_blocks:
        prefix = "eval_" + block.replace(".", "_") + "_"
        hits = {f.id for f in form.fields if f.id.startswith(prefix) and f.is_input}
        if not hits:
            raise ValueError(f"{case.id}: no indicator block {block} in pack {case.pack}")
        known |= hits
    known |= {f.id for f in form.fields if f.role is Role.CONFIG}
    leaves = _leaves(case.pack, case.year, form.scoring_json)
    known |= {fid for fid, refs in leaves.items() if refs and set(refs) <= known}
    return frozenset(known)


# -- the workbook path -----------------------------------------------------------------------------

@cache
def template(pack: str, year: int, cfg_json: str) -> Path:
    """One template per pack, year and settings for the whole session: cases sharing them share
    it, across xdist workers too (tests/session_files.py: the first worker to need it builds it,
    the other reads it; filling copies it, the template itself is never changed)."""
    from session_files import shared_file

    from xltool.form.scoring import ScoringConfig
    from xltool.template.writer import build_workbook, save_atomic

    name = f"{pack}_{year}_{hashlib.sha256(cfg_json.encode()).hexdigest()[:12]}.xlsx"
    return shared_file(f"conformance_templates/{name}", lambda out: save_atomic(
        build_workbook(year, cfg=ScoringConfig.from_json(cfg_json), form_id=pack), out))


@cache
def _splicer(path: Path, form_json: str):
    """The template's bytes, ready to take a value in any input cell (template/splice.py: the
    cell written as openpyxl writes it, every other byte as the writer built it)."""
    from xltool.template.splice import Splicer

    cells: dict[str, list[str]] = json.loads(form_json)
    return Splicer(path.read_bytes(), cells)


def workbook(case: Case, folder: Path) -> Path:
    """The case filled into its pack's template (values validated as ``xltool fill`` validates
    them, then spliced into the template's input cells); raw texts typed into their cells as text."""
    from xltool.form.model import Role
    from xltool.template.fill import FillError, validate

    form = form_for(case)
    values, raw = case_values(case, form)
    coerced = validate(form, {k: v for k, v in values.items() if v is not None})
    if "info_year" in coerced and int(coerced["info_year"]) != form.year:  # type: ignore[call-overload]
        raise FillError([f"{case.id}: info_year {coerced['info_year']} is not the template's {form.year}"])
    titles = {s.key: s.title for s in form.sheets}
    inputs: dict[str, list[str]] = {}
    for f in form.fields:
        if f.role is Role.INPUT:
            inputs.setdefault(titles[f.sheet], []).append(f.cell)
    splicer = _splicer(template(case.pack, case.year, form.scoring_json), json.dumps(inputs, sort_keys=True))
    cells: dict[str, dict[str, object]] = {}
    for fid, value in [*coerced.items(), *raw.items()]:
        f = form.field(fid)
        if f.role is not Role.INPUT:
            raise FillError([f"{case.id}: {fid} is not an input cell"])
        cells.setdefault(titles[f.sheet], {})[f.cell] = value
    return splicer.write(folder / f"{case.id}.xlsx", cells)


def check_workbook(case: Case, folder: Path):
    from xltool.check.checker import check_path

    _result, report = check_path(workbook(case, folder))
    return report.findings, report


# -- the Word path ------------------------------------------------------------------------------

def _converts(case: Case) -> bool:
    return case.amount_unit != "万元" and not case.keep_yuan


def _factor(case: Case) -> float:
    """What a figure in the source's unit is multiplied by to be stated in 万元."""
    return {"元": 1 / 10000, "亿元": 10000.0}.get(case.amount_unit, 1.0)


def _as_wan(case: Case, form, fid: str, text: str) -> str:
    """A 元 (亿元) figure of the source as the 万元 report states it (250000 → 25; 79.69 → 796900)."""
    from xltool.form.model import Kind

    n = as_number(text)
    if not _converts(case) or n is None or form.by_id[fid].kind is not Kind.AMOUNT:
        return text
    return f"{n * _factor(case):.6f}".rstrip("0").rstrip(".")


def _text_of(case: Case, form, fid: str) -> str:
    """What the source prints in a field's place (a copied field prints what it copies)."""
    if fid in case.raw:
        return case.raw[fid]
    if fid in case.stated:
        return _as_wan(case, form, fid, case.stated[fid])
    if fid in case.fields:
        value = case.fields[fid]
        return "" if value is None else _as_wan(case, form, fid, str(value))
    formula = form.by_id[fid].formula
    if formula is not None and type(formula).__name__ == "Copy":
        return _text_of(case, form, formula.refs()[0])
    return ""


def _header_words(form, sheet: str, row: int) -> dict[str, str]:
    from xltool.form.cells import split_cell

    return {split_cell(t.cell)[0]: t.text for t in form.sheet(sheet).texts if split_cell(t.cell)[1] == row}


def _grid_row(form, sheet: str, row: int, text_of) -> list[str]:
    """One row of a sheet as the published table shows it: its words and figures by column."""
    from xltool.form.cells import column_index, split_cell

    cells: dict[int, str] = {}
    for t in form.sheet(sheet).texts:
        col, r = split_cell(t.cell)
        if r == row:
            cells[column_index(col)] = t.text.replace("{year}", str(form.year))
    for f in form.fields:
        if f.sheet == sheet and f.row == row:
            cells[column_index(split_cell(f.cell)[0])] = text_of(f.id)
    if not cells:
        return []
    width = max(cells)
    return [cells.get(c, "") for c in range(1, width + 1)]


def _eval_rows(case: Case, form) -> list[list[str]]:
    """The project table (附件3 / 项目支出绩效自评表) as the source lays it out."""
    from xltool.form.cells import split_cell
    from xltool.form.selfeval import indicator_ids

    ind_fields = [f for f in form.fields if f.sheet == "eval" and f.group and f.group.startswith("ind_")]
    first_ind = min(f.row for f in ind_fields)
    last_ind = max(f.row for f in ind_fields)
    header_row = first_ind - 1
    last = max(max(f.row for f in form.fields if f.sheet == "eval"),
               max(split_cell(t.cell)[1] for t in form.sheet("eval").texts))
    rows: list[list[str]] = []
    text_of = lambda fid: _text_of(case, form, fid)  # noqa: E731
    first_field = min(f.row for f in form.fields if f.sheet == "eval")
    for r in _shown_rows(case, form, "eval", range(first_field, header_row)):
        rows.append(_grid_row(form, "eval", r, text_of))
    # The indicator header and rows in the source's own columns.
    heads = _header_words(form, "eval", header_row)
    col_of = {part: split_cell(form.field(indicator_ids(form.tree[0][0], form.tree[0][2][0][0], 1)[part]).cell)[0]
              for part in ("name", "dir", "target", "actual", "unit", "weight", "score", "reason")}
    first_col = min(heads) if heads else "A"
    lead = [heads.get(first_col, "绩效指标"), "一级指标", "二级指标"]
    rows.append(lead + [heads.get(col_of[p], p) for p in case.word_columns])
    labels = {l1: (label, dict(kids)) for l1, label, kids in form.tree}
    from xltool.form.selfeval import l1_weight_label

    for ind in case.indicators:
        l1_label = l1_weight_label(ind.l1, scoring_for(case), form)
        l2_label = labels[ind.l1][1][ind.l2]
        rows.append([lead[0], l1_label, l2_label] + [getattr(ind, p) or "" for p in case.word_columns])
    for r in _shown_rows(case, form, "eval", range(last_ind + 1, last + 1)):
        rows.append(_grid_row(form, "eval", r, text_of))
    return rows


def _shown_rows(case: Case, form, sheet: str, rows: range) -> list[int]:
    """The rows of *rows* the source shows: a row with a figure or text it prints, and the rows
    of words (headers) over such a row; a block the source does not show goes with its headers."""
    kept: list[int] = []
    pending: list[int] = []
    for r in rows:
        has_fields = any(f.sheet == sheet and f.row == r for f in form.fields)
        if not has_fields:
            if _shown(case, form, sheet, r):
                pending.append(r)
            continue
        if _shown(case, form, sheet, r):
            kept += pending + [r]
        pending = []
    return kept


def _shown(case: Case, form, sheet: str, row: int) -> bool:
    """Whether the source's table has this row: a row of words (a header), or a row with a
    figure or text the source prints; a row of the template's own formulas that the source
    does not state (按资金来源合计, a 总分 cut off) is left out."""
    fields = [f for f in form.fields if f.sheet == sheet and f.row == row]
    texts = [t for t in form.sheet(sheet).texts if int(re.sub(r"\D", "", t.cell)) == row and t.text.strip()]
    if not fields:
        return bool(texts)
    printed = lambda f: bool(_text_of(case, form, f.id).strip()) or _source_of(form, f.id) in case.fields  # noqa: E731
    return any(printed(f) for f in fields)


def _source_of(form, fid: str) -> str:
    """The field a copied field prints (the table's 主管部门 cell prints 基本情况's): a row whose cells
    the source prints blank is still shown."""
    formula = form.by_id[fid].formula
    if formula is not None and type(formula).__name__ == "Copy":
        return _source_of(form, formula.refs()[0])
    return fid


def _base_rows(case: Case, form) -> list[list[str]]:
    """附件2 as the source lays it out: the rows the source shows (blank rows of a block kept)."""
    text_of = lambda fid: _text_of(case, form, fid)  # noqa: E731
    shown = set(case.fields) | set(case.stated) | set(case.raw)
    from xltool.form.cells import split_cell

    last = max(split_cell(t.cell)[1] for t in form.sheet("base").texts)
    rows = []
    for r in range(1, last + 1):
        in_row = [f.id for f in form.fields if f.sheet == "base" and f.row == r]
        if in_row and not (set(in_row) & shown):
            continue  # a row the source does not show at all
        row = _grid_row(form, "base", r, text_of)
        if any(c.strip() for c in row):
            rows.append(row)
    return rows


def docx(case: Case, folder: Path) -> Path:
    import docx as python_docx

    form = form_for(case)
    doc = python_docx.Document()
    if case.kind == "project":
        doc.add_paragraph(case.table)
        doc.add_paragraph(f"（{case.year}年度）")
        rows = _eval_rows(case, form)
    else:
        for text in case.prose:
            doc.add_paragraph(text)
        rows = []
        if not case.prose or any(form.by_id[f].sheet == "base" for f in {**case.fields, **case.stated}):
            doc.add_paragraph(f"{case.year}年度部门（单位）整体支出绩效评价基础数据表")
            doc.add_paragraph("附件2")
            rows = _base_rows(case, form)
    if rows:  # a case whose figures are all in its prose has no table
        table = doc.add_table(rows=len(rows), cols=max(len(r) for r in rows))
        table.style = "Table Grid"
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                table.cell(r, c).text = text
    out = folder / f"{case.id}.docx"
    doc.save(str(out))
    return out


def check_word(case: Case, folder: Path):
    from xltool.word.check import check_document

    _ext, _values, report = check_document(docx(case, folder), cfg=scoring_for(case) if case.weights or case.policy else None,
                                           form=case.pack)
    return report.findings, report


# -- judging the findings --------------------------------------------------------------------------

@dataclass
class Outcome:
    case: Case
    path: str
    found: list[Expect] = dfield(default_factory=list)
    missed: list[Expect] = dfield(default_factory=list)
    false_errors: list[Any] = dfield(default_factory=list)  # in scope, unexpected, 必须修改
    violated: list[tuple[MustNot, Any]] = dfield(default_factory=list)
    unexpected_warnings: list[Any] = dfield(default_factory=list)
    out_of_scope: int = 0
    unplaced: list[str] = dfield(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.missed or self.false_errors or self.violated)

    def describe(self) -> str:
        lines = [f"{self.case.id} [{self.path}]"]
        for e in self.missed:
            lines.append(f"  missed   {e.code} {e.severity} at {e.at}: {e.why}")
        for f in self.false_errors:
            lines.append(f"  FALSE 必须修改 {f.code} {_cited(f)}: {f.message}")
        for m, f in self.violated:
            lines.append(f"  must-not {m.code} at {m.at}: {f.severity.value} {f.message}")
        return "\n".join(lines)


def _cited(finding) -> set[str]:
    return {c.field_id for c in finding.cells if c.field_id}


def judge(case: Case, path: str, findings, known: frozenset[str], unplaced: list[str] | None = None) -> Outcome:
    out = Outcome(case, path, unplaced=list(unplaced or []))
    expects = [e for e in case.expect if path in e.paths]
    matched: set[int] = set()
    for e in expects:
        # A finding about the field itself first (its first figure), then one that cites it.
        candidates = [k for k, f in enumerate(findings) if k not in matched and f.code == e.code
                      and f.severity.value == e.severity and set(e.fields) <= _cited(f)]
        hit = next((k for k in candidates if findings[k].cells and findings[k].cells[0].field_id == e.fields[0]),
                   candidates[0] if candidates else None)
        if hit is not None:
            matched.add(hit)
            out.found.append(e)
        else:
            out.missed.append(e)
    def in_scope(f) -> bool:
        cited = _cited(f)
        return not cited or cited <= known

    for m in case.must_not:
        if path not in m.paths:
            continue
        for f in findings:
            if f.code == m.code and (m.at in _cited(f) if m.at else in_scope(f)):
                out.violated.append((m, f))
    for k, f in enumerate(findings):
        if k in matched:
            continue
        cited = _cited(f)
        if cited and not cited <= known:
            out.out_of_scope += 1
            continue
        if f.severity.value == "error":
            out.false_errors.append(f)
        else:
            out.unexpected_warnings.append(f)
    return out


def run_case(case: Case, path: str, folder: Path) -> Outcome:
    with packs_registered():
        form = form_for(case)
        known = known_fields(case, form)
        if path == "workbook":
            findings, report = check_workbook(case, folder)
        else:
            findings, report = check_word(case, folder)
        return judge(case, path, findings, known, report.unplaced)


# -- the summary line ---------------------------------------------------------------------------

def record(outcome) -> None:
    """Write one case × path outcome where the summary finds it."""
    folder = os.environ.get(RESULTS_ENV)
    if not folder:
        return
    data = {
        "case": outcome.case.id, "path": outcome.path, "real": outcome.case.real,
        "found": len(outcome.found), "total": len(outcome.found) + len(outcome.missed),
        "missed": [e.code for e in outcome.missed],
        "false_errors": [f.code for f in outcome.false_errors],
        "violated": [m.code for m, _f in outcome.violated],
    }
    (Path(folder) / f"{outcome.case.id}__{outcome.path}.json").write_text(json.dumps(data), encoding="utf-8")


def summary_line(rows: list[dict]) -> str:
    cases = {r["case"]: r["real"] for r in rows}
    real = sum(cases.values())
    found, total = sum(r["found"] for r in rows), sum(r["total"] for r in rows)
    missed = Counter(c for r in rows for c in r["missed"])
    false = Counter(c for r in rows for c in r["false_errors"])
    violated = sum(len(r["violated"]) for r in rows)

    def codes(counter: Counter) -> str:
        return ", ".join(f"{c}×{n}" for c, n in sorted(counter.items())) or "none"

    return (f"conformance corpus: {len(cases)} cases ({real} real, {len(cases) - real} derived), {len(rows)} runs "
            f"(workbook + Word) · expected findings found {found}/{total} (missed: {codes(missed)}) · "
            f"false 必须修改 {sum(false.values())} ({codes(false)}) · must-not broken {violated}")


# -- the session hooks (called from tests/conftest.py, which every run loads, xdist's controller too) --

def open_results(config) -> None:
    """The controller makes the folder each run writes its outcome to; workers inherit the path."""
    from session_files import open_shared

    open_shared(config, RESULTS_ENV, "xltool-conformance-", "_conformance_results")


def close_results(config) -> None:
    from session_files import close_shared

    close_shared(config, "_conformance_results")


def print_summary(terminalreporter, config) -> None:
    folder = getattr(config, "_conformance_results", None)
    if folder is None or not Path(folder).is_dir():
        return
    rows = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(Path(folder).glob("*.json"))]
    if rows:
        terminalreporter.write_line(summary_line(rows))
