"""The Word report consumes the workbook's form pack: make-report then check-report round trip
for every shipped pack's corrected example (the project pack's report is its 自评表 alone)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from helpers import chinese, scratch, zh_locale  # noqa: F401 - autouse fixture
from test_form_packs import filled
from test_word import run_cli

from xltool.check.checker import check_path
from xltool.form.registry import available
from xltool.word.check import NOT_IN_REPORT, check_document

REPORT_PACKS = ("central-2020", "province-cost", "project")  # every shipped pack besides the default


@cache
def report_of(pack: str) -> Path:
    from xltool.word.writer import make_report

    with chinese():
        return make_report(filled(pack), scratch("word_packs") / f"{pack}_报告.docx")[0]


def test_every_shipped_pack_is_covered():
    shipped = {i for i, e in available().items() if e.shipped}
    assert shipped == {"example", *REPORT_PACKS}


@pytest.mark.parametrize("pack", REPORT_PACKS)
def test_round_trip_for_the_packs_corrected_example(pack):
    result, _book = check_path(filled(pack))
    with chinese():
        ext, _values, report = check_document(report_of(pack), form=pack)
    assert ext.form is not None and ext.form.pack_id == pack
    assert [f"{f.code} {f.message}" for f in report.findings if f.severity.value == "error"] == []
    assert ext.unplaced == [] and report.unplaced == []
    # Every input the workbook holds is read back from the report, on the pack's own fields.
    missing = [f.id for f in result.form.inputs if result.values.get(f.id) not in (None, "")
               and f.id not in ext.values and f.id not in NOT_IN_REPORT]
    assert missing == []
    for fid, got in ext.values.items():
        want = result.values.get(fid)
        if isinstance(want, float):
            assert isinstance(got, float) and abs(got - want) <= 5e-5, (fid, got, want)


def test_the_packs_own_tree_is_written_and_read():
    """central-2020 puts 成本指标 under 产出指标: the report's 附件3 has no 一级 成本指标 and its
    cost indicators are read onto eval_output_cost_*."""
    import docx

    doc = docx.Document(str(report_of("central-2020")))
    annex3 = doc.tables[-1]
    first_column = {c.text for row in annex3.rows for c in row.cells[1:2]}
    assert any(t.startswith("产出指标（50分）") for t in first_column)
    assert not any(t.startswith("成本指标") for t in first_column)
    texts = "".join(c.text for row in annex3.rows for c in row.cells)
    assert "当年财政拨款" in texts and "上年结转资金" in texts and "一般公共预算" not in texts
    with chinese():
        ext, _values, _report = check_document(report_of("central-2020"), form="central-2020")
    assert any(k.startswith("eval_output_cost_1_") for k in ext.values)


def test_a_report_read_against_the_wrong_pack_lists_what_it_cannot_place():
    with chinese():
        ext, _values, report = check_document(report_of("central-2020"))  # the default pack
    assert ext.form is not None and ext.form.pack_id == "example"
    assert report.unplaced  # the central figures the default form has no field for, listed


def test_check_report_form_option_and_beside_the_workbook(tmp_path):
    wrong = run_cli("check-report", str(report_of("central-2020")), "--format", "json")
    right = run_cli("check-report", str(report_of("central-2020")), "--format", "json", "--form", "central-2020")
    assert right.returncode == 0, right.stdout + right.stderr
    assert json.loads(right.stdout)["workbooks"][0]["unplaced"] == []
    assert json.loads(wrong.stdout)["workbooks"][0]["unplaced"] != []
    # Beside its workbook the report is read against the workbook's pack without --form.
    both = run_cli("check-workbook", str(filled("central-2020")), str(report_of("central-2020")), "--format", "json")
    assert both.returncode == 0, both.stdout + both.stderr
    books = json.loads(both.stdout)["workbooks"]
    assert books[1]["unplaced"] == [] and not [f for f in books[1]["findings"] if f["code"] == "XT301"]
    unknown = run_cli("check-report", str(report_of("central-2020")), "--form", "nosuch")
    assert unknown.returncode == 2 and "nosuch" in unknown.stderr and "Traceback" not in unknown.stderr


def test_the_project_report_is_its_table_alone():
    """The project pack has no 收支情况, 项目绩效 or 附件2: its report is the 自评表 with its own
    top rows (项目名称, 主管部门, 实施单位) and 按资金来源 rows, nothing of the 部门整体 report."""
    import docx

    doc = docx.Document(str(report_of("project")))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "项目支出绩效自评表" in text and "一般公共预算支出情况" not in text and "附件2" not in text
    assert len(doc.tables) == 1
    cells = [c.text for row in doc.tables[0].rows for c in row.cells]
    assert {"项目名称", "主管部门", "实施单位", "其中：当年财政拨款", "上年结转资金", "按资金来源合计"} <= set(cells)
    assert "公务用车平台经费" in cells and "166.37" in cells


def test_a_pack_without_the_reports_sheets_is_refused_in_chinese():
    from xltool.form.selfeval import build_form
    from xltool.word.writer import FormUnsupported, refuse_unsupported

    form = build_form(2023, None, "project")
    bare = form.replace(**{"sheets": [s for s in form.sheets if s.key != "eval"]})
    with chinese(), pytest.raises(FormUnsupported) as caught:
        refuse_unsupported(bare)
    assert "未生成报告" in caught.value.message and "附件3" in caught.value.message


def test_audit_reads_a_report_against_the_workbooks_pack(tmp_path):
    import shutil

    import openpyxl

    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    shutil.copy(filled("central-2020"), inbox / "工作簿.xlsx")
    shutil.copy(report_of("central-2020"), inbox / "报告.docx")
    done = run_cli("audit", str(inbox), "--out", str(tmp_path / "out"), "--jobs", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    wb = openpyxl.load_workbook(tmp_path / "out" / "审核汇总.xlsx", read_only=True)
    assert [r for r in wb["异常文件"].iter_rows(min_row=2, values_only=True) if r[0]] == []
    details = [r for r in wb["问题明细"].iter_rows(min_row=2, values_only=True) if r[0]]
    assert not any("报告.docx" in str(r) for r in details)  # the report agrees with its workbook


@pytest.mark.parametrize("pack", REPORT_PACKS)
@pytest.mark.extra  # the ISO XSDs too, when beside the checkout
def test_each_packs_report_validates(pack):
    import ooxml
    from conftest import _unavailable

    missing = ooxml.available()
    if missing:
        _unavailable(missing)
    assert ooxml.validate(report_of(pack)) == []


def test_libreoffice_renders_the_project_report(soffice, tmp_path):
    import re
    import subprocess

    from xltool.office import convert

    pdf = convert(report_of("project"), tmp_path, target="pdf:writer_pdf_Export")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "项目支出绩效自评表" in text and "公务用车平台经费" in text and re.search(r"97\.04%", text)
