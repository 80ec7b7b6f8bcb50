"""Every workbook xltool writes prints on A4 the way a person expects (LibreOffice renders, poppler counts)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import _unavailable
from helpers import COMMITTED_FILLED, scratch

from xltool.check.checker import check_path
from xltool.office import convert

A4 = (595.3, 841.9)


def _pdfinfo(pdf: Path) -> tuple[int, list[tuple[float, float]]]:
    exe = shutil.which("pdfinfo")
    if exe is None:
        _unavailable("poppler (pdfinfo)")
    text = subprocess.run([exe, "-f", "1", "-l", "999", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", text, re.M).group(1))
    sizes = [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", text)]
    return pages, sizes


def _pdf_text(pdf: Path, page: int) -> str:
    return subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout


def _render(path: Path, soffice: str) -> tuple[Path, int, list[tuple[float, float]]]:
    pdf = convert(path, path.parent / "pdf")
    pages, sizes = _pdfinfo(pdf)
    assert len(sizes) == pages
    for w, h in sizes:
        assert sorted((round(w, 1), round(h, 1))) == sorted(A4), f"{path.name}: page {w}×{h} is not A4"
    return pdf, pages, sizes


@pytest.fixture(scope="module")
def example_report():
    return check_path(COMMITTED_FILLED)[1]


def test_issue_list_prints_landscape_wrapped_with_repeated_headers(soffice, example_report):
    from xltool.audit.issuelist import write_issue_list_fast
    from xltool.report.xlsx_list import write_issue_list

    work = scratch("print-list")
    n = len(example_report.findings)
    # A long list: the example's findings four times over.
    long = example_report.replace(**{"findings": example_report.findings * 4})
    for name, write in (("slow", write_issue_list), ("fast", write_issue_list_fast)):
        pdf, pages, sizes = _render(write(example_report, work / f"问题清单_{name}.xlsx"), soffice)
        assert all(w > h for w, h in sizes), "问题清单 prints landscape"
        assert pages <= max(1, -(-n // 8)), f"{n} findings on {pages} pages"
        pdf, pages_long, _ = _render(write(long, work / f"问题清单_long_{name}.xlsx"), soffice)
        assert pages_long > pages
        # The example's findings carry long 差异来源 lists: about seven a page (rows sized for
        # Excel, whose CJK text is wider than LibreOffice's), shorter ones more.
        assert pages_long <= -(-len(long.findings) // 7) + 1, pages_long
        texts = [_pdf_text(pdf, page) for page in range(1, pages_long + 1)]
        for page, text in enumerate(texts, start=1):  # the header row, the unit and the file on every page
            assert "修改建议" in text, f"page {page} lacks the header row"
            assert "株洲市芦淞区机关事务服务中心 2023年度审核结果" in text and "luosong_2023_filled.xlsx" in text, page
        _page_furniture(texts, pages_long)
        # Wrapped, not cut off: the last words of a long 修改建议 are on the page.
        assert "决算报表" in _pdf_text(pdf, 1)


def test_annotated_copy_prints_a_findings_sheet(soffice, example_report):
    from xltool.audit.marking import annotate_fast
    from xltool.report.annotate import annotate

    work = scratch("print-annotated")
    for name, write in (("slow", annotate), ("fast", annotate_fast)):  # check-workbook and audit write these
        pdf, pages, _ = _render(write(COMMITTED_FILLED, example_report, work / f"标注_{name}.xlsx"), soffice)
        text = "".join(_pdf_text(pdf, p) for p in range(1, pages + 1))
        for f in example_report.findings:
            assert f.code in text and f.difference_text in text
        last = _pdf_text(pdf, pages)
        assert "修改建议" in last, "the 问题 sheet prints last, its header on every page"
        assert re.search(r"第\s*\d+\s*页，共\s*\d+\s*页", last), "the 问题 sheet's pages are numbered"
        # The forms (8 pages, the 审核 sheet only its counts) plus a page or two of findings.
        assert 9 <= pages <= 11, f"{name}: {pages} pages"


def test_template_prints_its_forms_not_the_audit_formulas(soffice):
    work = scratch("print-template")
    path = work / "filled.xlsx"
    shutil.copy(COMMITTED_FILLED, path)
    pdf, pages, _ = _render(path, soffice)
    assert pages <= 9, f"the filled workbook prints {pages} pages"
    texts = [_pdf_text(pdf, p) for p in range(1, pages + 1)]
    assert not any("允许尾差" in t for t in texts), "the 审核 sheet's formula columns are printed"
    first = next(i for i, t in enumerate(texts) if "整体支出绩效自评表" in t)
    assert "总分" not in texts[first] and "总分" in texts[first + 1], "附件3 takes two pages"
    assert "一级指标" in texts[first] and "一级指标" in texts[first + 1], "附件3 repeats its header on every page"
    assert not any(re.search(r"（万元\s*\n\s*）", t) for t in texts)


def _page_furniture(texts: list[str], pages: int) -> None:
    """Every page numbered "第 n 页，共 N 页" and holding more than its header and footer."""
    for n, text in enumerate(texts, start=1):
        assert re.search(rf"第\s*{n}\s*页，共\s*{pages}\s*页", text), f"page {n} has no page number"
        body = re.sub(r"第\s*\d+\s*页，共\s*\d+\s*页", "", text)
        assert len(body.split()) > 3, f"page {n} holds almost nothing: {body!r}"


def test_audit_summary_prints_titled_numbered_pages_not_the_dataset(soffice):
    from batch_inbox import audited_inbox

    from xltool.i18n import _

    audited = audited_inbox()
    pdf, pages, sizes = _render(audited.summary, soffice)
    assert all(w > h for w, h in sizes), "landscape"
    texts = [_pdf_text(pdf, p) for p in range(1, pages + 1)]
    _page_furniture(texts, pages)
    for n, text in enumerate(texts, start=1):  # the title, the year and the audit date on every page
        assert "2023年度绩效自评审核汇总" in text and re.search(r"审核日期：\d{4}-\d\d-\d\d", text), n
    # 汇总 one page wide (its last column on the first page), 全部数据 never printed (it would print
    # a page of field ids, or its thousand columns).
    assert "总分" in texts[0] and "备注" in texts[0]
    assert not any("全部数据" in t or "unit_code" in t for t in texts)
    sheets = ["汇总", "问题明细", "未提交", "异常文件", "变化", "图表"]
    for sheet in sheets:
        assert any(f"· {sheet}" in t for t in texts), f"no page of {sheet}"
    # Long texts are wrapped, not cut off: the end of the longest reason in 异常文件 is printed.
    flat = [re.sub(r"\s", "", t) for t in texts]
    assert any("重新报送" in t and "不是工作簿" in t for t in flat)
    anomalies = next(t for t in flat if "·异常文件" in t)
    for fragment in ("文件报表.rar是压缩包", "重新压缩为.zip", "后再审核", "来信.eml是保存下来的邮件"):
        assert fragment in anomalies, fragment
    titles = [_("Distribution of execution rates (执行率)"), _("Distribution of total scores (总分)"), _("Findings by rule")]
    where = [[i for i, t in enumerate(flat) if re.sub(r"\s", "", title) in t] for title in titles]
    assert all(len(w) == 1 for w in where), f"each chart on exactly one page: {where}"
    assert len({w[0] for w in where}) == 3, "one chart per page"
    # The rules chart names each rule by its title, not by its bare code.
    from xltool.check.catalogue import RULES

    rules_page = flat[where[2][0]]
    assert re.sub(r"\s", "", RULES["XT301"].title()) in rules_page
    assert pages <= 10, f"审核汇总 prints {pages} pages"


def test_template_labels_break_where_a_reader_expects():
    import openpyxl

    from xltool.form.selfeval import build_form
    from xltool.linebreak import CLOSING, OPENING

    form = build_form(2023)
    wb = openpyxl.load_workbook(COMMITTED_FILLED)
    broken = 0
    for sheet in form.sheets:
        ws = wb[sheet.title]
        for text in sheet.texts:
            value = ws[text.cell].value
            if not isinstance(value, str) or "\n" not in value:
                continue
            broken += 1
            assert re.sub(r"\s", "", value) == re.sub(r"\s", "", text.text)  # only line breaks added
            for line in value.split("\n"):
                assert line and line[0] not in CLOSING and line[-1] not in OPENING, (sheet.title, text.cell, value)
            assert ws[text.cell].alignment.wrap_text
    assert broken >= 2
    # 附件3's narrow column: （万元） never split before its bracket, nor 填表人 before its colon.
    fujian3 = wb["附件3"]
    assert "（万元）" in fujian3["A4"].value.replace("\n", "") and "\n）" not in fujian3["A4"].value
    footer = next(t for t in form.sheet("eval").texts if t.text == "填表人：")
    label = fujian3[footer.cell]
    assert label.alignment.shrink_to_fit or ("\n" in label.value and "\n：" not in label.value)
    # 项目绩效's header row is tall enough for 年中调整（调减填负数） on two lines.
    proj = form.sheet("proj")
    head = next(t for t in proj.texts if t.text.startswith("年中调整"))
    row = int(re.sub(r"\D", "", head.cell))
    assert (wb[proj.title].row_dimensions[row].height or 15) >= 2 * 13.5


@pytest.mark.extra  # the ISO XSDs too, when beside the checkout
def test_outputs_with_print_settings_are_schema_valid(tmp_path, example_report):
    """Page setups, print titles, the annotated copy's 问题 sheet written as XML: Excel opens them unrepaired."""
    import ooxml

    from xltool.audit.issuelist import write_issue_list_fast
    from xltool.audit.marking import annotate_fast
    from xltool.report.annotate import annotate
    from xltool.report.xlsx_list import write_issue_list

    missing = ooxml.available()
    if missing:
        _unavailable(missing)
    outputs = [write_issue_list(example_report, tmp_path / "slow.xlsx"),
               write_issue_list_fast(example_report, tmp_path / "fast.xlsx"),
               annotate(COMMITTED_FILLED, example_report, tmp_path / "annotated.xlsx"),
               annotate_fast(COMMITTED_FILLED, example_report, tmp_path / "annotated_fast.xlsx"),
               COMMITTED_FILLED]
    for path in outputs:
        problems = ooxml.validate(path)
        assert not problems, (path.name, [str(p) for p in problems[:3]])
    import openpyxl

    fast = openpyxl.load_workbook(tmp_path / "annotated_fast.xlsx")
    slow = openpyxl.load_workbook(tmp_path / "annotated.xlsx")
    assert fast.sheetnames == slow.sheetnames and fast.sheetnames[-1] == "问题"
    assert fast["问题"].print_title_rows == slow["问题"].print_title_rows == "$1:$1"
    assert fast["问题"].page_setup.paperSize in ("9", 9) and fast["问题"].page_setup.orientation == "landscape"
