"""A Word report without its 自评表 (附件3): said once (XT617), not as weights adding up to 0.

The unit's report of tests/unit_report.py is written without 附件3, with the heading 附件3 but no
table (a pasted picture), with 附件3 present but empty, and partly filled: only the missing table
is XT617; an empty or partly filled table is judged by the existing rules, and the report's other
figures are checked the same in every variant."""

from __future__ import annotations

from functools import cache

import pytest
from helpers import chinese, scratch, zh_locale  # noqa: F401 - autouse fixture
from unit_report import _example, annex3, blocks, write_docx

from xltool.word.check import check_document

TABLE_RULES = ("XT602", "XT603", "XT502", "XT615")  # rules that add up or score the 自评表


def _without_annex3(heading: bool) -> list:
    out = blocks()
    cut = out.index("附件3")
    return out[:cut] + (["附件3", "2023年度部门（单位）整体支出绩效自评表", "（图片）"] if heading else [])


def _with_annex3(rows: list[list[str]]) -> list:
    out = blocks()
    cut = out.index("附件3")
    return out[:cut] + ["附件3", "2023年度部门（单位）整体支出绩效自评表", rows]


def _partly_filled() -> list[list[str]]:
    """附件3 with its funds row filled and the first 数量指标 row's 实际完成值 and 得分 left empty."""
    rows = [list(r) for r in annex3(_example())]
    row = next(r for r in rows if "数量指标" in r)
    k = row.index("数量指标")
    row[k + 3] = row[k + 5] = ""  # 实际完成值, 得分
    return rows


VARIANTS = {
    "full": lambda: blocks(),
    "no_annex3": lambda: _without_annex3(heading=False),
    "heading_only": lambda: _without_annex3(heading=True),
    "empty_annex3": lambda: _with_annex3(annex3(_example())[:2]),  # its name and header rows, nothing filled
    "partly_filled": lambda: _with_annex3(_partly_filled()),
}


@cache
def report(variant: str):
    path = write_docx(VARIANTS[variant](), scratch("word_missing_annex") / f"{variant}.docx")
    with chinese():
        return check_document(path)


def _codes(variant: str) -> list[str]:
    return [f.code for f in report(variant)[2].findings]


def _on_annex3(finding) -> bool:
    return all(c.sheet == "附件3" for c in finding.cells)


@pytest.mark.parametrize("variant", ["no_annex3", "heading_only"])
def test_a_report_without_its_self_evaluation_table_says_so_once(variant):
    ext, _values, rep = report(variant)
    assert not ext.tables.get(3)
    found = [f for f in rep.findings if f.code == "XT617"]
    assert len(found) == 1, _codes(variant)
    f = found[0]
    assert f.severity.value == "error" and "附件3" in f.message and "自评表" in f.message
    assert f.cells and f.cells[0].sheet == "附件3" and "报告中没有" in f.cells[0].where
    assert ("标题，但其后没有" in f.message) == (variant == "heading_only"), f.message
    # Nothing adds up or scores the absent table, and its cells are not listed as empty one by one.
    assert not set(_codes(variant)) & set(TABLE_RULES), _codes(variant)
    assert not [g for g in rep.findings if g.code == "XT103" and _on_annex3(g)]


def test_the_rest_of_the_report_is_checked_as_before():
    """Every finding of the full report that does not rest on 附件3 is found without it."""
    def outside(variant):
        return sorted((f.code, f.message) for f in report(variant)[2].findings
                      if f.code != "XT617" and not any(c.sheet == "附件3" for c in f.cells))

    kept = outside("no_annex3")
    assert kept == [k for k in outside("full") if k in kept]
    assert {"XT301", "XT401", "XT504", "XT707"} <= {code for code, _m in kept}


def test_what_ran_names_the_missing_table():
    rep = report("no_annex3")[2]
    scoring = next(f for f in rep.coverage.families if f.family == "scoring")
    assert scoring.status != "ran" and any("报告中缺少的表格（附件3）" in r for r in scoring.reasons), scoring
    entries = next(f for f in rep.coverage.families if f.family == "entries")
    assert any("附件3" in r for r in entries.reasons)


@pytest.mark.parametrize("variant", ["full", "empty_annex3", "partly_filled"])
def test_a_table_that_is_there_is_not_missing(variant):
    ext, _values, rep = report(variant)
    assert ext.tables.get(3) == 1
    assert "XT617" not in _codes(variant)
    scoring = next(f for f in rep.coverage.families if f.family == "scoring")
    assert not any("缺少的表格" in r for r in scoring.reasons)


def test_an_empty_table_gets_the_existing_rules():
    codes = _codes("empty_annex3")
    # Its weights are not shared out, its required entries are empty, its rate is undefined.
    assert {"XT602", "XT603", "XT502"} <= set(codes), codes
    assert [f for f in report("empty_annex3")[2].findings if f.code == "XT103" and _on_annex3(f)]


def test_a_partly_filled_table_gets_the_existing_rules():
    rep = report("partly_filled")[2]
    row = [f for f in rep.findings if f.code == "XT608"]
    assert len(row) == 1 and "未填：实际完成值、得分" in row[0].message
    assert not {"XT502", "XT603"} & set(_codes("partly_filled"))  # its funds and weights are there


def test_beside_the_units_workbook_the_table_is_not_missing():
    """附件1 sent as Word with 附件2 and 附件3 in the workbook (check-workbook 报告.docx 工作簿.xlsx):
    the workbook holds the 自评表, so the report is not told it lacks one."""
    from helpers import filled_file

    from xltool.check.checker import check_path
    from xltool.word.check import across

    path = write_docx(VARIANTS["no_annex3"](), scratch("word_missing_annex") / "beside.docx")
    with chinese():
        ext, _values, alone = check_document(path)
        assert "XT617" in [f.code for f in alone.findings]
        result, book = check_path(filled_file())
        checked = [(path, ext, alone), (filled_file(), result, book)]
        across(checked)
    assert "XT617" not in [f.code for f in alone.findings]
    assert "XT401" in [f.code for f in alone.findings]  # the report's own findings stay
