"""The Word report: make-report writes it from a workbook, check-report checks one as it is."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from functools import cache
from pathlib import Path

import pytest
from helpers import chinese, corrected_file, example_report, filled_file, scratch, zh_locale  # noqa: F401 - autouse fixture
from unit_report import LEFT, UP, annex2_row, blocks, unit_report, write_docx

from xltool.word.check import NOT_IN_REPORT, check_document

ROOT = Path(__file__).resolve().parents[1]
# A place in a report, as the findings cite it.
PLACE = re.compile(r"^(第[一二三四五六七八九]部分第\d+段|第[一二三四五六七八九]部分标题|附件[23] 表格 第\d+行第\d+列|封面第\d+段|附件[23] 表外第\d+段)$")


@cache
def unit_path() -> Path:
    """The example report as a unit wrote it in Word (tests/unit_report.py)."""
    return unit_report(scratch("word") / "unit_report.docx")


@cache
def generated_path() -> Path:
    from xltool.word.writer import make_report

    with chinese():
        return make_report(corrected_file(), scratch("word") / "报告.docx")[0]


@cache
def checked(path: Path):
    with chinese():
        return check_document(path)


def _errors(report) -> set[tuple[str, str]]:
    return {(f.code, f.instance) for f in report.findings if f.severity.value == "error"}


def _warnings(report) -> set[tuple[str, str]]:
    return {(f.code, f.instance) for f in report.findings if f.severity.value == "warning"}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xltool", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**__import__("os").environ, "XLTOOL_LANG": "zh_CN", "PYTHONPATH": str(ROOT)},
                          timeout=120)


# -- the example report, as a unit wrote it ------------------------------------------------------

def test_the_units_report_is_shaped_like_one():
    """Narrative sections, 附件2 and 附件3 as tables with vertical and horizontal merges, full-width digits."""
    from xltool.word.document import Para, Table, read_document

    doc = read_document(unit_path())
    tables = [b for b in doc.blocks if isinstance(b, Table)]
    paras = [b.text for b in doc.blocks if isinstance(b, Para)]
    assert len(tables) == 2 and {"附件2", "附件3", "二、一般公共预算支出情况", "六、资金使用及绩效情况（包含单位管理的公共专项）"} <= set(paras)
    annex3 = tables[1]
    assert any(c.continued for row in annex3.rows for c in row), "vertically merged cells"
    assert len(annex3.rows[0]) == 2 and annex3.rows[0][1].col == 2, "a value spanning the row"
    assert any(ch in "".join(paras) + "".join(c.text for row in annex3.rows for c in row) for ch in "０１２３４５６７８９")
    assert any("万元" in p and "," in p for p in paras)


def test_the_units_report_gives_the_workbooks_findings():
    _ext, _values, report = checked(unit_path())
    workbook = example_report()[1]
    assert len(_errors(workbook)) == 5 and len(_warnings(workbook)) == 8
    assert _errors(report) == _errors(workbook)
    assert _warnings(report) == _warnings(workbook)


def test_each_finding_cites_where_the_report_states_it():
    ext, _values, report = checked(unit_path())
    for finding in report.findings:
        stated = [c for c in finding.cells if c.field_id in ext.where]
        assert stated, finding
        for cell in stated:
            assert cell.where == ext.where[cell.field_id]
            assert PLACE.match(cell.where), cell.where
    by_key = {f"{f.code}:{f.instance}": f for f in report.findings}
    # 实际单位年度总支出 2,450.21 is in 第六部分 (附件3's 全年执行数 says the same, in its 年度资金总额 row);
    # 财政拨款支出 2,450.02 is computed from the 4th paragraph of 第二部分.
    places = {c.field_id: c.where for c in by_key["XT301:spending_total:fin_exp_all"].cells}
    assert places["proj_spending"].startswith("第六部分")
    assert places["fin_staff_cost"] == "第二部分第4段"
    assert {c.where for c in by_key["XT501:proj_exec_rate"].cells if c.field_id == "eval_exec"} == {"附件3 表格 第3行第5列"}
    assert {c.where for c in by_key["XT501:proj_exec_rate"].cells if c.field_id == "proj_exec_rate"} == {"第六部分第2段"}
    assert {c.where for c in by_key["XT401:1"].cells if c.field_id == "proj_1_balance"} == {"第六部分第11段"}


def test_the_units_report_figures_are_the_examples_figures():
    """Every input the example yaml states and a report can hold is read with the same value."""
    from helpers import example_values

    ext, _values, _report = checked(unit_path())
    # Not in the report's text: the indicators' directions (附件3 has no such column; the yaml says so)
    # and the unit's e-mail address.
    not_stated_in_text = {k for k in example_values() if k.endswith("_dir")} | NOT_IN_REPORT
    for fid, value in example_values().items():
        if fid in not_stated_in_text:
            continue
        got = ext.values.get(fid)
        if isinstance(value, (int, float)):
            assert got is not None and abs(float(got) - float(value)) < 1e-9, (fid, got, value)
        else:
            assert str(got).replace("（", "(").replace("）", ")") == str(value).replace("（", "(").replace("）", ")"), fid
    assert ext.unplaced == []


def test_check_report_cli_exit_codes_and_json(tmp_path):
    done = run_cli("check-report", str(unit_path()), "--format", "json", "--xlsx", str(tmp_path / "问题清单.xlsx"))
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    report = data["workbooks"][0]
    assert {(f["code"], f["instance"]) for f in report["findings"] if f["severity"] == "error"} == _errors(example_report()[1])
    assert all(any(c["where"] for c in f["cells"]) for f in report["findings"])
    assert (tmp_path / "问题清单.xlsx").is_file()
    table = run_cli("check-report", str(generated_path()))
    assert table.returncode == 0, table.stdout + table.stderr
    assert "Traceback" not in table.stderr


# -- make-report and the round trip -------------------------------------------------------

def test_round_trip_no_must_fix_and_every_figure_placed():
    from helpers import corrected_report

    ext, _values, report = checked(generated_path())
    assert _errors(report) == set()
    assert ext.unplaced == [] and report.unplaced == []
    assert {(f.code, f.instance) for f in report.findings} == {(f.code, f.instance) for f in corrected_report()[1].findings}


def test_round_trip_reads_back_every_input_the_report_holds():
    from xltool.check.checker import check_path

    result, _report = check_path(corrected_file())
    ext, _values, _r = checked(generated_path())
    for f in result.form.fields:
        want = result.values.get(f.id)
        if f.id in NOT_IN_REPORT or want in (None, "") or f.role.value == "config":
            continue
        if f.is_input:
            got = ext.values.get(f.id)
        elif f.id in ext.stated:
            got = ext.stated[f.id]
        else:
            continue
        if isinstance(want, float):
            tol = 5e-5 if f.kind.value == "rate" else 1e-9
            assert isinstance(got, float) and abs(got - want) <= tol, (f.id, got, want)
        else:
            assert got == want, (f.id, got, want)
    # the report states every input of the workbook except the unit's e-mail address
    missing = [f.id for f in result.form.inputs if result.values.get(f.id) not in (None, "")
               and f.id not in ext.values and f.id not in NOT_IN_REPORT]
    assert missing == []


def test_generated_report_structure():
    import docx

    doc = docx.Document(str(generated_path()))
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert [h[:2] for h in headings] == [f"{n}、" for n in "一二三四五六七八九"]
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "本单位2023年年初预算资金总计2,701.57万元，实际单位年度总支出2,450.21万元，预算执行率为97.58%" in text
    assert "【请单位填写：" in text
    assert "\n一是机关运转（含会议专项），年初预算资金2,050.00万元，年中执行调减629.03万元，实际支出1,360.98万元，结余结转59.99万元。" in text
    assert "\n四是党建专项，实际支出0.00万元，结余结转0.79万元。" in text
    assert len(doc.tables) == 2
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert (round(doc.sections[-1].page_width.mm), round(doc.sections[-1].page_height.mm)) == (297, 210)
    body = zipfile.ZipFile(generated_path()).read("word/document.xml").decode()
    assert 'w:type="page"' in body and "w:gridSpan" in body and "w:vMerge" in body
    assert text.count("填表人：") == 2


def test_make_report_refuses_must_fix_unless_forced(tmp_path):
    out = tmp_path / "报告.docx"
    done = run_cli("make-report", str(filled_file()), "-o", str(out))
    assert done.returncode == 1 and not out.exists()
    assert "必须修改" in done.stderr and "--force" in done.stderr
    done = run_cli("make-report", str(filled_file()), "-o", str(out), "--force")
    assert done.returncode == 0, done.stderr
    import docx

    first = docx.Document(str(out)).paragraphs[0].text
    assert "5 项“必须修改”" in first
    assert not list(tmp_path.glob(".*.tmp"))


def test_make_report_bad_input_exit_2(tmp_path):
    bad = tmp_path / "坏.xlsx"
    bad.write_bytes(b"not a workbook")
    done = run_cli("make-report", str(bad), "-o", str(tmp_path / "r.docx"))
    assert done.returncode == 2 and "Traceback" not in done.stderr and re.search(r"[\u4e00-\u9fff]", done.stderr)
    done = run_cli("make-report", str(corrected_file()), "-o", str(corrected_file()))
    assert done.returncode == 2


def test_bureau_template_changes_wording(tmp_path):
    import docx

    tpl = docx.Document()
    tpl.add_paragraph("{{ unit }}{{ year }}年度绩效自评（本局格式）")
    tpl.add_paragraph("财政拨款支出{{ fin_exp }}万元；预算执行率{{ proj_exec_rate }}。")
    tpl.add_paragraph("{{ annex3 }}")
    tpl.save(tmp_path / "模板.docx")
    out = tmp_path / "out.docx"
    done = run_cli("make-report", str(corrected_file()), "-o", str(out), "--template", str(tmp_path / "模板.docx"))
    assert done.returncode == 0, done.stderr
    doc = docx.Document(str(out))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "株洲市芦淞区机关事务服务中心2023年度绩效自评（本局格式）" in text
    assert "财政拨款支出2,450.21万元；预算执行率97.58%。" in text
    assert len(doc.tables) == 1 and "年度资金总额" in doc.tables[0]._tbl.xml
    broken = tmp_path / "坏模板.docx"
    tpl = docx.Document()
    tpl.add_paragraph("{% if %}")
    tpl.save(broken)
    done = run_cli("make-report", str(corrected_file()), "-o", str(tmp_path / "x.docx"), "--template", str(broken))
    assert done.returncode == 2 and "Traceback" not in done.stderr and not (tmp_path / "x.docx").exists()


# -- schema and LibreOffice ------------------------------------------------------------------

@pytest.mark.extra  # the ISO XSDs too, when beside the checkout
def test_generated_report_validates():
    import ooxml
    from conftest import _unavailable

    missing = ooxml.available()
    if missing:
        _unavailable(missing)
    assert ooxml.validate(generated_path()) == []


def test_validation_catches_an_invalid_document(tmp_path):
    """The validation can fail: an element out of place is reported in the document part."""
    import ooxml

    src = generated_path()
    bad = tmp_path / "bad.docx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "word/document.xml":
                data = data.replace(b"<w:body>", b"<w:body><w:tblGrid/>", 1)
            zout.writestr(item, data)
    assert [p for p in ooxml.validate(bad) if p.part == "/word/document.xml"]


def test_libreoffice_renders_the_report(soffice, tmp_path):
    from xltool.office import convert

    pdf = convert(generated_path(), tmp_path, target="pdf:writer_pdf_Export")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert pages >= 3
    last = subprocess.run(["pdftotext", "-f", str(pages), "-l", str(pages), str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "整体支出绩效自评表" in last and "2,450.21" in last and "97.58%" in last
    subprocess.run(["pdftoppm", "-f", str(pages), "-l", str(pages), "-r", "40", "-png", "-singlefile", str(pdf),
                    str(tmp_path / "p")], check=True)
    assert (tmp_path / "p.png").stat().st_size > 5000
    assert (ROOT / "docs" / "img" / "word_fujian3.png").is_file()


# -- loose matching, unplaced figures ----------------------------------------------------------

def _variant(tmp_path: Path, edit) -> Path:
    """The unit's report with its blocks edited (paragraph texts, table rows)."""
    return write_docx(edit(blocks()), tmp_path / "variant.docx")


def test_loose_labels_fullwidth_digits_and_units(tmp_path):
    def edit(blocks):
        out = []
        for b in blocks:
            if isinstance(b, str):
                b = {"附件2": "附件一", "附件3": "附件二"}.get(b, b)
                b = b.replace("2,701.57万元；", "２，７０１．５７万元；")
                if b == "三、政府性基金预算支出情况":
                    b = "三、政府性基金预算支出情况：１２．００万元。"
                if b.startswith("3.2023年度一般公共预算财政拨款支出"):
                    out.append(b)
                    out.append("另有其他支出12.50万元。")
                    continue
            else:
                b = [[c.replace("3、市级专项资金（一个专项一行）", "3、省级专项资金").replace("……", "党建专项")
                      .replace("1791.43", "1791.43万元") for c in row] for row in b]
                for k, row in enumerate(b):
                    if row and row[0] == "党建专项":
                        b[k] = annex2_row("党建专项", "", "0.5", "0.5")
            out.append(b)
        return out

    with chinese():
        ext, _values, report = check_document(_variant(tmp_path, edit))
    assert ext.values["fin_budget"] == 2701.57
    assert ext.values["fin_gov_fund"] == 12.0 and ext.where["fin_gov_fund"] == "第三部分标题"
    assert ext.values["base_ops_prev"] == 1791.43
    assert ext.values["base_zx_1_name"] == "党建专项" and ext.values["base_zx_1_final"] == 0.5
    assert ext.where["base_zx_1_final"].startswith("附件2 表格")
    # the extra figure has no field: it is listed, not dropped
    assert [(u.where, u.text) for u in ext.unplaced] == [("第二部分第5段", "另有其他支出12.50万元")]
    assert report.unplaced == ["第二部分第5段：另有其他支出12.50万元"]


def test_merged_cells_are_read_once(tmp_path):
    import docx

    from xltool.word.document import read_document

    doc = docx.Document()
    table = doc.add_table(rows=3, cols=3)
    table.cell(0, 0).merge(table.cell(1, 0)).text = "A"
    table.cell(0, 1).merge(table.cell(0, 2)).text = "B"
    table.cell(2, 2).text = "C"
    doc.save(tmp_path / "m.docx")
    rows = read_document(tmp_path / "m.docx").blocks[0].rows
    assert [(c.text, c.col, c.continued) for c in rows[0]] == [("A", 1, False), ("B", 2, False)]
    assert [(c.text, c.continued) for c in rows[1]] == [("A", True), ("", False), ("", False)]


# -- hostile files ---------------------------------------------------------------------------

def _zip(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("kind", ["missing", "folder", "empty", "doc", "text", "bomb", "doctype", "xlsx", "truncated"])
def test_hostile_reports_are_refused_with_a_chinese_sentence(tmp_path, kind):
    from xltool.word.document import UnreadableReport, read_document

    path = tmp_path / "报告.docx"
    if kind == "folder":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "doc":
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1024)
    elif kind == "text":
        path.write_text("二、一般公共预算支出情况", encoding="utf-8")
    elif kind == "bomb":
        _zip(path, {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<a>" + b" " * (120 * 1024 * 1024) + b"</a>"})
    elif kind == "doctype":
        xml = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
               b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
               b"<w:p><w:r><w:t>&b;</w:t></w:r></w:p></w:body></w:document>")
        _zip(path, {"[Content_Types].xml": b"<Types/>", "word/document.xml": xml})
    elif kind == "xlsx":
        path.write_bytes(filled_file().read_bytes())
    elif kind == "truncated":
        path.write_bytes(generated_path().read_bytes()[:3000])
    with pytest.raises(UnreadableReport) as info:
        read_document(path)
    assert re.search(r"[\u4e00-\u9fff]", info.value.message), info.value.message
    assert "报告.docx" in info.value.message
    if kind == "bomb":
        assert info.value.reason == "zip_bomb"
    done = run_cli("check-report", str(path))
    assert done.returncode == 2 and "Traceback" not in done.stderr


# -- beside workbooks: check-workbook and audit -------------------------------------------------

def test_check_workbook_runs_across_a_units_report_and_workbook():
    done = run_cli("check-workbook", str(generated_path()), str(filled_file()), "--format", "json")
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    report = next(w for w in data["workbooks"] if w["path"].endswith(".docx"))
    across = {f["instance"]: f for f in report["findings"] if f["instance"].startswith("docx-xlsx:")}
    # the corrected report against the uncorrected workbook: every corrected figure disagrees
    assert {"docx-xlsx:eval_exec_score", "docx-xlsx:proj_exec_rate", "docx-xlsx:fin_proj_1_amount"} <= set(across)
    cited = [c["where"] for c in across["docx-xlsx:eval_exec_score"]["cells"]]
    assert cited[0] == "附件3 表格 第3行第8列" and cited[1].endswith("附件3!H5")
    alone = run_cli("check-workbook", str(generated_path()), "--format", "json")
    assert alone.returncode == 0 and not [f for w in json.loads(alone.stdout)["workbooks"] for f in w["findings"]
                                         if f["instance"].startswith("docx-xlsx:")]


def test_audit_checks_a_report_beside_the_workbook(tmp_path):
    import shutil

    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    shutil.copy(filled_file(), inbox / "工作簿.xlsx")
    shutil.copy(generated_path(), inbox / "报告.docx")
    done = run_cli("audit", str(inbox), "--out", str(tmp_path / "out"), "--jobs", "1")
    assert done.returncode in (0, 1), done.stderr
    import openpyxl

    wb = openpyxl.load_workbook(tmp_path / "out" / "审核汇总.xlsx", read_only=True)
    units = [r for r in wb["汇总"].iter_rows(min_row=2, values_only=True) if isinstance(r[0], int)]
    assert len(units) == 1 and units[0][4] == "工作簿.xlsx"
    anomalies = [r for r in wb["异常文件"].iter_rows(min_row=2, values_only=True) if r[0]]
    assert anomalies == []
    details = [r for r in wb["问题明细"].iter_rows(min_row=2, values_only=True) if r[0]]
    assert any("报告.docx 附件3 表格" in (r[5] or "") for r in details)


def test_a_mistyped_total_in_the_text_is_checked_against_its_parts(tmp_path):
    def edit(blocks):
        return [b.replace("其中：项目支出2,069.83万元", "其中：项目支出2,096.83万元") if isinstance(b, str) else b
                for b in blocks]

    with chinese():
        ext, _values, report = check_document(_variant(tmp_path, edit))
    assert ext.stated["fin_proj"] == 2096.83
    found = [f for f in report.findings if f.instance == "stated:fin_proj"]
    assert len(found) == 1 and found[0].code == "XT201" and found[0].severity.value == "error"
    assert found[0].cells[0].where == "第二部分第4段"
    assert found[0].expected == 2069.83 and "2,096.83" in found[0].message


@pytest.mark.parametrize(("typed", "code", "severity"), [("2,069.84", "XT202", "warning"), ("2,069.93", "XT201", "error")])
def test_a_total_in_the_text_a_cent_off_its_parts_is_a_rounding_difference(tmp_path, typed, code, severity):
    """Seven rounded project amounts may miss their rounded total by up to 8 × 0.005 (XBRL Calculations 1.1,
    as on the workbook path): one cent off is XT202 (需要说明), ten cents off stays XT201 (必须修改)."""
    def edit(blocks):
        return [b.replace("其中：项目支出2,069.83万元", f"其中：项目支出{typed}万元") if isinstance(b, str) else b
                for b in blocks]

    with chinese():
        _ext, _values, report = check_document(_variant(tmp_path, edit))
    found = [f for f in report.findings if f.instance == "stated:fin_proj"]
    assert [(f.code, f.severity.value) for f in found] == [(code, severity)]
    assert found[0].expected == 2069.83 and typed in found[0].message


def test_a_hostile_template_is_refused(tmp_path):
    bomb = _zip(tmp_path / "模板.docx", {"word/document.xml": b"<a>" + b" " * (120 * 1024 * 1024) + b"</a>"})
    done = run_cli("make-report", str(corrected_file()), "-o", str(tmp_path / "r.docx"), "--template", str(bomb))
    assert done.returncode == 2 and "Traceback" not in done.stderr and "模板.docx" in done.stderr
    assert not (tmp_path / "r.docx").exists()


def test_pages_are_numbered_and_long_paragraphs_are_not_searched(tmp_path):
    body = zipfile.ZipFile(generated_path()).read("word/footer1.xml").decode()
    assert 'w:instr="PAGE"' in body

    def edit(blocks):
        out = []
        for b in blocks:
            out.append(b)
            if b == "三、政府性基金预算支出情况":
                out.append("1." + "9" * 30000 + "万元")
        return out

    with chinese():
        ext, _values, report = check_document(_variant(tmp_path, edit))
    assert any("过长" in u.text for u in ext.unplaced)


def test_report_saved_again_by_libreoffice_reads_the_same(soffice, tmp_path):
    """A unit opens the generated report in an office suite and saves it: nothing changes."""
    import shutil

    from xltool.office import convert

    src = tmp_path / "in" / "报告.docx"
    src.parent.mkdir()
    shutil.copy(generated_path(), src)
    resaved = convert(src, tmp_path / "out", target="docx:MS Word 2007 XML")
    assert resaved.read_bytes() != generated_path().read_bytes()
    with chinese():
        ext, _values, report = check_document(resaved)
    original, _v, original_report = checked(generated_path())
    assert ext.values == original.values and ext.stated == original.stated
    assert ext.unplaced == []
    assert [(f.code, f.instance) for f in report.findings] == [(f.code, f.instance) for f in original_report.findings]


def test_make_report_on_the_blank_template_marks_every_missing_figure(tmp_path):
    from helpers import COMMITTED_TEMPLATE

    out = tmp_path / "空白.docx"
    done = run_cli("make-report", str(COMMITTED_TEMPLATE), "-o", str(out), "--force")
    assert done.returncode == 0, done.stderr
    import docx

    text = "\n".join(p.text for p in docx.Document(str(out)).paragraphs)
    assert "预算资金【未填】万元" in text and "共有人员【未填】人" in text and "预算执行率为【未填】" in text
    checked_blank = run_cli("check-report", str(out), "--format", "json")
    assert checked_blank.returncode == 1 and "Traceback" not in checked_blank.stderr
    codes = {f["code"] for f in json.loads(checked_blank.stdout)["workbooks"][0]["findings"]}
    assert "XT103" in codes


def test_indicator_table_with_direction_and_unit_columns(tmp_path):
    """A 附件3 copied from the template's layout (指标方向, 计量单位 columns) is read by its header."""
    def edit(blocks):
        out = []
        for b in blocks:
            if isinstance(b, list) and any("一级指标" in c for row in b for c in row):
                rows = []
                for row in b:
                    if "二级指标" in row:
                        k = row.index("二级指标")
                        row = row[:k + 2] + ["指标方向"] + row[k + 2:k + 4] + ["计量单位"] + row[k + 4:]
                    else:
                        from xltool.form.selfeval import build_form
                        from xltool.word.extract import _l2

                        k = next((i for i, c in enumerate(row) if _l2(build_form(2023), None, c)), None)
                        if k is not None and len(row) > k + 3:
                            name, target, actual, rest = row[k + 1], row[k + 2], row[k + 3], row[k + 4:]
                            direction, unit = {"服务对象满意度指标": ("≥", "%"), "经济成本指标": ("≤", "万元")}.get(
                                row[k], ("", ""))
                            if unit:
                                target, actual = target.rstrip("%"), actual.rstrip("%")
                            row = row[:k + 1] + [name, direction, target, actual, unit] + rest
                    rows.append(row)
                b = rows
            out.append(b)
        return out

    with chinese():
        ext, _values, report = check_document(_variant(tmp_path, edit))
    assert ext.values["eval_cost_costecon_1_unit"] == "万元" and ext.values["eval_cost_costecon_1_dir"] == "≤"
    assert ext.values["eval_satisfaction_service_1_actual"] == 85.0
    assert ext.values["eval_cost_costecon_1_score"] == 15.0 and ext.values["eval_cost_costecon_1_reason"] == "科学合理的编制预算"
    assert _errors(report) == _errors(example_report()[1])
