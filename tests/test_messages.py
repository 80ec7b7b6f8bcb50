"""Every sentence a person reads has its placeholders filled and its numbers formatted.

Each rule's message is rendered with the real arguments it gets for the example workbook,
a blank template, a half-filled one and workbooks of extreme figures (huge, tiny, negative,
long decimals, text in number cells), through every output: the finding itself, the
terminal table, the 问题清单 rows, the mail body.
"""

from __future__ import annotations

import io
import re

import pytest
from helpers import COMMITTED_FILLED, COMMITTED_TEMPLATE, edit_inputs, example_values, model_values, scratch
from rich.console import Console

from xltool.check.checker import check_path, run_checks
from xltool.check.finding import CellRef, Finding, Severity, WorkbookReport
from xltool.form.scoring import ScoringConfig
from xltool.form.selfeval import build_form
from xltool.numbers import fmt_amount, fmt_kind, fmt_rate, fmt_year
from xltool.report.terminal import print_report
from xltool.report.xlsx_list import finding_rows

# A float printed by repr/str: 1236.9099999999999, 1.0461207338321206, 2450.21 without grouping.
UNFORMATTED = re.compile(r"(?<![\w.,!:])(?:\d{5,}|\d+\.\d{5,}|\d{4}\.\d+)(?![\w])")


def _texts(finding: Finding) -> list[str]:
    return [finding.message, finding.fix, *finding.attribution, finding.difference_text,
            finding.expected_text, finding.actual_text, *(c.text for c in finding.cells)]


def _assert_readable(findings: list[Finding], where: str) -> None:
    for f in findings:
        for text in _texts(f):
            assert "{" not in text and "}" not in text, f"{where} {f.code}: placeholder left in {text!r}"
            assert not UNFORMATTED.search(text), f"{where} {f.code}: unformatted number in {text!r}"


def _extreme(form, value: float) -> dict[str, object]:
    out = {}
    for f in form.inputs:
        if f.kind.value in ("amount", "number"):
            out[f.id] = value
        elif f.kind.value == "integer":
            out[f.id] = int(abs(value)) or 1
        elif f.kind.value == "rate":
            out[f.id] = value / 1e6
    return out


def test_numbers_read_as_a_finance_person_writes_them():
    assert fmt_amount(2450.21) == "2,450.21"
    assert fmt_amount(1236.9099999999999) == "1,236.91"
    assert fmt_rate(0.9757944077833843) == "97.58%"
    assert fmt_year(2023) == "2023" and fmt_kind("year", 2023.0) == "2023"
    assert fmt_kind("", 1.0461207338321206) == "1.0461"
    assert fmt_kind("", 12.5) == "12.50" and fmt_kind("", 1234.0) == "1,234"
    assert fmt_kind("rate", -0.0688) == "-6.88%"


def test_the_example_messages_are_filled_and_formatted():
    _, report = check_path(COMMITTED_FILLED)
    assert report.findings
    _assert_readable(report.findings, "example")
    # The sentence states the signed difference exactly as the 差额 column shows it.
    xt301 = [f for f in report.findings if f.code == "XT301"]
    assert xt301 and all(f.difference_text in f.message for f in xt301)
    assert any(f.difference_text == "-0.19" for f in xt301)
    xt501 = next(f for f in report.findings if f.code == "XT501")
    assert xt501.difference_text == "-6.88%"
    xt707 = next(f for f in report.findings if f.code == "XT707")
    # 应为 / 实为 / 差额: the budget, the final figure and their difference, which add up.
    assert (xt707.expected_text, xt707.actual_text, xt707.difference_text) == ("324.40", "28.44", "-295.96")


def test_a_blank_and_a_half_filled_workbook_leave_no_placeholder():
    _, blank = check_path(COMMITTED_TEMPLATE)
    _assert_readable(blank.findings, "blank")
    assert not [f for f in blank.findings if "{where}" in f.message]
    required = [f for f in blank.findings if f.code == "XT103"]
    assert all(f.difference is None and f.difference_text == "" for f in required)
    form = build_form(2023)
    half = {fid: v for n, (fid, v) in enumerate(example_values().items()) if n % 2}
    path = edit_inputs(COMMITTED_TEMPLATE, scratch("messages") / "half.xlsx", form, half)
    _, report = check_path(path)
    assert report.findings
    _assert_readable(report.findings, "half")


@pytest.mark.parametrize("value", [9.87654321e13, 1e-7, -123456.789, 1236.9099999999999, 0.0])
def test_extreme_figures_render_every_rule_that_fires(value):
    form = build_form(2023)
    cfg = ScoringConfig()
    values = {**example_values(), **_extreme(form, value)}
    values["info_year"] = 2030
    findings = run_checks(form, cfg, model_values(form, values))
    assert findings
    _assert_readable(findings, f"extreme {value}")
    year = [f for f in findings if f.code == "XT705"]
    assert year and "2030" in year[0].message and "2,030" not in year[0].message


def test_every_output_shows_the_same_formatted_figures():
    _, report = check_path(COMMITTED_FILLED)
    buf = io.StringIO()
    print_report(report, Console(file=buf, width=200))
    terminal = buf.getvalue()
    assert "-0.19" in terminal and "1236.9" not in terminal
    for row in finding_rows(report):
        for cell in row:
            if isinstance(cell, str):
                assert not UNFORMATTED.search(cell), cell
    from xltool.mail.compose import finding_row

    odd = Finding(code="XT301", severity=Severity.ERROR, message="m", cells=[
        CellRef(sheet="附件2", cell="D12", label="三公经费", value=1236.9099999999999, kind="amount"),
        CellRef(sheet="基本情况", cell="B3", label="年度", value=2023, kind="year")])
    row = finding_row(1, odd)
    assert row.values == ["附件2!D12（三公经费） = 1,236.91", "基本情况!B3（年度） = 2023"]
    one = WorkbookReport(path="x.xlsx", findings=[odd])
    assert "1,236.91" in finding_rows(one)[0][5] and "2023" in finding_rows(one)[0][5]
