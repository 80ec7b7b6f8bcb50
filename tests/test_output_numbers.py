"""Numbers stay numbers in every xlsx output: 问题清单 (both writers), the annotated copy's 问题
sheet (both writers), the web page's downloads, and every sheet of 审核汇总. A figure is a
number cell with a number format (sortable, summable, e.g. −0.19 shown as -0.19), never the
text '-0.19; a leading apostrophe is only ever text's defence against becoming a formula."""

from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl
import pytest
from batch_inbox import audited_inbox
from helpers import COMMITTED_FILLED, scratch

from xltool.check.checker import check_path
from xltool.check.finding import CellRef, Finding, Severity

# A number kept as text: what a spreadsheet shows with an apostrophe, or a bare negative figure.
NUMBER_AS_TEXT = re.compile(r"^'?[-+−]?[\d,]*\.?\d+%?$")
TEXT_FORMATS = ("@", "General")


@pytest.fixture(scope="module")
def report():
    _result, report = check_path(COMMITTED_FILLED)
    # The example's own findings (−0.19, −6.88 %, −59.99 ...), a text that starts with "-", and a
    # figure of every kind, so that each number format is written.
    extra = [Finding(code="XT999", severity=Severity.WARNING, message="-1 是文字", fix="=1+1", difference=value,
                     kind=kind, instance=kind, cells=[CellRef(sheet="附件2", cell="B4", label="@x", value="-0.5")])
             for kind, value in (("integer", -3.0), ("year", 2023.0), ("number", -0.125), ("rate", -0.0688))]
    report.findings = report.findings + extra
    assert any(f.difference is not None and f.difference < 0 for f in report.findings)
    return report


def _kinds() -> set[str]:
    from xltool.report.xlsx_list import NUMBER_FORMATS

    return set(NUMBER_FORMATS)


def _assert_numbers(ws, header_row: int, numeric: dict[str, str | None], where: str) -> int:
    """Every non-empty cell under the headers in *numeric* is a number with a number format
    (the given one, or any but General/text); no cell anywhere holds a number as text.
    Returns how many numbers were checked."""
    head = {c.value: c.column for c in ws[header_row] if c.value is not None}
    missing = set(numeric) - set(head)
    assert not missing, f"{where}: no column {missing}"
    checked = 0
    for row in ws.iter_rows(min_row=header_row + 1):
        for cell in row:
            value = cell.value
            if isinstance(value, str):
                assert not NUMBER_AS_TEXT.match(value) or not value.startswith(("'", "-", "−")), \
                    f"{where}!{cell.coordinate}: a number as text {value!r}"
        for name, fmt in numeric.items():
            cell = row[head[name] - 1]
            if cell.value is None or (isinstance(cell.value, str) and row[0].value is None):
                continue  # an empty cell, or a line below the table (the summary sentence)
            assert isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool), \
                f"{where}!{cell.coordinate} ({name}): {cell.value!r} is not a number"
            assert cell.data_type == "n", f"{where}!{cell.coordinate}"
            if fmt is None:
                assert cell.number_format not in TEXT_FORMATS, f"{where}!{cell.coordinate}: {cell.number_format}"
            else:
                assert cell.number_format == fmt, f"{where}!{cell.coordinate}: {cell.number_format} ≠ {fmt}"
            checked += 1
    return checked


def _findings_table(ws, header_row: int, report, where: str) -> None:
    from xltool.report.xlsx_list import number_format

    assert _assert_numbers(ws, header_row, {"序号": "0"}, where) == len(report.findings)
    head = [c.value for c in ws[header_row]]
    column = head.index("差额") + 1
    shown = 0
    for r, finding in enumerate(report.findings, start=header_row + 1):
        cell = ws.cell(row=r, column=column)
        if finding.difference is None:
            assert cell.value is None
            continue
        assert cell.value == pytest.approx(finding.difference) and cell.data_type == "n", (where, r, cell.value)
        assert cell.number_format == number_format(finding.kind), (where, finding.kind, cell.number_format)
        shown += 1
    assert shown >= 10 and {number_format(k) for k in _kinds()} <= {ws.cell(row=r, column=column).number_format
                                                                     for r in range(header_row + 1, ws.max_row + 1)}
    # Text from the workbook that starts like a formula keeps its apostrophe and stays text.
    texts = [c.value for row in ws.iter_rows(min_row=header_row + 1) for c in row if isinstance(c.value, str)]
    assert "'=1+1" in texts and not any(t.startswith("=") for t in texts)


def test_issue_lists_hold_numbers(report):
    from xltool.audit.issuelist import write_issue_list_fast
    from xltool.report.xlsx_list import write_issue_list

    folder = scratch("numbers-lists")
    for name, write in (("openpyxl", write_issue_list), ("fast", write_issue_list_fast)):
        ws = openpyxl.load_workbook(write(report, folder / f"{name}.xlsx")).active
        _findings_table(ws, 5, report, f"问题清单 ({name})")


def test_annotated_copies_hold_numbers(report):
    from xltool.audit.marking import annotate_fast
    from xltool.report.annotate import annotate

    folder = scratch("numbers-annotated")
    for name, write in (("openpyxl", annotate), ("fast", annotate_fast)):
        wb = openpyxl.load_workbook(write(COMMITTED_FILLED, report, folder / f"{name}.xlsx"))
        _findings_table(wb["问题"], 1, report, f"标注副本 ({name})")


def test_web_downloads_hold_numbers():
    from xltool.web.selfcheck import annotated_bytes, check_bytes, issue_list_bytes

    checked = check_bytes("芦淞区.xlsx", COMMITTED_FILLED.read_bytes())
    assert checked.report is not None
    ws = openpyxl.load_workbook(io.BytesIO(issue_list_bytes(checked))).active
    negative = [c for row in ws.iter_rows(min_row=6) for c in row if isinstance(c.value, float) and c.value < 0]
    from xltool.report.xlsx_list import NUMBER_FORMATS

    assert negative and all(c.number_format in NUMBER_FORMATS.values() for c in negative)
    _assert_numbers(ws, 5, {"序号": "0"}, "网页 问题清单")
    wb = openpyxl.load_workbook(io.BytesIO(annotated_bytes(checked)))
    _assert_numbers(wb["问题"], 1, {"序号": "0"}, "网页 标注副本")
    assert any(isinstance(c.value, float) and c.value < 0 for row in wb["问题"].iter_rows() for c in row)


def test_every_sheet_of_the_audit_summary_holds_numbers():
    from xltool.audit.model import KEY_FIGURES
    from xltool.form.selfeval import build_form
    from xltool.report.xlsx_list import number_format

    audited = audited_inbox()
    wb = openpyxl.load_workbook(audited.summary)
    figures = {"全年预算数": "#,##0.00", "全年执行数": "#,##0.00", "执行率": "0.00%", "三公经费": "#,##0.00",
               "总分": number_format("number")}
    assert len(figures) == len(KEY_FIGURES)
    assert _assert_numbers(wb["汇总"], 1, {"序号": "0", "必须修改": "0", "需要说明": "0", **figures}, "汇总") >= 10
    findings = wb["问题明细"]
    assert _assert_numbers(findings, 1, {"差额": None}, "问题明细") >= 5
    differences = [row[8].value for row in findings.iter_rows(min_row=2)]
    assert any(isinstance(v, float) and v < 0 for v in differences), "the example's −0.19 and others"
    for title in ("未提交", "异常文件", "变化"):
        _assert_numbers(wb[title], 1, {}, title)
    charts = wb["图表"]
    counts = [c for c in charts["B"] if c.value is not None and c.row > 1 and not isinstance(c.value, str)]
    assert counts and all(isinstance(c.value, int) and c.number_format == "0" for c in counts)
    # 全部数据: every numeric field's column holds numbers with its kind's format; text stays text.
    data = wb["全部数据"]
    ids = [c.value for c in data[1]]
    form = build_form(2023)
    kinds = {f.id: ("year" if f.id == "info_year" else f.kind.value) for f in form.fields}
    numeric = {data.cell(row=2, column=i + 1).value: number_format(kinds[fid]) for i, fid in enumerate(ids)
               if fid in kinds and kinds[fid] in _kinds()}
    assert len(numeric) > 400
    assert _assert_numbers(data, 2, numeric, "全部数据") > 100  # the example states 136 figures
    adjust = ids.index("proj_1_adjust") + 1
    assert data.cell(row=3, column=adjust).value == pytest.approx(-689.02)  # a negative 年中调整


def test_the_csv_holds_numbers_and_one_header_row():
    import csv

    audited = audited_inbox()
    text = (audited.out / "汇总数据.csv").read_bytes()
    assert text.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    assert rows[0][:4] == ["单位名称", "单位编码", "文件", "审核结果"] and len(rows) == 2  # one header, one unit
    adjust = rows[0].index("项目绩效 项目第1行 年中调整")
    assert rows[1][adjust] == "-689.02"  # a number as CSV states it, no apostrophe
    assert not [c for c in rows[1] if c.startswith("'-") and NUMBER_AS_TEXT.match(c)]


def test_no_apostrophe_before_a_number_in_any_output(report):
    """The original defect, looked for everywhere at once: '-0.19 in any cell of any output."""
    audited = audited_inbox()
    outputs = [audited.summary, *Path(audited.out / "units").rglob("*.xlsx")]
    assert len(outputs) >= 3
    for path in outputs:
        for ws in openpyxl.load_workbook(path).worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str) and cell.value.startswith("'"):
                        assert not NUMBER_AS_TEXT.match(cell.value), f"{path.name} {ws.title}!{cell.coordinate}"
