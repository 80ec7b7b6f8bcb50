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


# -- 2. the figures real reports state in section 一 -------------------------------------------

def _read(paragraphs: list[str]):
    import docx as python_docx

    doc = python_docx.Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    path = scratch("word_gaps") / f"prose_{abs(hash(tuple(paragraphs)))}.docx"
    doc.save(str(path))
    with chinese():
        return check_document(path)


NANXIAN_2021 = [  # Hunan 南县 政协, 2021 (the corpus case hunan-nanxian-zhengxie-2021)
    "部门整体支出绩效评价报告",
    "一、基本情况",
    "（一）部门整体支出概况。",
    "2021年部门决算收支完成情况。",
    "1、收入：792.22万元。同比上年度增加189.25万元，增加31.39%。其中：财政拨款收入792.22万元，同比上年度增加209.28万元，增加35.9%。",
    "2、支出：799.12万元。其中：人员经费支出434.89万元，公用经费支出77.4万元，项目支出286.83万元。",
    "（三）部门整体支出或项目实施情况分析。",
    "本项目由基本支出和项目支出两个部分构成。基本支出主要包括人员经费及日常公用经费支出等。项目支出包括委员活动经费36.3万元，"
    "扫黑除恶工作经费1万元，信息网络运行经费5万元，老干部活动经费10.5万元，派出纪检监察组专项经费5万元，调研协商",
]


def test_section_one_figures_of_a_real_report_are_read():
    ext, values, report = _read(NANXIAN_2021)
    assert ext.values["info_year"] == 2021.0 and ext.where["info_year"] == "第一部分第2段"
    assert ext.values["fin_income"] == 792.22 and ext.where["fin_income"] == "第一部分第3段"
    assert (ext.values["fin_staff_cost"], ext.values["fin_public_cost"]) == (434.89, 77.4)
    assert ext.stated == {"fin_exp": 799.12, "fin_proj": 286.83}
    assert {ext.where[f] for f in ("fin_staff_cost", "fin_public_cost", "fin_exp", "fin_proj")} == {"第一部分第4段"}
    # The projects the description names are not the 项目支出 rows; their figures are listed, not placed.
    assert not any(k.startswith("fin_proj_") for k in ext.values)
    assert any(u.startswith("第一部分第6段：") and u.endswith("委员活动经费36.3万元") for u in report.unplaced), report.unplaced
    # 项目支出 stated without its rows stands for them in 支出: no XT201, the missing rows said once (XT108).
    assert round(values["fin_exp"], 2) == 799.12
    assert not [f for f in report.findings if f.code in ("XT201", "XT202", "XT709")]
    assert [f.code for f in report.findings if f.code == "XT108"] == ["XT108"]
    cited = {c.where for f in report.findings for c in f.cells}
    assert "第一部分第4段" in cited  # the finding cites the paragraph that states the figure


def test_a_mistyped_total_in_section_one_is_found():
    paras = [p.replace("2、支出：799.12万元", "2、支出：798.12万元") for p in NANXIAN_2021]
    _ext, _values, report = _read(paras)
    found = [f for f in report.findings if f.code == "XT201"]
    assert len(found) == 1 and found[0].severity.value == "error"
    assert "798.12" in found[0].message and "799.12" in found[0].message
    assert found[0].cells[0].where == "第一部分第4段"


@pytest.mark.parametrize("budget", [
    "2021年年初预算安排人员经费420万元，公用经费70万元，项目支出250万元。",
    "年初预算人员经费420万元；",
    "2021年批复预算数：基本支出490万元。",
])
def test_a_budget_clause_before_the_accounts_is_not_read_as_them(budget):
    paras = NANXIAN_2021[:3] + [budget] + NANXIAN_2021[3:]
    ext, _values, report = _read(paras)
    assert (ext.values["fin_staff_cost"], ext.values["fin_public_cost"]) == (434.89, 77.4)
    assert ext.stated["fin_proj"] == 286.83 and "fin_basic" not in ext.stated
    assert not [f for f in report.findings if f.code in ("XT201", "XT709")]
    assert any(u.startswith("第一部分第2段：") for u in report.unplaced)  # listed, not dropped


def test_a_bare_spending_figure_is_read_only_as_a_total_that_breaks_down():
    """“支出 N万元” is 支出 only as a list item followed by its 其中 parts; elsewhere it is no field."""
    ext, _values, _report = _read(["一、基本情况", "全年支出：799.12万元，主要用于机关运转。", "2、支出：799.12万元。"])
    assert "fin_exp" not in ext.stated


def test_a_change_on_last_year_is_not_the_figure():
    """“人员经费支出较上年增加20.5万元”, “同比增加189.25万元”: a change, not the year's figure."""
    ext, _values, report = _read(["一、基本情况", "人员经费支出较上年增加20.5万元，公用经费支出同比减少3万元。"])
    assert "fin_staff_cost" not in ext.values and "fin_public_cost" not in ext.values
    assert len(report.unplaced) == 2


def test_a_section_three_is_read_by_its_heading_not_its_number():
    """The example's 三、政府性基金预算支出情况 states 政府性基金; another report's 三、 (综合评价情况) does not."""
    ext, _values, report = _read(["一、基本情况", "二、绩效评价工作情况", "三、综合评价情况及评价结论",
                                  "全年共开展调研协商12次，投入经费31万元。"])
    assert "fin_gov_fund" not in ext.values
    assert any(u.startswith("第三部分第1段：") and u.endswith("投入经费31万元") for u in report.unplaced), report.unplaced
    ext, _values, _report = _read(["一、基本情况", "二、一般公共预算支出情况", "三、政府性基金预算支出情况", "12.00万元。"])
    assert ext.values["fin_gov_fund"] == 12.0


@cache
def _prose_cases():
    from conformance.corpus import load_cases

    return [c for c in load_cases() if c.prose]


def test_every_prose_case_is_read_as_published():
    """Each corpus case written as prose: every published figure is read from the text, at its value."""
    from conformance.corpus import as_number, docx, packs_registered

    assert len(_prose_cases()) >= 3
    for case in _prose_cases():
        with packs_registered(), chinese():
            ext, _values, _report = check_document(docx(case, scratch("word_gaps")), form=case.pack)
        for fid, text in {**case.fields, **case.stated}.items():
            got = ext.values.get(fid, ext.stated.get(fid))
            assert got == as_number(text), (case.id, fid, got, text)
            assert fid in ext.from_text, (case.id, fid)
        assert ext.values["info_year"] == case.year


def test_the_forms_note_under_annex_2_is_not_a_building():
    """A report that copies 附件2 with the form's 说明 line under the 楼堂馆所 block: the note is no
    building row (it made XT105 fire, a false 必须修改)."""
    note = "说明：“项目支出”需要填报基本支出以外的所有项目支出情况，“公用经费”填报基本支出中的一般商品和服务支出。"
    edited = [b + [[note]] if isinstance(b, list) and any("楼堂馆所" in c for row in b for c in row) else b
              for b in blocks()]
    assert edited != blocks()
    with chinese():
        ext, _values, report = check_document(write_docx(edited, scratch("word_gaps") / "note.docx"))
    assert not any(isinstance(v, str) and v.startswith("说明") for v in ext.values.values())
    assert {(f.code, f.instance) for f in report.findings} == {(f.code, f.instance) for f in word()[2].findings}
