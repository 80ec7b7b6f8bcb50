"""XT107: an amount typed in 元 into the 万元 form, found by another statement of the same
quantity (a pair, a total and its parts, a project's flow) that agrees once it is divided by
10,000 — on the workbook path and in a Word report — and quiet where there is no such evidence:
the example's own disagreements, a large figure with nothing to compare it with, a partner left
empty, a difference that is not a factor of 10,000, and a relation that is only an inequality."""

from __future__ import annotations

from functools import cache

import pytest
from helpers import chinese, corrected_file, edit_inputs, filled_file, form_2023, scratch, zh_locale  # noqa: F401
from unit_report import _cell, blocks, write_docx

from xltool.check.checker import check_path
from xltool.word.check import check_document


@cache
def book(**change: float | None):
    name = "_".join(f"{k}-{v}" for k, v in sorted(change.items())) or "corrected"
    path = edit_inputs(corrected_file(), scratch("yuan_in_wan") / f"{name}.xlsx", form_2023(), change)
    with chinese():
        return check_path(path)[1]


def _yuan(report) -> list:
    return [f for f in report.findings if f.code == "XT107"]


def test_a_total_typed_in_yuan_is_named_with_its_wan_figure():
    """附件3 全年执行数 24,502,100.00 where the report states 2,450.21 万元 (section 六)."""
    rep = book(eval_exec=24502100.0)
    found = _yuan(rep)
    assert len(found) == 1, [f.message for f in found]
    f = found[0]
    assert f.severity.value == "warning" and f.instance == "eval_exec"
    assert f.cells[0].field_id == "eval_exec" and f.cells[0].value == 24502100.0
    assert (f.actual, f.expected) == (24502100.0, 2450.21)
    assert "24,502,100.00" in f.message and "2,450.21" in f.message and "元" in f.message
    assert "2,450.21" in f.fix
    assert f.confidence == "medium" and f.basis
    # The relation's own finding stays: the two statements do differ.
    assert any(g.code == "XT301" and "eval_exec" in {c.field_id for c in g.cells} for g in rep.findings)


def test_a_part_typed_in_yuan_is_found_through_its_total():
    """附件3 按支出性质分 基本支出 in 元 (3,801,900): the breakdown no longer adds up to 全年预算数."""
    found = _yuan(book(eval_exp_basic=3801900.0))
    assert [f.instance for f in found] == ["eval_exp_basic"] and found[0].expected == 380.19


def test_a_project_figure_typed_in_yuan_is_found_through_its_budget_flow():
    """项目绩效 第2行 实际支出 in 元: 年初预算 + 年中调整 − 实际支出 = 结余结转 holds once it is ÷ 10,000."""
    from helpers import corrected_values

    actual = corrected_values()["proj_2_actual"]
    found = _yuan(book(proj_2_actual=round(actual * 10000, 2)))
    assert "proj_2_actual" in [f.instance for f in found]


@pytest.mark.parametrize("change", [
    {},  # the corrected example: every relation holds
    {"eval_exec": 2450.12},  # a copying slip (0.09): not a factor of 10,000
    {"eval_exec": 24501200.0},  # 10,000 × a figure no other statement gives
    {"base_ops_final": 20700.2},  # large, but 附件2's own rows hold no second statement of it
    {"base_office_final": 150000.0},  # a 其中 row in 元 exceeds its parent: an inequality is no evidence
])
def test_no_evidence_no_finding(change):
    assert not _yuan(book(**change)), [f.message for f in _yuan(book(**change))]


def test_the_examples_own_disagreements_are_not_units():
    from helpers import example_report

    assert not _yuan(example_report()[1])


def _judged(inputs: dict[str, object]):
    from xltool.check.checker import judge
    from xltool.form.expr import evaluate_all
    from xltool.form.scoring import ScoringConfig
    from xltool.form.selfeval import config_values

    cfg, form = ScoringConfig(), form_2023()
    values = {**inputs, **config_values(cfg)}
    values.update(evaluate_all(form.formulas, values))
    with chinese():
        return judge(form, cfg, values)[0]


@pytest.mark.parametrize("partner", [None, 0.0])
def test_a_partner_left_empty_or_zero_is_no_evidence(partner):
    """全年执行数 24,502,100 with its budget and breakdown in 万元, and the one other statement of it
    (section 六's 实际单位年度总支出) empty or 0.00: far too large (XT702), but nothing says it is in 元."""
    inputs = {"eval_budget_initial": 2701.57, "eval_budget_full": 2510.99, "eval_exec": 24502100.0,
              "proj_spending": partner}
    found = _judged(inputs)
    assert any(f.code == "XT702" for f in found)
    assert not [f for f in found if f.code == "XT107"], [f.message for f in found if f.code == "XT107"]
    # … while the same statement in 万元 is the evidence.
    assert [f.instance for f in _judged({**inputs, "proj_spending": 2450.21}) if f.code == "XT107"] == ["eval_exec"]


@cache
def word_report(exec_text: str):
    out = []
    for block in blocks():
        if isinstance(block, list) and any("年度资金总额" in c for row in block for c in row):
            block = [list(r) for r in block]
            row = next(r for r in block if "年度资金总额" in r)
            k = row.index("年度资金总额")
            row[k + 3] = exec_text  # 全年执行数
        out.append(block)
    path = write_docx(out, scratch("yuan_in_wan") / f"word_{abs(hash(exec_text))}.docx")
    with chinese():
        return check_document(path)[2]


def test_a_word_report_with_a_yuan_figure_in_annex_3_is_told_the_same():
    found = _yuan(word_report("24502100"))
    assert [f.instance for f in found] == ["eval_exec"] and found[0].expected == 2450.21
    assert "附件3 表格" in (found[0].cells[0].where or "")


def test_a_word_report_in_wan_is_quiet():
    from helpers import example_values

    assert not _yuan(word_report(_cell(example_values()["eval_exec"])))
