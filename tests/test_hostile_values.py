"""Values a unit can type that once broke the checker or leaked into outputs as formulas."""

from __future__ import annotations

import copy

import openpyxl

from xltool.check.checker import check_result, sort_findings
from xltool.check.finding import WorkbookReport
from xltool.read.reader import read_book
from xltool.report.xlsx_list import write_issue_list

from test_rules import example_book  # noqa: F401 - module-scoped fixture


def test_an_absurd_score_is_a_finding_not_a_crash(example_book):  # noqa: F811
    book = copy.deepcopy(example_book)
    book.sheets["附件3"].cells["J49"].value = 2e300
    findings = check_result(read_book(book))
    # Since issue 14 an absurd magnitude is itself a must-fix finding (XT120), not a figure to score.
    assert any(f.code == "XT120" and f.instance.endswith("satisfaction_service_1_score") for f in findings)


def test_unit_name_starting_with_equals_stays_text_in_the_issue_list(tmp_path, example_book):  # noqa: F811
    book = copy.deepcopy(example_book)
    book.sheets["基本情况"].cells["B3"].value = '=HYPERLINK("http://x","y")'
    result = read_book(book)
    report = WorkbookReport(path="x.xlsx", unit=result.values["info_unit_name"], year=2023,
                            findings=sort_findings(check_result(result)))
    out = write_issue_list(report, tmp_path / "list.xlsx")
    ws = openpyxl.load_workbook(out).active
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", f"{cell.coordinate} became a formula: {cell.value}"
