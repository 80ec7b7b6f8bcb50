"""Generate N varied, filled self-evaluation workbooks (plus faults and broken files).

    python3 benchmarks/generate.py N OUT_DIR [--seed S] [--year Y] [--fault-share F]
                                   [--broken K] [--duplicates D] [--roster csv|xlsx|none]

What it writes into OUT_DIR:
  * ``<code>_<unit>.xlsx``: one workbook per unit. Most are *clean*: their figures are random
    but consistent, so no 必须修改 rule fires (the default rules find nothing at all). Some carry
    one injected *fault* each; the manifest names the rule that must report it.
  * a few *broken* files: a truncated zip, legacy .xls bytes, an encrypted (OLE) package,
    random bytes, an empty file and an xlsx that is not our template.
  * optional *duplicates*: an older second workbook of a unit (earlier mtime and 填报日期).
  * ``roster.csv`` (or ``roster.xlsx``): every generated unit but one, plus units that submitted
    nothing.
  * ``manifest.json``: for every file what it is, which rule must fire or which reading
    failure is expected, the roster's expectations (not submitted, not on the roster,
    duplicates).

How the figures are made consistent
  The example's corrected figures (examples/luosong_2023*.yaml) give the shape: its project
  list, its 附件2 rows and its indicator rows. For each unit every independent amount is the
  example's amount times a random scale (one per unit, log-uniform 0.3–3) and a small jitter
  per figure, in integer cents; every dependent figure is then *computed* from them with the
  identities the rules check (结余结转 = 年初 + 调整 − 实际, 全年预算数 = 基本支出 + 项目支出,
  execution rate and scores by the scoring rules, 三公 parts adding up, ...). Nothing is scaled
  twice, so the identities hold to the cent.

How 1,000 workbooks are made fast
  One template is built with openpyxl (about a second) and each variant is spliced from its
  bytes by the template layer's splicer (xltool/template/splice.py, the same code that writes
  a roster's per-unit templates): in every worksheet part the ``<c>`` element of each field
  cell is a slot between constant byte segments; a variant renders only the slots (the value,
  or the formula with its cached result computed by the form's own expressions, as Excel would
  store it). Parts that never change (the 审核 sheet, styles, theme, ...) are deflated once and
  their compressed bytes reused, so a variant costs a few milliseconds: 1,000 take a few seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import struct
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from xltool.form.cells import CellMap  # noqa: E402
from xltool.form.expr import evaluate_all, excel_round  # noqa: E402
from xltool.form.model import Form, Kind, Role  # noqa: E402
from xltool.form.scoring import ScoringConfig  # noqa: E402
from xltool.form.selfeval import build_form, config_values  # noqa: E402
from xltool.template.meta import seal  # noqa: E402

EXAMPLE = ROOT / "examples" / "luosong_2023.yaml"
CORRECTIONS = ROOT / "examples" / "luosong_2023_corrections.yaml"

DISTRICTS = ("芦淞区", "荷塘区", "石峰区", "天元区", "渌口区", "攸县", "茶陵县", "炎陵县", "醴陵市", "云龙示范区")
AGENCIES = (
    "机关事务服务中心", "教育局", "财政局", "民政局", "司法局", "人力资源和社会保障局", "自然资源局", "住房和城乡建设局",
    "交通运输局", "水利局", "农业农村局", "商务局", "文化旅游广电体育局", "卫生健康局", "退役军人事务局", "应急管理局",
    "审计局", "市场监督管理局", "统计局", "医疗保障局", "城市管理局", "档案馆", "融媒体中心", "疾病预防控制中心",
)
DEPARTMENTS = ("预算科", "行政政法科", "教科文科", "经济建设科", "社会保障科", "农业农村科")


# -- the example ---------------------------------------------------------------------------

def example_values() -> dict[str, object]:
    """The corrected example (every figure consistent), as field id → value (a fresh copy)."""
    return dict(_example())


@cache
def _example() -> dict[str, object]:
    values = dict(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["values"])
    values.update(yaml.safe_load(CORRECTIONS.read_text(encoding="utf-8"))["values"])
    return values


@dataclass
class Unit:
    name: str
    code: str
    email: str
    department: str = ""


def make_units(n: int, rng: random.Random) -> list[Unit]:
    """*n* distinct units: names from district × agency, six-digit codes, example.com mail."""
    names = [d + a for d in DISTRICTS for a in AGENCIES]
    rng.shuffle(names)
    units = []
    for i in range(n):
        base = names[i % len(names)]
        name = base if i < len(names) else f"{base}（{i // len(names) + 1}）"
        code = f"{430200 + i:06d}"
        units.append(Unit(name=name, code=code, email=f"u{code}@example.com", department=DEPARTMENTS[i % len(DEPARTMENTS)]))
    return units


# -- consistent figures ------------------------------------------------------------------------

def _c(value: object) -> int:
    """An example amount in integer cents (blank counts as 0)."""
    return int(round(float(value or 0) * 100))


def _a(cents: int) -> float:
    return cents / 100


def consistent_values(form: Form, unit: Unit, rng: random.Random, *, submitted: date | None = None) -> dict[str, object]:
    """Input values for *unit*: the example's shape, random amounts, every identity exact."""
    ex = example_values()
    year = form.year
    scale = math.exp(rng.uniform(math.log(0.3), math.log(3.0)))

    def amount(cents: int, lo: float = 0.85, hi: float = 1.15) -> int:
        return max(0, int(round(cents * scale * rng.uniform(lo, hi))))

    def near(cents: int, lo: float, hi: float) -> int:
        return max(0, int(round(cents * rng.uniform(lo, hi))))

    # Texts, choices and indicator rows come from the example; every amount is replaced below.
    v: dict[str, object] = dict(ex)
    # Identity and contact: the bureau fills name, code and e-mail in each unit's template.
    v.update(info_unit_name=unit.name, info_unit_code=unit.code, info_email=unit.email, info_year=year,
             info_preparer=rng.choice(("张敏", "李静", "王芳", "刘洋", "陈磊", "杨帆", "赵丽", "黄涛")),
             info_phone=f"1{rng.randint(3, 9)}{rng.randint(100000000, 999999999)}",
             info_head=rng.choice(("周建国", "吴晓东", "郑红", "孙伟")),
             info_date=submitted or date(year + 1, 3, 1) + timedelta(days=rng.randint(0, 40)))
    active = rng.randint(8, 80)
    retired = rng.randint(0, 40)
    v.update(info_departments=rng.randint(2, 9), info_staff_active=active, info_staff_retired=retired,
             info_staff_total=active + retired, base_staff_active=active, base_staff_quota=active + rng.randint(0, 6))

    # Projects (项目绩效): 结余结转 = 年初 + 调整 − 实际 for the 年初预算 projects.
    actual_sum = balance_sum = initial_sum = 0
    projects = []
    for i in range(1, 21):
        if not ex.get(f"proj_{i}_name"):
            continue
        actual = amount(_c(ex.get(f"proj_{i}_actual")))
        balance = amount(_c(ex.get(f"proj_{i}_balance")))
        v[f"proj_{i}_actual"], v[f"proj_{i}_balance"] = _a(actual), _a(balance)
        if ex.get(f"proj_{i}_initial_flag") == "是":
            initial = amount(_c(ex.get(f"proj_{i}_initial")), 0.9, 1.1)
            initial = max(initial, actual + balance - actual // 3)  # an increase stays below a third
            v[f"proj_{i}_initial"], v[f"proj_{i}_adjust"] = _a(initial), _a(actual + balance - initial)
            initial_sum += initial
        actual_sum += actual
        balance_sum += balance
        projects.append((i, str(ex[f"proj_{i}_name"]), actual))
    # 收支情况 lists the same projects with their spending.
    for row in range(1, 21):
        v.pop(f"fin_proj_{row}_name", None)
        v.pop(f"fin_proj_{row}_amount", None)
    for row, (_i, name, actual) in enumerate(projects, start=1):
        v[f"fin_proj_{row}_name"], v[f"fin_proj_{row}_amount"] = name, _a(actual)
    v.update(fin_gov_fund=0.0, fin_state_capital=0.0, fin_social_ins=0.0)

    staff = amount(_c(ex["fin_staff_cost"]))
    public = amount(_c(ex["fin_public_cost"]))
    basic = staff + public
    basic_initial = near(basic, 0.85, 1.0)  # the year's basic budget only grew
    full = basic + actual_sum + balance_sum
    spent = basic + actual_sum
    initial_total = initial_sum + basic_initial
    v.update(
        fin_staff_cost=_a(staff), fin_public_cost=_a(public), fin_income=_a(spent), fin_budget=_a(initial_total),
        proj_budget_initial=_a(initial_total), proj_spending=_a(spent),
        proj_exec_rate=excel_round(spent / full, 4),
        eval_budget_initial=_a(initial_total), eval_budget_full=_a(full), eval_exec=_a(spent),
        eval_inc_general=_a(full), eval_exp_basic=_a(basic), eval_exp_project=_a(actual_sum + balance_sum),
        base_basic_adjust_final=_a(basic - basic_initial),
    )

    # 附件2 经费控制: 决算 within its budget, last year and budget close enough not to need comment.
    def row3(key: str, final: int) -> None:
        v[f"base_{key}_final"] = _a(final)
        if f"base_{key}_budget" in form.by_id:
            v[f"base_{key}_budget"] = _a(max(final, near(final, 1.0, 1.25)))
        if f"base_{key}_prev" in form.by_id:
            # 三公经费 only fall from year to year (XT504); other rows move either way.
            low = 1.0 if key in ("car_buy", "car_run", "reception", "abroad") else 0.85
            v[f"base_{key}_prev"] = _a(near(final, low, 1.15))

    for key in ("car_buy", "car_run", "reception", "abroad", "procurement"):
        row3(key, amount(_c(ex.get(f"base_{key}_final")) or (2000 if key == "abroad" and rng.random() < 0.3 else 0)))
    for col in ("prev", "budget", "final"):
        v[f"base_car_{col}"] = _a(_c(v[f"base_car_buy_{col}"]) + _c(v[f"base_car_run_{col}"]))
    # 项目支出 rows: 业务工作经费 and 运行维护经费 share the projects' spending and 年初 budgets.
    share = rng.uniform(0.0, 0.4)
    work_final, work_budget = int(actual_sum * share), int(initial_sum * share)
    for key, final, budget in (("work", work_final, work_budget), ("ops", actual_sum - work_final, initial_sum - work_budget)):
        v[f"base_{key}_final"], v[f"base_{key}_budget"] = _a(final), _a(budget)
        v[f"base_{key}_prev"] = _a(near(final, 0.85, 1.15))
    # 公用经费 and its 其中 rows, in every column.
    public_cols = {"final": public, "budget": max(public, near(public, 1.0, 1.25)), "prev": near(public, 0.85, 1.15)}
    shares = {"office": rng.uniform(0.05, 0.3), "utilities": rng.uniform(0.0, 0.1), "meeting": rng.uniform(0.0, 0.1)}
    for col, total in public_cols.items():
        v[f"base_public_{col}"] = _a(total)
        for key, part in shares.items():  # one share per row, so the columns stay close to each other
            v[f"base_{key}_{col}"] = _a(int(total * part * rng.uniform(0.97, 1.0)))

    # 附件3 scores by the default scoring rules.
    w_exec = config_values(ScoringConfig())["guide_w_execution"]
    v["eval_exec_score"] = min(w_exec, excel_round(w_exec * spent / full, 2))
    for fid in list(v):
        if fid.startswith("eval_") and fid.endswith("_name") and v[fid] not in (None, "无"):
            _score_indicator(v, fid[: -len("_name")], rng, basic=_a(basic))
    return v


def _score_indicator(v: dict[str, object], stem: str, rng: random.Random, *, basic: float) -> None:
    """New target/actual for one indicator row and the score the default rule gives it."""
    direction, weight = v.get(f"{stem}_dir"), float(v.get(f"{stem}_weight") or 0)
    target = float(v.get(f"{stem}_target") or 0)
    if direction not in ("≥", "≤") or not target:
        return
    if v.get(f"{stem}_name") == "基本支出":  # a cost indicator named after a figure states that figure
        actual = basic
        target = round(basic * rng.uniform(0.9, 1.2), 2)
    elif float(v.get(f"{stem}_actual") or 0) == target and rng.random() < 0.7:
        actual = target  # 12 个月 of 12, every square metre maintained
    else:
        actual = round(target * rng.uniform(0.85, 1.05), 2 if target < 1000 else 0)
    if direction == "≥":
        score = weight if actual >= target else excel_round(actual / target * weight, 2)
    else:
        over = (actual - target) / target
        score = weight if actual <= target else 0.0 if actual >= 2 * target else excel_round((1 - over) * weight, 2)
    v[f"{stem}_target"], v[f"{stem}_actual"], v[f"{stem}_score"] = target, actual, score
    missed = actual < target if direction == "≥" else actual > target
    if score < weight or missed:
        v.setdefault(f"{stem}_reason", "加强管理，提高服务质量")
    else:
        v.pop(f"{stem}_reason", None)


# -- faults --------------------------------------------------------------------------------------

@dataclass
class Fault:
    """One injected error: what was changed and the rule code that must report it."""

    kind: str
    rule: str
    field: str
    detail: str
    cell_text: dict[str, str] = field(default_factory=dict)  # field id → text written as a string
    cached: dict[str, object] = field(default_factory=dict)  # derived field id → wrong cached value
    constant: tuple[str, ...] = ()  # derived fields whose formula is replaced by its value


def _f(v: dict[str, object], fid: str) -> float:
    return float(v.get(fid) or 0)


def _fault_spending(v, rng):
    delta = round(rng.choice((0.09, 0.9, 9.0, 90.0)) * rng.choice((1, -1)), 2)
    v["eval_exec"] = round(_f(v, "eval_exec") + delta, 2)
    return Fault("spending_differs", "XT301", "eval_exec", f"全年执行数 changed by {delta}")


def _fault_balance(v, rng):
    v["proj_1_balance"] = round(_f(v, "proj_1_balance") + rng.choice((10.0, 59.99, 100.0)), 2)
    return Fault("project_unbalanced", "XT401", "proj_1_balance", "结余结转 of project 1 increased")


def _fault_rate(v, rng):
    v["proj_exec_rate"] = round(_f(v, "proj_exec_rate") * 0.93, 4)
    return Fault("rate_wrong_base", "XT501", "proj_exec_rate", "执行率 computed against the wrong base")


def _fault_exec_score(v, rng):
    score = _f(v, "eval_exec_score")
    if score + 0.5 <= 10:  # above the rule: 自评得分虚高 (XT604); the weight is 10
        v["eval_exec_score"] = round(score + 0.5, 2)
        return Fault("exec_score", "XT604", "eval_exec_score", "预算执行率得分 half a point above the rule")
    v["eval_exec_score"] = round(max(0.0, score - 1.0), 2)
    return Fault("exec_score", "XT616", "eval_exec_score", "预算执行率得分 one point below the rule")


def _fault_indicator_score(v, rng):
    stem = "eval_satisfaction_service_1"
    v[f"{stem}_score"] = round(max(0.0, _f(v, f"{stem}_score") - 1.5), 2)
    v.setdefault(f"{stem}_reason", "加强管理")
    return Fault("indicator_score", "XT616", f"{stem}_score", "满意度 score 1.5 below the rule")


def _fault_income_total(v, rng):
    v["eval_inc_general"] = round(_f(v, "eval_inc_general") + 100.0, 2)
    return Fault("income_total", "XT201", "eval_inc_general", "按收入性质分 no longer adds up")


def _fault_required(v, rng):
    v.pop("info_preparer", None)
    return Fault("required_empty", "XT103", "info_preparer", "填表人 left empty")


def _fault_not_number(v, rng):
    return Fault("not_a_number", "XT102", "base_reception_final", "text in a number cell",
                 cell_text={"base_reception_final": "见附表"})


def _fault_text_number(v, rng):
    text = f"{_f(v, 'base_car_buy_final'):,.2f}万元"
    return Fault("number_as_text", "XT101", "base_car_buy_final", f"number typed as text “{text}”",
                 cell_text={"base_car_buy_final": text})


def _fault_year(v, rng):
    v["info_year"] = int(v["info_year"]) - 1
    return Fault("wrong_year", "XT705", "info_year", "last year's year entered")


def _fault_formula(v, rng):
    return Fault("formula_overwritten", "XT001", "fin_basic", "基本支出 formula replaced by its value",
                 constant=("fin_basic",))


def _fault_cached(v, rng):
    return Fault("stale_cached", "XT005", "eval_exec_rate", "stale cached 执行率", cached={"eval_exec_rate": 0.907})


def _fault_of_which(v, rng):
    v["base_office_final"] = round(_f(v, "base_public_final") + 5.0, 2)
    return Fault("of_which_exceeds", "XT203", "base_office_final", "办公经费 above 公用经费")


def _fault_named_figure(v, rng):
    stem = "eval_cost_costecon_1"
    v[f"{stem}_actual"] = _f(v, "fin_staff_cost")  # 人员经费 quoted for 基本支出
    return Fault("named_figure", "XT610", f"{stem}_actual", "基本支出 indicator quotes 人员经费")


def _fault_choice(v, rng):
    v["proj_1_initial_flag"] = "Y"
    return Fault("invalid_choice", "XT104", "proj_1_initial_flag", "是否年初预算 holds “Y”")


FAULTS = (
    _fault_spending, _fault_balance, _fault_rate, _fault_exec_score, _fault_indicator_score, _fault_income_total,
    _fault_required, _fault_not_number, _fault_text_number, _fault_year, _fault_formula, _fault_cached,
    _fault_of_which, _fault_named_figure, _fault_choice,
)


# -- the workbook factory -------------------------------------------------------------------------

def _xml_text(text: str) -> bytes:
    return escape(text).encode("utf-8")


def _number(value: float | int) -> bytes:
    """A number as Excel stores it (up to 17 significant digits)."""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return str(int(value)).encode()
    return repr(float(value)).encode()


class WorkbookFactory:
    """Build the template once; render variants by writing the field cells into its bytes
    (the template layer's splicer, xltool/template/splice.py, as make-template --roster does)."""

    def __init__(self, year: int = 2023, cfg: ScoringConfig | None = None) -> None:
        from io import BytesIO

        from xltool.form.selfeval import default_scoring
        from xltool.template.meta import META_SHEET, meta_rows
        from xltool.template.splice import Splicer
        from xltool.template.writer import build_workbook, template_meta

        self.form = build_form(year, cfg)
        self.cfg = cfg or ScoringConfig()
        self.cells = CellMap(self.form)
        stand_in = ("（单位名称）", "000000", "unit@example.com")  # every variant writes its own
        wb = build_workbook(year, cfg=cfg, unit_name=stand_in[0], unit_code=stand_in[1], unit_email=stand_in[2])
        buffer = BytesIO()
        wb.save(buffer)
        # The hidden sheet's rows as the writer stores them: the fingerprint seals them all (template/meta.py).
        self.meta_rows = meta_rows(template_meta(self.form, cfg or default_scoring(None), *stand_in))
        self.titles = {s.key: s.title for s in self.form.sheets}
        cells: dict[str, list[str]] = {}
        for f in self.form.fields:
            cells.setdefault(self.titles[f.sheet], []).append(f.cell)
        self.splicer = Splicer(buffer.getvalue(), cells, meta_sheet=META_SHEET)
        self.formula_text = {f.id: _xml_text(self.cells.formula(f)[1:]) for f in self.form.fields if f.formula is not None}

    def typed(self, values: dict[str, object]) -> dict[str, object]:
        """The inputs as the reader types them, plus the bureau's settings."""
        out: dict[str, object] = dict(config_values(self.cfg))
        for fid, value in values.items():
            f = self.form.field(fid)
            if value is None or f.role is not Role.INPUT:
                continue
            if f.kind is Kind.DATE:
                out[fid] = value
            elif f.numeric and isinstance(value, (int, float)):
                out[fid] = float(value)
            elif f.kind is Kind.TEXT and isinstance(value, (int, float)):
                out[fid] = str(value)
            else:
                out[fid] = value
        return out

    def render(self, values: dict[str, object], out: Path, *, unit: Unit | None = None, fault: Fault | None = None) -> Path:
        """Write a workbook holding *values* (inputs by field id), cached results included."""
        from xltool.template.writer import document_title

        fault = fault or Fault("", "", "", "")
        typed = self.typed(values)
        for fid, text in fault.cell_text.items():
            typed.pop(fid, None)  # the reader would not count the text as a number
        computed = evaluate_all(self.form.formulas, typed)
        cells: dict[str, dict[str, object]] = {}
        for f in self.form.fields:
            if f.formula is not None:
                cached = fault.cached.get(f.id, computed.get(f.id))
                value = self._value(cached) if f.id in fault.constant else self._formula_xml(f.id, cached)
            elif f.id in fault.cell_text:
                value = str(fault.cell_text[f.id])
            elif f.role is Role.CONFIG:
                value = self._value(typed.get(f.id))
            else:
                value = self._value(values.get(f.id))
            cells.setdefault(self.titles[f.sheet], {})[f.cell] = value
        name = (unit.name if unit else str(values.get("info_unit_name") or ""))
        code = (unit.code if unit else str(values.get("info_unit_code") or ""))
        email = str(values.get("info_email") or "")
        rows = {**self.meta_rows, "unit_name": name, "unit_code": code, "unit_email": email}
        rows["fingerprint"] = seal(rows)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(self.splicer.render(cells, meta=rows, title=document_title(self.form, name)))
        return out

    @staticmethod
    def _value(value: object) -> object:
        """A value as Excel stores it: numbers with up to 17 significant digits, text as text."""
        from xltool.template.splice import Raw

        if value is None or value == "" or isinstance(value, str):
            return value or None
        if isinstance(value, date):
            value = _serial(value)
        return Raw(b' t="n"><v>' + _number(value) + b"</v></c>")

    def _formula_xml(self, fid: str, cached: object) -> bytes:
        from xltool.template.splice import Raw

        f = b"<f>" + self.formula_text[fid] + b"</f>"
        if cached is None or cached == "":
            return Raw(b' t="str">' + f + b"<v></v></c>")
        if isinstance(cached, date):
            cached = _serial(cached)
        if isinstance(cached, str):
            return Raw(b' t="str">' + f + b"<v>" + _xml_text(cached) + b"</v></c>")
        return Raw(b">" + f + b"<v>" + _number(cached) + b"</v></c>")


_EPOCH = datetime(1899, 12, 30)


def _serial(value: date) -> float:
    return (datetime(value.year, value.month, value.day) - _EPOCH).days


@cache
def shared_factory(year: int = 2023) -> WorkbookFactory:
    """One factory per year and process (tests and the benchmark build the template once)."""
    return WorkbookFactory(year)


# -- broken files -------------------------------------------------------------------------------

def _cfb(streams: dict[str, bytes]) -> bytes:
    """A minimal compound file (MS-CFB v3, 512-byte sectors) holding *streams* (≥ 4 KB each)."""
    free, end, fat_sect = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
    names = list(streams)
    if len(names) > 3:
        raise ValueError("at most three streams")
    data_sectors: list[bytes] = []
    starts = []
    fat = [fat_sect, end]  # sector 0: FAT, sector 1: directory
    for name in names:
        blob = streams[name].ljust(4096, b"\0")
        blob += b"\0" * (-len(blob) % 512)
        first = 2 + len(data_sectors)
        count = len(blob) // 512
        starts.append((first, len(streams[name].ljust(4096, b"\0"))))
        for k in range(count):
            data_sectors.append(blob[k * 512:(k + 1) * 512])
            fat.append(first + k + 1 if k < count - 1 else end)
    fat += [free] * (128 - len(fat))

    def entry(name: str, kind: int, left: int, right: int, child: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0"
        return (raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1) + struct.pack("<III", left, right, child)
                + b"\0" * 16 + b"\0" * 4 + b"\0" * 16 + struct.pack("<IQ", start, size))

    nostream = 0xFFFFFFFF
    directory = entry("Root Entry", 5, nostream, nostream, 1, end, 0)
    for k, name in enumerate(names, start=1):
        right = k + 1 if k < len(names) else nostream
        directory += entry(name, 2, nostream, right, nostream, starts[k - 1][0], starts[k - 1][1])
    directory = directory.ljust(512, b"\0")
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<8I", header, 0x2C, 1, 1, 0, 4096, end, 0, end, 0)
    struct.pack_into("<109I", header, 0x4C, 0, *([free] * 108))
    return bytes(header) + struct.pack("<128I", *fat) + directory + b"".join(data_sectors)


def broken_files(out: Path, sample: Path, rng: random.Random) -> list[dict[str, object]]:
    """Files a batch meets that cannot be read; each with the reasons the reader may give."""
    import openpyxl

    made = []

    def add(name: str, data: bytes, kind: str, reasons: list[str]) -> None:
        (out / name).write_bytes(data)
        made.append({"file": name, "kind": "broken", "broken": kind, "reasons": reasons})

    whole = sample.read_bytes()
    add("broken_truncated.xlsx", whole[: len(whole) * 3 // 5], "truncated_zip", ["corrupt_zip", "not_a_zip"])
    bof = struct.pack("<HHHHII", 0x0809, 16, 0x0600, 0x0005, 0x0DBB, 0x07CC) + struct.pack("<HH", 0x0085, 8) + b"\0" * 8
    add("broken_legacy.xls", _cfb({"Workbook": bof}), "legacy_xls", ["legacy_xls"])
    add("broken_encrypted.xlsx", _cfb({"EncryptionInfo": b"\x04\x00\x04\x00\x40\x00\x00\x00", "EncryptedPackage": b"\x00" * 64}),
        "encrypted", ["encrypted"])
    add("broken_random.xlsx", bytes(rng.getrandbits(8) for _ in range(20000)), "random_bytes", ["not_a_zip"])
    add("broken_empty.xlsx", b"", "empty", ["empty"])
    wb = openpyxl.Workbook()
    wb.active.title = "Sheet1"
    wb.active.append(["单位名称", "金额"])
    wb.active.append(["某单位", 123.45])
    wb.save(out / "broken_other_template.xlsx")
    made.append({"file": "broken_other_template.xlsx", "kind": "broken", "broken": "not_our_template", "reasons": ["not_ours"]})
    return made


# -- the whole batch ---------------------------------------------------------------------------

def _slug(text: str) -> str:
    return re.sub(r'[\\/:*?"<>|\s]+', "_", text)[:60]


def write_roster(path: Path, units: list[Unit]) -> Path:
    rows = [("单位名称", "单位编码", "电子邮箱", "分管科室")] + [(u.name, u.code, u.email, u.department) for u in units]
    if path.suffix.lower() == ".xlsx":
        import openpyxl

        wb = openpyxl.Workbook()
        for row in rows:
            wb.active.append(row)
        wb.save(path)
    else:
        import csv

        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows(rows)
    return path


def generate(n: int, out: Path, *, seed: int = 1, year: int = 2023, fault_share: float = 0.25, broken: bool = True,
             duplicates: int = 0, roster: str = "csv", factory: WorkbookFactory | None = None) -> dict[str, object]:
    """Write the batch into *out* and return the manifest (also saved as manifest.json)."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    factory = factory or shared_factory(year)
    units = make_units(n + 3, rng)
    submitting, absent = units[:n], units[n:]
    n_faulty = min(n, max(len(FAULTS) if n >= 2 * len(FAULTS) else 0, round(n * fault_share)))
    faulty = set(rng.sample(range(n), n_faulty))
    files: list[dict[str, object]] = []
    base_time = time.mktime(datetime(year + 1, 3, 20, 9, 0).timetuple())
    fault_no = 0
    first_clean: Path | None = None
    for i, unit in enumerate(submitting):
        values = consistent_values(factory.form, unit, rng)
        fault = None
        if i in faulty:
            fault = FAULTS[fault_no % len(FAULTS)](values, rng)
            fault_no += 1
        name = f"{unit.code}_{_slug(unit.name)}.xlsx"
        path = factory.render(values, out / name, unit=unit, fault=fault)
        mtime = base_time + i * 60
        os.utime(path, (mtime, mtime))
        entry: dict[str, object] = {"file": name, "unit": unit.name, "code": unit.code, "email": unit.email,
                                    "kind": "fault" if fault else "clean", "mtime": mtime}
        if fault:
            entry.update(fault=fault.kind, rule=fault.rule, field=fault.field, detail=fault.detail)
        elif first_clean is None:
            first_clean = path
        files.append(entry)
    duplicate_entries = []
    for k in range(min(duplicates, n)):
        unit = submitting[k]
        kept = files[k]
        values = consistent_values(factory.form, unit, rng, submitted=date(year + 1, 2, 1))
        name = f"{unit.code}_{_slug(unit.name)}_初稿.xlsx"
        path = factory.render(values, out / name, unit=unit)
        mtime = base_time - 86400 * 7
        os.utime(path, (mtime, mtime))
        files.append({"file": name, "unit": unit.name, "code": unit.code, "email": unit.email, "kind": "duplicate",
                      "mtime": mtime, "kept": kept["file"]})
        duplicate_entries.append({"code": unit.code, "set_aside": name, "kept": kept["file"]})
    if broken:
        files += broken_files(out, first_clean or path, rng)
    manifest: dict[str, object] = {"seed": seed, "year": year, "files": files, "duplicates": duplicate_entries}
    if roster != "none":
        # Everyone but the last submitting unit is on the roster; three more units never submit.
        on_roster = submitting[:-1] + absent if n > 1 else submitting + absent
        roster_path = write_roster(out / f"roster.{roster}", on_roster)
        manifest.update(roster=roster_path.name, not_submitted=[u.code for u in absent],
                        not_on_roster=[submitting[-1].code] if n > 1 else [])
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="number of units (workbooks)")
    parser.add_argument("out", type=Path, help="output folder")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--year", type=int, default=2023)
    parser.add_argument("--fault-share", type=float, default=0.25, help="share of workbooks with one injected fault")
    parser.add_argument("--no-broken", action="store_true", help="do not add the broken files")
    parser.add_argument("--duplicates", type=int, default=0, help="units that also sent an older draft")
    parser.add_argument("--roster", choices=("csv", "xlsx", "none"), default="csv")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    manifest = generate(args.n, args.out, seed=args.seed, year=args.year, fault_share=args.fault_share,
                        broken=not args.no_broken, duplicates=args.duplicates, roster=args.roster)
    kinds: dict[str, int] = {}
    for entry in manifest["files"]:  # type: ignore[union-attr]
        kinds[entry["kind"]] = kinds.get(entry["kind"], 0) + 1
    print(f"wrote {len(manifest['files'])} files to {args.out} in {time.perf_counter() - start:.1f} s: "  # type: ignore[arg-type]
          + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
