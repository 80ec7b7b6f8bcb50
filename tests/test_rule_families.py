"""The rule families of issue 23, each shown firing and staying quiet, in-process on values:

定性 and text-written indicator rows, blank is not zero, 0/0, stated precision, every pair of
statements of one figure, the policy checks (XT612–XT615, XT503–XT509), severity that follows the
policy (XT616), what ran (coverage) and how sure a finding is (confidence).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
import yaml

from helpers import zh_locale  # noqa: F401  (fixture)
from test_rules import CASES
from xltool.check.checker import judge
from xltool.check.finding import Severity
from xltool.form.expr import evaluate_all
from xltool.form.model import Kind
from xltool.form.scoring import ScoringConfig
from xltool.form.selfeval import build_form, config_values, default_scoring
from xltool.template.fill import validate

ROOT = Path(__file__).resolve().parents[1]
YEAR = 2023


@cache
def _read(path: str) -> dict[str, object]:
    return yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))["values"]


def _data(path: str) -> dict[str, object]:
    return dict(_read(path))


def unit_inputs() -> dict[str, object]:
    """The example report with its corrections: no must-fix finding."""
    return {**_data("examples/luosong_2023.yaml"), **_data("examples/luosong_2023_corrections.yaml")}


def project_inputs() -> dict[str, object]:
    return _data("examples/forms/project.yaml")


def run(changes: dict[str, object], *, pack: str = "", base: dict | None = None, cfg: ScoringConfig | None = None,
        covered: bool = False):
    cfg = cfg or default_scoring(pack or None)
    form = build_form(YEAR, cfg, pack or None)
    raw = {**(base if base is not None else (project_inputs() if pack == "project" else unit_inputs())), **changes}
    values = validate(form, {k: v for k, v in raw.items() if v is not None})
    values.update(config_values(cfg, form))
    values.update(evaluate_all(form.formulas, values))
    found, coverage = judge(form, cfg, values)
    return (found, coverage) if covered else found


def keyed(findings) -> dict[str, object]:
    return {f.key: f for f in findings}


def errors(findings) -> list[str]:
    return [f"{f.key} {f.message}" for f in findings if f.severity is Severity.ERROR]


@pytest.fixture(scope="module")
def project_base():
    return keyed(run({}, pack="project"))


@pytest.fixture(scope="module")
def unit_base():
    return keyed(run({}))


def new(findings, base) -> dict[str, object]:
    return {k: f for k, f in keyed(findings).items() if k not in base}


# -- 定性 rows and indicator values written as published forms write them ------------------------

QUALITATIVE_ROW = {  # 方向 定性, 年度指标值 达成, 实际完成值 达成, 分值, 得分 — as published
    "eval_output_quality_1_dir": "定性", "eval_output_quality_1_target": "达成",
    "eval_output_quality_1_actual": "达成", "eval_output_quality_1_unit": None,
}


def test_a_qualitative_row_filled_as_published_is_complete_and_scored_in_its_band(project_base):
    found = run(QUALITATIVE_ROW, pack="project")
    assert errors(found) == []
    assert not any(f.code == "XT608" for f in found)
    # 达成 allows 80–100% of the weight (15): 15 passes, 16 is above it, 11 below.
    above = new(run({**QUALITATIVE_ROW, "eval_output_quality_1_score": 16}, pack="project"), project_base)
    assert "XT601:eval_output_quality_1_score" in above  # above the weight too
    assert above["XT606:eval_output_quality_1_score"].severity is Severity.ERROR
    below = new(run({**QUALITATIVE_ROW, "eval_output_quality_1_score": 11,
                     "eval_output_quality_1_reason": "质量抽检有瑕疵"}, pack="project"), project_base)
    assert set(below) == {"XT616:eval_output_quality_1_score:band"}
    assert below["XT616:eval_output_quality_1_score:band"].severity is Severity.WARNING


@pytest.mark.parametrize("target,actual", [("达成预期指标", "达成预期指标"), ("效果明显", "效果明显"), ("是", "是"),
                                           ("合格", "合格"), ("有效改善", "有效改善")])
def test_qualitative_targets_without_a_direction_are_read_as_qualitative(target, actual, project_base):
    row = {"eval_output_quality_1_dir": None, "eval_output_quality_1_target": target,
           "eval_output_quality_1_actual": actual, "eval_output_quality_1_unit": None}
    found = run(row, pack="project")
    assert errors(found) == [], target
    # The actual repeats the target: 达成, read with less certainty; above the band is still caught.
    above = new(run({**row, "eval_output_quality_1_weight": 15, "eval_output_quality_1_score": 15.5},
                    pack="project"), project_base)
    band = above["XT606:eval_output_quality_1_score"]
    assert band.confidence == "medium" and band.basis, band


def test_a_judgement_worded_otherwise_is_read_with_less_certainty(project_base):
    row = {**QUALITATIVE_ROW, "eval_output_quality_1_actual": "基本完成", "eval_output_quality_1_score": 14}
    found = new(run(row, pack="project"), project_base)
    # 基本完成 is 部分达成 (60–80% of 15 = 9–12): 14 is above the band, said with medium confidence.
    finding = found["XT606:eval_output_quality_1_score"]
    assert finding.confidence == "medium" and any("部分达成" in b for b in finding.basis)
    assert "XT607:eval_output_quality_1_reason" in found  # 部分达成 is a missed target: a reason is due


@pytest.mark.parametrize("target,actual,dir_,score,code", [
    ("≥50个", "52个", None, 15, None),  # met: full marks
    ("≥50个", "40个", None, 15, "XT605"),  # 40/50 × 15 = 12: 15 is above the rule
    ("≥50个", "40个", None, 10, "XT616"),  # … and 10 below it
    ("≤90万元", "95万元", None, 15, "XT605"),  # reverse: (1 − 5/90) × 15 = 14.17
    ("=100%", "100%", None, 15, None),
    ("不低于95%", "98%", None, 15, None),
    ("95%", 0.98, "≥", 15, None),  # 98% typed into the cell is stored as 0.98
])
def test_targets_with_comparator_and_unit_are_read_as_numbers(target, actual, dir_, score, code, project_base):
    row = {"eval_output_quality_1_dir": dir_, "eval_output_quality_1_target": target,
           "eval_output_quality_1_actual": actual, "eval_output_quality_1_score": score,
           "eval_output_quality_1_reason": "说明"}
    found = new(run(row, pack="project"), project_base)
    assert {k.split(":")[0] for k in found if "quality_1" in k} == ({code} if code else set()), found
    assert not any(f.code in ("XT102", "XT608") for f in found.values())


def test_an_unreadable_target_is_never_turned_into_a_number():
    row = {"eval_output_quality_1_dir": "≥", "eval_output_quality_1_target": "12月底前",
           "eval_output_quality_1_actual": "11月完成", "eval_output_quality_1_score": 3}
    found, coverage = run(row, pack="project", covered=True)
    assert not any("quality_1_score" in f.key and f.code in ("XT605", "XT616") for f in found)
    assert any("未按评分规则核对得分" in n or "not scored" in n for n in coverage.notes), coverage.notes


def test_indicator_capacity_follows_the_pack():
    form = build_form(YEAR, None, "project")
    assert form.rows_of("output", "qty") == 25  # a published table lists 25 数量指标
    rows = {f"eval_output_qty_{j}_{k}": v for j in range(2, 26) for k, v in
            (("name", f"指标{j}"), ("dir", "≥"), ("target", 10), ("actual", 10), ("weight", 0), ("score", 0))}
    found = run(rows, pack="project")
    assert errors(found) == []
    over = run({**rows, "eval_output_qty_25_score": 1}, pack="project")
    assert any(f.key == "XT601:eval_output_qty_25_score" for f in over)


# -- blank is not zero -----------------------------------------------------------------------

def test_a_blank_budget_row_is_not_zero(project_base):
    found = run({"eval_budget_full": None}, pack="project")
    assert not any("0.00" in f.message and f.code in ("XT301", "XT201") for f in found)
    assert "XT103:eval_budget_full" in keyed(found)  # the gap, said once
    # The rate is judged from the figures that are there: the sources add up to 190.00.
    assert not any(f.code == "XT502" for f in found)
    assert any(f.key == "XT604:eval_exec_score" for f in run({"eval_budget_full": None, "eval_exec_score": 10},
                                                               pack="project"))


def test_a_total_whose_breakdown_is_blank_is_a_missing_breakdown_said_once(project_base):
    blanks = {f"eval_src_{s}_{c}": None for s in ("current", "carry", "other") for c in ("initial", "full", "exec")}
    found = new(run(blanks, pack="project"), project_base)
    assert [f.code for f in found.values()] == ["XT108"], found
    assert "（0.00）" not in next(iter(found.values())).message


def test_a_blank_income_breakdown_is_xt108_not_xt201(unit_base):
    found = new(run({"eval_inc_general": None}), unit_base)
    assert set(found) == {"XT108:eval:6-9"} or [f.code for f in found.values()] == ["XT108"], found


def test_no_message_quotes_a_blank_as_zero():
    """Blank each amount input of the corrected example in turn: no must-fix finding says 0.00
    for a figure that is not there (an empty cell is said to be empty)."""
    form = build_form(YEAR, ScoringConfig())
    base = unit_inputs()
    for f in form.inputs:
        if f.kind is not Kind.AMOUNT or base.get(f.id) in (None, 0):
            continue
        for finding in run({f.id: None}):
            if finding.severity is Severity.ERROR and finding.code in ("XT201", "XT301", "XT702", "XT710"):
                assert "（0.00）" not in finding.message, (f.id, finding.message)


# -- 0/0 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("changes", [
    {"eval_budget_full": 0, "eval_exec": 0, "eval_exec_score": 0},
    {"eval_budget_full": None, "eval_exec": None, "eval_exec_score": 0},
])
def test_an_undefined_execution_rate_is_named_not_scored(changes, project_base):
    blanks = {f"eval_src_{s}_{c}": None for s in ("current", "carry", "other") for c in ("full", "exec")}
    found = run({**blanks, **changes}, pack="project")
    codes = {f.code for f in found}
    assert "XT502" in codes
    assert not codes & {"XT604", "XT616"}, codes  # a score of 0 does not pass silently, nor is judged as 0
    assert next(f for f in found if f.code == "XT502").severity is Severity.WARNING


def test_a_defined_rate_has_no_xt502(project_base):
    assert not any(k.startswith("XT502") for k in project_base)


# -- stated precision ----------------------------------------------------------------------------

def test_three_decimals_compare_at_the_stated_precision(unit_base):
    same = new(run({"eval_budget_initial": 2701.574}), unit_base)
    assert not any(f.code == "XT301" for f in same.values()), same
    off = new(run({"eval_budget_initial": 2701.576}), unit_base)
    xt301 = [f for f in off.values() if f.code == "XT301"]
    assert xt301 and all("0.01" in f.message for f in xt301)


def test_a_difference_that_prints_as_zero_is_never_an_error():
    """+0.004 on every amount input of the corrected example never raises 必须修改, and no
    finding anywhere prints a difference of 0.00."""
    form = build_form(YEAR, ScoringConfig())
    base = unit_inputs()
    for f in form.inputs:
        if f.kind is not Kind.AMOUNT or not isinstance(base.get(f.id), (int, float)):
            continue
        found = run({f.id: base[f.id] + 0.004})
        assert errors(found) == [], f.id
        for finding in found:
            assert not re.search(r"差额为-?0\.00(?!\d)", finding.message), finding.message


def test_a_cent_on_a_typed_figure_is_caught(unit_base):
    """+0.03 on 全年执行数 against 项目绩效 实际单位年度总支出: compared directly, not within a total's allowance."""
    found = new(run({"eval_exec": 2450.24}), unit_base)
    assert any(f.code == "XT301" and f.severity is Severity.ERROR for f in found.values()), found
    assert not any(f.code == "XT202" and "spending_total" in f.key for f in found.values())


# -- every pair of statements of one concept ---------------------------------------------------

@pytest.mark.parametrize("pack", ["", "central-2020", "province-cost", "project"])
def test_every_pair_of_typed_statements_is_compared_at_zero_tolerance(pack):
    """For each concept, any typed statement made a cent different from the others is reported
    as XT301 (必须修改) naming it, whichever other statement is empty."""
    cfg = default_scoring(pack or None)
    form = build_form(YEAR, cfg, pack or None)
    for concept, fields in form.concepts().items():
        typed = [f for f in fields if f.is_input]
        if len(typed) < 2 or fields[0].kind is not Kind.AMOUNT:
            continue
        for empty in [None, *typed]:
            for odd in typed:
                if odd is empty:
                    continue
                values = {f.id: 100.0 for f in typed if f is not empty}
                values[odd.id] = 100.01
                base = {k: v for k, v in (project_inputs() if pack == "project" else unit_inputs()).items()
                        if k not in {f.id for f in fields}}
                if pack not in ("", "project"):
                    base = {}
                found = run(values, pack=pack, base=base, cfg=cfg)
                hits = [f for f in found if f.code == "XT301" and odd.id in {c.field_id for c in f.cells}]
                others = [f for f in typed if f is not empty and f is not odd]
                if others:
                    assert hits and all(h.severity is Severity.ERROR for h in hits), (pack, concept, odd.id, empty)


# -- policy checks ----------------------------------------------------------------------------------

def test_xt612_far_beyond_target_needs_a_reason(unit_base):
    far = {"eval_output_qty_1_actual": 50000, "eval_output_qty_1_reason": None}
    found = new(run(far), unit_base)
    assert "XT612:eval_output_qty_1_reason" in found
    assert found["XT612:eval_output_qty_1_reason"].severity is Severity.WARNING
    assert "XT612:eval_output_qty_1_reason" not in keyed(run({**far, "eval_output_qty_1_reason": "新增院落"}))
    assert "XT612:eval_output_qty_1_reason" not in keyed(run({"eval_output_qty_1_actual": 49000}))  # +28.9%
    # Where the region deducts (a setting, default off), XT605 expects the deducted score.
    cfg = ScoringConfig(indicator={"deviation_deduction": 2})
    deducted = keyed(run({**far, "eval_output_qty_1_reason": "新增院落"}, cfg=cfg))
    assert "XT605:eval_output_qty_1_score" in deducted and "18" in deducted["XT605:eval_output_qty_1_score"].message


def test_xt613_score_rate_well_above_the_execution_rate(unit_base):
    found = new(run({"eval_exec": 2000.0, "eval_exec_score": 7.97, "proj_spending": 2000.0, "fin_proj_3_amount": 902.06,
                     "proj_exec_rate": 0.7965}), unit_base)
    assert "XT613:total" in found, found
    assert "XT613:total" not in unit_base
    off = ScoringConfig(policy={"inflation_margin": False})
    assert "XT613:total" not in keyed(run({"eval_exec": 2000.0, "eval_exec_score": 7.97}, cfg=off))


def test_xt614_grade_against_the_total(project_base):
    assert "XT614:eval_grade" not in keyed(run({"eval_grade": "优"}, pack="project"))  # 总分 98.09
    wrong = keyed(run({"eval_grade": "良"}, pack="project"))["XT614:eval_grade"]
    assert wrong.severity is Severity.ERROR and "优" in wrong.message and "良" in wrong.message


def test_xt615_too_few_indicators(project_base):
    gone = {f"eval_{r}_{k}": None for r in ("output_quality_1", "output_time_1", "output_cost_1", "benefit_social_1")
            for k in ("name", "dir", "target", "actual", "unit", "weight", "score", "reason")}
    found = keyed(run(gone, pack="project"))
    assert "XT615:table" in found and "2" in found["XT615:table"].message
    assert "XT615:table" not in project_base
    assert "XT615:table" not in keyed(run(gone, pack="project", cfg=ScoringConfig(
        weights={"execution": 10, "output": 50, "benefit": 30, "satisfaction": 10, "cost": 0},
        policy={"min_indicators": 0})))


# code → changes to the corrected example that break it (with every ratio on, ALL_ON): test_rules' own cases.
RATIO_CASES = {code: CASES[code] for code in ("XT503", "XT504", "XT505", "XT506", "XT507", "XT508", "XT509")}
ALL_ON = ScoringConfig(policy={"ratios": {"staff_control_max": 1.0, "sgjf_change_max": 0.3, "public_control_max": 1.0,
                                          "procurement_min": 0.05, "carryover_max": 0.2, "adjustment_max": 0.1,
                                          "sgjf_control_max": 1.0}})
ALL_OFF = ScoringConfig(policy={"ratios": {k: False for k in ("staff_control_max", "sgjf_change_max",
                                                             "public_control_max", "procurement_min", "carryover_max",
                                                             "adjustment_max", "sgjf_control_max")}})


@pytest.mark.parametrize("code", sorted(RATIO_CASES))
def test_department_ratios_fire_on_their_case(code):
    quiet = keyed(run({}, cfg=ALL_ON))
    assert not any(k.startswith("XT50") and k[:5] in RATIO_CASES for k in quiet), quiet
    fired = new(run(RATIO_CASES[code], cfg=ALL_ON), quiet)
    hit = [f for f in fired.values() if f.code == code]
    assert hit and hit[0].severity is Severity.WARNING and "%" in hit[0].message, fired


def test_department_ratios_follow_their_settings():
    everything = {k: v for changes in RATIO_CASES.values() for k, v in changes.items()}
    assert not any(f.code in RATIO_CASES for f in run(everything, cfg=ALL_OFF))
    _found, coverage = run({}, cfg=ALL_OFF, covered=True)
    ratios = next(f for f in coverage.families if f.family == "ratios")
    assert ratios.status == "skipped" and "XT504" in "".join(ratios.reasons)


def test_xt504_fires_on_the_example_by_default(unit_base):
    """三公经费 70.77 (2022) → 88.19 (2023): +24.61%, and 三公经费 are not to rise."""
    finding = unit_base["XT504:sgjf_change_max"]
    assert "24.61%" in finding.message and finding.severity is Severity.WARNING


# -- severity follows the policy -------------------------------------------------------------------

def test_a_score_above_the_rule_must_be_fixed_and_below_it_explained(unit_base):
    above = keyed(run({"eval_exec_score": 10}))
    assert above["XT604:eval_exec_score"].severity is Severity.ERROR
    below = keyed(run({"eval_exec_score": 9}))
    assert "XT604:eval_exec_score" not in below
    assert below["XT616:eval_exec_score"].severity is Severity.WARNING
    strict = keyed(run({"eval_exec_score": 9}, cfg=ScoringConfig(policy={"below_rule": "error"})))
    assert strict["XT616:eval_exec_score"].severity is Severity.ERROR


def test_xt607_quotes_the_rows_own_score_and_weight(unit_base):
    found = keyed(run({"eval_satisfaction_service_1_reason": None}))
    message = found["XT607:eval_satisfaction_service_1_reason"].message
    assert "9.44" in message and "10" in message and "得分0" not in message, message


def test_xt607_covers_a_missed_target_scored_in_full(unit_base):
    found = keyed(run({"eval_output_time_1_actual": 11, "eval_output_time_1_reason": None}))
    assert "XT607:eval_output_time_1_reason" in found  # 11 of 12 months, whatever the score


# -- what ran ------------------------------------------------------------------------------------------

def test_coverage_names_every_family_and_why_one_did_not_run():
    _found, coverage = run({}, pack="project", covered=True)
    by = {f.family: f for f in coverage.families}
    assert set(by) == {"integrity", "entries", "totals", "pairs", "flows", "execution", "ratios", "scoring", "policy",
                       "plausibility"}
    assert by["flows"].status == "skipped" and by["flows"].reasons  # the project form has no project list
    assert by["scoring"].judged > 0 and by["scoring"].status in ("ran", "partial")
    assert any("XT609" in rule for rule in by["scoring"].off)  # turned off: caps.enabled
    assert "XT201" in by["totals"].not_in_form


def test_an_empty_form_says_nothing_was_judged():
    _found, coverage = run({}, pack="project", base={}, covered=True)
    by = {f.family: f for f in coverage.families}
    assert by["scoring"].status == "skipped" and by["scoring"].judged == 0


# -- what ran and how sure, in every output ----------------------------------------------------------

@pytest.fixture(scope="module")
def example_report():
    from xltool.check.checker import check_path

    return check_path(ROOT / "examples/luosong_2023_filled.xlsx")[1]


def test_the_terminal_says_what_ran(example_report, zh_locale):  # noqa: F811
    from rich.console import Console

    from xltool.report.terminal import print_report

    for width in (200, 80):
        console = Console(record=True, width=width)
        print_report(example_report, console)
        text = console.export_text()
        assert "已审核：" in text and "设置中已关闭：XT503" in text and "本表单不适用" in text, text[-800:]
    passing = example_report.replace(**{"findings": []})
    console = Console(record=True, width=200)
    print_report(passing, console)
    assert "已审核：" in console.export_text()  # “no findings” still says what was checked


def test_json_and_schema_carry_coverage_and_confidence(example_report):
    from xltool.report.model import CheckOutput, json_schema

    data = CheckOutput(workbooks=[example_report]).to_dict()
    families = data["workbooks"][0]["coverage"]["families"]
    assert {f["family"] for f in families} >= {"pairs", "scoring", "policy"}
    assert all("confidence" in f for f in data["workbooks"][0]["findings"])
    schema = json_schema()
    assert "Coverage" in schema["$defs"] and "confidence" in schema["$defs"]["Finding"]["properties"]


def test_both_issue_lists_say_what_ran(example_report, tmp_path, zh_locale):  # noqa: F811
    import openpyxl

    from xltool.audit.issuelist import write_issue_list_fast
    from xltool.report.xlsx_list import write_issue_list

    slow = openpyxl.load_workbook(write_issue_list(example_report, tmp_path / "slow.xlsx")).active
    fast = openpyxl.load_workbook(write_issue_list_fast(example_report, tmp_path / "fast.xlsx")).active
    assert slow["A4"].value == fast["A4"].value and slow["A4"].value.startswith("已审核：")
    assert [[c.value for c in r] for r in slow.iter_rows()] == [[c.value for c in r] for r in fast.iter_rows()]


def test_a_missing_sheet_is_named_in_what_ran():
    from xltool.check.checker import check_result_covered
    from xltool.read.book import from_xml
    from xltool.read.reader import read_book

    book = from_xml(ROOT / "examples/luosong_2023_filled.xlsx")
    book.sheets.pop("附件2")  # its rules read nothing
    result = read_book(book)
    _found, coverage = check_result_covered(result)
    assert result.missing_sheets == ["base"]
    assert "附件2" in "".join(r for f in coverage.families for r in f.reasons)
