"""Issue 14: every numeric read is total. A value written into the sheet XML that no real
figure has (NaN, ±inf, 1e999, 1e308, huge integers) is a finding, never an exception; -0 and
ordinary exponent forms read as the numbers they are."""

from __future__ import annotations

import copy

import pytest
from typer.testing import CliRunner

from helpers import filled_path, form, rewrite_zip, scratch, set_cached_value, sheet_parts, zh_locale  # noqa: F401
from xltool.check.checker import check_path, check_result
from xltool.cli import app
from xltool.read.reader import finite, read_book

from test_rules import example_book  # noqa: F401 - module-scoped fixture

ABSURD = ["1e999", "-1e999", "NaN", "nan", "inf", "-INF", "1e308", "-1e308", "9" * 400, "1E+15", "123456789012345"]
PLAIN = {"-0": 0.0, "1E+1": 10.0, "5.0E0": 5.0, "2e-1": 0.2}


def _with_value(src, form, fid: str, value: str, name: str):
    f = form.field(fid)
    member = sheet_parts(src)[form.sheet_title(f.sheet)]
    return rewrite_zip(src, scratch("numbers") / name, {member: lambda xml: set_cached_value(xml, f.cell, value)})


def test_finite_is_total() -> None:
    for value in (float("nan"), float("inf"), -float("inf"), 10 ** 400, -(10 ** 400), 1e308, 1e12, "x", None, object()):
        assert finite(value) is None
    assert finite(-0.0) == 0.0 and str(finite(-0.0)) == "0.0"
    assert finite(10 ** 11) == 1e11 and finite(True) == 1.0


@pytest.mark.parametrize("fid", ["info_departments", "fin_budget"])  # an integer field and an amount
@pytest.mark.parametrize("value", ABSURD)
def test_an_absurd_number_in_the_xml_is_a_finding(filled_path, form, fid, value) -> None:
    path = _with_value(filled_path, form, fid, value, f"{fid}.xlsx")
    report = check_path(path)[1]
    hits = [f for f in report.findings if f.code == "XT120" and f.instance == fid]
    assert len(hits) == 1 and hits[0].severity.value == "error", [f.code for f in report.findings]


@pytest.mark.parametrize("value, expected", sorted(PLAIN.items()))
def test_zero_and_exponent_forms_are_ordinary_numbers(filled_path, form, value, expected) -> None:
    path = _with_value(filled_path, form, "info_departments", value, "plain.xlsx")
    result, report = check_path(path)
    assert result.values["info_departments"] == expected
    assert not [f for f in report.findings if f.code == "XT120"]


def test_the_overflow_of_the_issue_is_exit_1_not_a_traceback(filled_path, form) -> None:
    path = _with_value(filled_path, form, "info_departments", "1e999", "overflow.xlsx")
    result = CliRunner().invoke(app, ["check-workbook", str(path)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output and "XT120" in result.output


@pytest.mark.parametrize("value", [10 ** 400, -(10 ** 400), float("nan"), float("inf"), "1" * 400, "9" * 30 + "%"])
def test_values_from_the_addin_or_as_text_are_total(example_book, value) -> None:  # noqa: F811
    book = copy.deepcopy(example_book)
    book.sheets["基本情况"].cells["B6"].value = value
    findings = check_result(read_book(book))
    assert any(f.code in ("XT120", "XT102") and f.instance == "info_departments" for f in findings)


def test_cached_results_out_of_range_are_stale_not_a_crash(filled_path, form) -> None:
    f = form.field("fin_exp")
    member = sheet_parts(filled_path)[form.sheet_title(f.sheet)]
    path = rewrite_zip(filled_path, scratch("numbers") / "cached.xlsx",
                       {member: lambda xml: set_cached_value(xml, f.cell, "1e999")})
    report = check_path(path)[1]
    assert any(x.code == "XT005" and x.instance == "fin_exp" for x in report.findings)
