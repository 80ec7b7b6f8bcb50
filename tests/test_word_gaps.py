"""The Word report's gaps closed: a date in an indicator cell, an incomplete indicator row, and
the figures real reports state in their section 一 (基本情况).

Every case is checked on both paths where the rule is shared (the same rule code, severity and
message on a workbook and on a Word report stating the same cells)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
import yaml
from helpers import chinese, scratch, zh_locale  # noqa: F401 - autouse fixture
from unit_report import blocks, write_docx

from xltool.check.checker import judge
from xltool.form.expr import evaluate_all
from xltool.form.scoring import ScoringConfig
from xltool.form.selfeval import build_form, config_values, indicator_ids
from xltool.template.fill import validate
from xltool.word.check import check_document

ROOT = Path(__file__).resolve().parents[1]
ROW = indicator_ids("output", "qty", 1)  # 数量指标第1行「绿化养护」: 38000平方米 | 38000平方米 | 20 | 20
PARTS = ("name", "target", "actual", "weight", "score", "reason")


def _edited(cells: dict[str, str]) -> list:
    """The unit's report with the first 数量指标 row's cells replaced (by part)."""
    out = []
    done = False
    for block in blocks():
        if isinstance(block, list):
            rows = []
            for row in block:
                k = next((i for i, c in enumerate(row) if c == "数量指标"), None)
                if k is not None and not done:
                    row = list(row)
                    for part, text in cells.items():
                        row[k + 1 + PARTS.index(part)] = text
                    done = True
                rows.append(row)
            block = rows
        out.append(block)
    assert done
    return out


@cache
def word(**cells: str):
    name = "_".join(f"{k}-{abs(hash(v))}" for k, v in sorted(cells.items())) or "plain"
    path = write_docx(_edited(cells), scratch("word_gaps") / f"{name}.docx")
    with chinese():
        return check_document(path)


def workbook_findings(**cells: str):
    """The workbook path over the same cells: the example's corrected inputs, the row's cells as a
    workbook reader reads them (a figure as a number, any other text as text)."""
    cfg = ScoringConfig()
    form = build_form(2023, cfg)
    data = yaml.safe_load((ROOT / "examples/luosong_2023.yaml").read_text(encoding="utf-8"))["values"]
    data.update(yaml.safe_load((ROOT / "examples/luosong_2023_corrections.yaml").read_text(encoding="utf-8"))["values"])
    values = validate(form, {k: v for k, v in data.items() if v is not None})
    for part, text in cells.items():
        fid = ROW[part]
        try:
            values[fid] = float(text) if text else None
        except ValueError:
            values[fid] = text
        if values[fid] is None:
            values.pop(fid)
    values.update(config_values(cfg))
    values.update(evaluate_all(form.formulas, values))
    with chinese():
        return judge(form, cfg, values)


def on_row(findings) -> list:
    return [f for f in findings if any(c.field_id in ROW.values() for c in f.cells)]


def keys(findings) -> set[tuple[str, str, str]]:
    return {(f.code, f.severity.value, f.message) for f in on_row(findings)}


# -- 1. a date or deadline is not a quantity --------------------------------------------------

DATES = [
    # (年度指标值, 实际完成值): the old reading took the first figure of each (2023 against 6, 12 against 2023)
    ("2023年6月", "6月"),
    ("12月底前", "2023年12月完成"),
    ("2021年12月完成", "2021年12月完成"),
    ("2023年6月底前完成", "2023年5月完成"),
]


@pytest.mark.parametrize(("target", "actual"), DATES)
def test_a_date_in_an_indicator_cell_is_text_not_a_figure(target, actual):
    ext, _values, report = word(target=target, actual=actual)
    assert ext.values[ROW["target"]] == target and ext.values[ROW["actual"]] == actual
    # No direction is made up for a row of dates (the text target states the row, as on the workbook path).
    assert ROW["dir"] not in ext.values
    row = on_row(report.findings)
    assert not [f for f in row if f.code in ("XT605", "XT612", "XT616", "XT102", "XT608")], [f.message for f in row]
    # … and the reviewer is told the row was not scored by rule.
    assert any("绿化养护" in note for note in report.coverage.notes), report.coverage.notes


@pytest.mark.parametrize(("target", "actual"), DATES)
def test_a_date_in_an_indicator_cell_reads_the_same_on_both_paths(target, actual):
    found, covered = workbook_findings(target=target, actual=actual)
    assert keys(found) == keys(word(target=target, actual=actual)[2].findings)
    assert any("绿化养护" in note for note in covered.notes)


def test_a_figure_with_its_unit_is_still_a_figure():
    """The figure rows stay figures: 38000平方米, ≥95%, 不低于90% are scored as before."""
    ext, _values, report = word(target="≥40000平方米", actual="38000平方米", score="20")
    assert ext.values[ROW["target"]] == 40000.0 and ext.values[ROW["actual"]] == 38000.0
    assert ext.values[ROW["dir"]] == "≥" and ext.values[ROW["unit"]] == "平方米"
    over = [f for f in on_row(report.findings) if f.code == "XT605"]
    assert over and over[0].severity.value == "error"  # 20 stated, 19 by the rule: 38000 ÷ 40000 × 20
    ext, _values, _report = word(target="不低于90%", actual="95%")
    assert ext.values[ROW["target"]] == 90.0 and ext.values[ROW["dir"]] == "≥"


def test_a_date_target_against_a_figure_actual_is_noted_not_scored():
    """A deadline target with a figure typed as the actual (6月 → a figure of 6?) is not compared."""
    _ext, _values, report = word(target="2023年6月底前", actual="6")
    assert not [f for f in on_row(report.findings) if f.severity.value == "error"]


# -- 3. XT608 names the missing cells ---------------------------------------------------------

@pytest.mark.parametrize(("cells", "missing"), [
    ({"actual": ""}, ["实际完成值"]),
    ({"actual": "", "score": ""}, ["实际完成值", "得分"]),
    ({"target": "", "weight": ""}, ["年度指标值", "分值"]),
])
def test_an_incomplete_indicator_row_names_what_is_missing(cells, missing):
    _ext, _values, report = word(**cells)
    found = [f for f in report.findings if f.code == "XT608"]
    assert len(found) == 1 and found[0].severity.value == "error"
    f = found[0]
    assert "未填：" + "、".join(missing) in f.message, f.message
    # The name first, then the empty cells (cited as not stated in the report), then the filled ones.
    assert f.cells[0].field_id == ROW["name"]
    empty = f.cells[1:1 + len(missing)]
    assert [c.label.split(" ")[-1] for c in empty] == missing
    assert all(c.value in (None, "") and "报告未载" in (c.where or "") for c in empty)
    assert all(c.value not in (None, "") for c in f.cells[1 + len(missing):])


@pytest.mark.parametrize("cells", [{"actual": ""}, {"actual": "", "score": ""}, {"target": "", "weight": ""}])
def test_an_incomplete_indicator_row_reads_the_same_on_both_paths(cells):
    book = [f for f in workbook_findings(**cells)[0] if f.code == "XT608"]
    report = [f for f in word(**cells)[2].findings if f.code == "XT608"]
    assert [(f.severity, f.message) for f in book] == [(f.severity, f.message) for f in report]
    assert [c.field_id for c in book[0].cells] == [c.field_id for c in report[0].cells]


def test_a_missing_direction_is_named_on_the_workbook_path():
    """A figure target with no 指标方向 (the workbook has its own column): the direction is what is missing."""
    form = build_form(2023)
    found = [f for f in workbook_findings(target="38000")[0] if f.code == "XT608"]
    assert not found  # the example states its direction: complete
    cfg = ScoringConfig()
    data = yaml.safe_load((ROOT / "examples/luosong_2023.yaml").read_text(encoding="utf-8"))["values"]
    data.update(yaml.safe_load((ROOT / "examples/luosong_2023_corrections.yaml").read_text(encoding="utf-8"))["values"])
    values = validate(form, {k: v for k, v in data.items() if v is not None and k != ROW["dir"]})
    values.update(config_values(cfg))
    values.update(evaluate_all(form.formulas, values))
    with chinese():
        found = [f for f in judge(form, cfg, values)[0] if f.code == "XT608"]
    assert len(found) == 1 and "未填：指标方向" in found[0].message
    assert found[0].cells[1].field_id == ROW["dir"]


def test_a_complete_row_is_quiet():
    assert not [f for f in word()[2].findings if f.code == "XT608"]
    assert not [f for f in workbook_findings()[0] if f.code == "XT608"]
