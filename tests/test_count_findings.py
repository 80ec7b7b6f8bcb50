"""A rule that counts (XT608: how many of an indicator row's five entries are filled; XT615: how
many 三级指标 are named) reads as a count everywhere it is printed: 3 of 5 and a 差额 of −2, never
−2.00 as if it were money — in the terminal table, JSON, 问题清单 (both writers), the annotated
copy's 问题 sheet (both writers) and the live 审核 sheet. Amount findings keep two decimals."""

from __future__ import annotations

import json
from functools import cache

import openpyxl
import pytest
from helpers import chinese, corrected_file, edit_inputs, form_2023, scratch, template_file, zh_locale  # noqa: F401

from xltool.check.checker import check_path
from xltool.form.selfeval import indicator_ids

ROW = indicator_ids("output", "qty", 1)  # 数量指标第1行「绿化养护」


@cache
def incomplete():
    """The corrected example with the first 数量指标 row's 实际完成值 and 得分 left empty, and
    the example's own warnings beside it (amounts, a rate)."""
    path = edit_inputs(corrected_file(), scratch("count_findings") / "incomplete.xlsx", form_2023(),
                       {ROW["actual"]: None, ROW["score"]: None})
    with chinese():
        return path, check_path(path)[1]


def _count_finding():
    found = [f for f in incomplete()[1].findings if f.code == "XT608"]
    assert len(found) == 1, [f.message for f in found]
    return found[0]


def test_an_incomplete_row_is_counted_in_whole_entries():
    f = _count_finding()
    assert f.kind == "count"
    assert (f.actual, f.expected, f.difference) == (3.0, 5.0, -2.0)
    assert (f.actual_text, f.expected_text, f.difference_text) == ("3", "5", "-2")
    assert "5项中已填3项" in f.message


def test_the_terminal_table_prints_the_count_without_decimals():
    from io import StringIO

    from rich.console import Console

    from xltool.report.terminal import print_report

    out = StringIO()
    with chinese():
        print_report(incomplete()[1], Console(file=out, width=200, force_terminal=False, color_system=None))
    row = next(line for line in out.getvalue().splitlines() if "XT608" in line)
    assert " -2 " in row, row
    assert "-2.00" not in out.getvalue()


def test_json_states_the_count_as_a_number_of_kind_count():
    from xltool.check.finding import WorkbookReport

    data = json.loads(incomplete()[1].to_json())
    f = next(f for f in data["findings"] if f["code"] == "XT608")
    assert f["kind"] == "count" and f["difference"] == -2.0 and isinstance(f["difference"], float)
    again = WorkbookReport.from_dict(data)  # the documented shape reads back (history, workers)
    assert next(x for x in again.findings if x.code == "XT608").difference_text == "-2"


def _formats_by_code(ws, header_row: int) -> dict[str, set[str]]:
    head = [c.value for c in ws[header_row]]
    code, diff = head.index("规则"), head.index("差额")
    out: dict[str, set[str]] = {}
    for row in ws.iter_rows(min_row=header_row + 1):
        if row[code].value and row[diff].value is not None:
            assert isinstance(row[diff].value, (int, float))
            out.setdefault(row[code].value, set()).add(row[diff].number_format)
    return out


@pytest.mark.parametrize("writer", ["openpyxl", "fast"])
def test_issue_lists_show_the_count_as_a_whole_number(writer):
    from xltool.audit.issuelist import write_issue_list_fast
    from xltool.report.xlsx_list import write_issue_list

    out = scratch("count_findings") / f"list_{writer}.xlsx"
    with chinese():
        (write_issue_list if writer == "openpyxl" else write_issue_list_fast)(incomplete()[1], out)
    formats = _formats_by_code(openpyxl.load_workbook(out)["问题清单"], 5)
    assert formats["XT608"] == {"0"}
    assert formats["XT707"] == {"#,##0.00"} and formats["XT504"] == {"0.00%"}  # money and rates as before


@pytest.mark.parametrize("writer", ["openpyxl", "fast"])
def test_the_annotated_copy_shows_the_count_as_a_whole_number(writer):
    from xltool.audit.marking import annotate_fast
    from xltool.report.annotate import annotate

    path, report = incomplete()
    out = scratch("count_findings") / f"annotated_{writer}.xlsx"
    with chinese():
        (annotate if writer == "openpyxl" else annotate_fast)(path, report, out)
    ws = openpyxl.load_workbook(out)["问题"]
    header = next(r[0].row for r in ws.iter_rows() if any(c.value == "差额" for c in r))
    assert _formats_by_code(ws, header)["XT608"] == {"0"}


def test_the_live_check_sheet_shows_counts_and_flags_as_whole_numbers():
    ws = openpyxl.load_workbook(template_file())["审核"]
    by_code: dict[str, set[str]] = {}
    for row in ws.iter_rows(min_row=5, max_col=7):
        if row[1].value:
            by_code.setdefault(row[1].value, set()).update(c.number_format for c in row[4:7])
    assert by_code["XT608"] == {"0"} and by_code["XT103"] == {"0"}
    assert by_code["XT301"] == {"#,##0.00##"} and by_code["XT501"] == {"0.00%"}


def test_too_few_indicators_are_counted_too():
    from helpers import corrected_values

    from xltool.check.checker import judge
    from xltool.form.expr import evaluate_all
    from xltool.form.scoring import ScoringConfig
    from xltool.form.selfeval import config_values
    from xltool.template.fill import validate

    cfg, form = ScoringConfig(), form_2023()
    # No indicator rows: every 三级指标 left empty (the funds block stays).
    keep = lambda k: not k.startswith(("eval_output", "eval_benefit", "eval_satisfaction", "eval_cost"))  # noqa: E731
    values = validate(form, {k: v for k, v in corrected_values().items() if v is not None and keep(k)})
    values.update(config_values(cfg))
    values.update(evaluate_all(form.formulas, values))
    with chinese():
        found = [f for f in judge(form, cfg, values)[0] if f.code == "XT615"]
    assert len(found) == 1 and found[0].kind == "count" and found[0].difference_text == "-3"
