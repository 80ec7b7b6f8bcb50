"""Issue 3: tampered and badly typed copies of the filled example are reported as such.

Copies are made the way they happen in practice: a spreadsheet edit (openpyxl), an edit of
the sheet XML (a file changed outside a spreadsheet), and LibreOffice saving a workbook it
did not recalculate (stale cached results kept)."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest

from helpers import (  # noqa: F401  (fixtures)
    cell_refs, example_report, filled_path, form, lo_convert_many, lo_example, rewrite_zip, scratch,
    set_cached_value, set_inline_text, sheet_parts, zh_locale,
)
from xltool.check.checker import check_path


def _codes(report) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in report.findings:
        out.setdefault(f.code, []).append(f)
    return out


def _baseline_keys() -> set[str]:
    return {f.key for f in example_report()[1].findings}


def _where(form, fid: str) -> tuple[str, str]:
    f = form.field(fid)
    return form.sheet_title(f.sheet), f.cell


# -- integrity ---------------------------------------------------------------------------

def test_untouched_copy_has_no_integrity_finding() -> None:
    assert not [k for k in _baseline_keys() if k < "XT1"]


def test_formula_overwritten_by_a_constant(filled_path, form) -> None:
    title, cell = _where(form, "fin_exp")
    wb = openpyxl.load_workbook(filled_path)
    wb[title][cell] = 2450.21
    out = scratch("tamper") / "constant.xlsx"
    wb.save(out)
    result, report = check_path(out)
    hits = [f for f in report.findings if f.code == "XT001"]
    assert [f"{title}!{cell}"] == [f"{c.sheet}!{c.cell}" for f in hits for c in f.cells]
    assert hits[0].severity.value == "error"
    # The checker computes the figure from its parts instead of trusting the constant.
    assert result.values["fin_exp"] == pytest.approx(380.19 + 2069.83)


def test_protection_removed_from_one_sheet(filled_path) -> None:
    member = sheet_parts(filled_path)["附件3"]
    out = rewrite_zip(filled_path, scratch("tamper") / "unprotected.xlsx",
                      {member: lambda x: re.sub(rb"<sheetProtection[^>]*/>", b"", x)})
    _result, report = check_path(out)
    hits = [f for f in report.findings if f.code == "XT002"]
    assert [f.instance for f in hits] == ["附件3"] and "附件3" in hits[0].message


def test_sheet_renamed(filled_path) -> None:
    out = rewrite_zip(filled_path, scratch("tamper") / "renamed.xlsx",
                      {"xl/workbook.xml": lambda x: x.replace('name="附件3"'.encode(), 'name="附件3（修改）"'.encode())})
    _result, report = check_path(out)
    hits = [f for f in report.findings if f.code == "XT003"]
    assert len(hits) == 1 and "附件3（修改）" in hits[0].message and "附件3" in hits[0].message.replace("附件3（修改）", "")


def test_label_edited(filled_path) -> None:
    wb = openpyxl.load_workbook(filled_path)
    original = wb["附件2"]["A7"].value
    assert original and "公务用车" in original
    wb["附件2"]["A7"] = "1、公务用车经费（含租车）"
    out = scratch("tamper") / "label.xlsx"
    wb.save(out)
    _result, report = check_path(out)
    hits = [f for f in report.findings if f.code == "XT007"]
    assert len(hits) == 1 and cell_refs(hits[0]) == {"附件2!A7"}
    assert original in hits[0].message and "含租车" in hits[0].message


# -- cached results ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def stale(lo_example, form):
    """An input changed in the XML of the recalculated example, cached results left as they were."""
    title, cell = _where(form, "fin_staff_cost")
    member = sheet_parts(lo_example)[title]
    return rewrite_zip(lo_example, scratch("stale") / "stale_input.xlsx",
                       {member: lambda x: set_cached_value(x, cell, "300")})


STALE_FIELDS = {"fin_basic", "fin_exp", "fin_exp_all"}  # everything computed from 人员经费


def _stale_report(path: Path, form):
    result, report = check_path(path)
    hits = {c.field_id for f in report.findings if f.code == "XT005" for c in f.cells}
    assert result.values["fin_basic"] == pytest.approx(300 + 21.82), "derived values come from the inputs"
    return hits, report


def test_changed_input_with_stale_results(stale, form) -> None:
    hits, report = _stale_report(stale, form)
    assert hits == STALE_FIELDS
    f = next(f for f in report.findings if f.code == "XT005" and f.instance == "fin_basic")
    assert f.actual == pytest.approx(380.19) and f.expected == pytest.approx(321.82)


def test_libreoffice_save_without_recalculation_keeps_stale_results(stale, form, soffice) -> None:
    (kept,) = lo_convert_many([stale], scratch("stale_lo"), recalc=False)
    hits, _report = _stale_report(kept, form)
    assert hits == STALE_FIELDS
    # …and a forced recalculation clears them: the finding really is about staleness.
    from xltool.office import recalculate

    fresh = recalculate(stale, scratch("stale_lo") / "recalculated.xlsx")
    hits, _report = _stale_report(fresh, form)
    assert hits == set()


def test_wrong_cached_value_in_one_formula_cell(lo_example, form) -> None:
    title, cell = _where(form, "eval_exec_rate")
    member = sheet_parts(lo_example)[title]
    out = rewrite_zip(lo_example, scratch("stale") / "wrong_v.xlsx",
                      {member: lambda x: set_cached_value(x, cell, "0.907")})
    result, report = check_path(out)
    hits = [f for f in report.findings if f.code == "XT005"]
    assert [f.instance for f in hits] == ["eval_exec_rate"]
    assert hits[0].actual == pytest.approx(0.907)
    assert hits[0].expected == pytest.approx(2450.21 / 2510.99)
    assert result.values["eval_exec_rate"] == pytest.approx(2450.21 / 2510.99)


# -- numbers typed as text ---------------------------------------------------------------

@pytest.mark.parametrize("text", ["2,450.21", "2450.21万元", "２４５０．２１", " 2450.21 "])
def test_number_typed_as_text_is_read_and_noted(filled_path, form, text) -> None:
    title, cell = _where(form, "eval_exec")
    member = sheet_parts(filled_path)[title]
    out = rewrite_zip(filled_path, scratch("text") / f"text_{abs(hash(text))}.xlsx",
                      {member: lambda x: set_inline_text(x, cell, text)})
    result, report = check_path(out)
    hits = [f for f in report.findings if f.code == "XT101"]
    assert len(hits) == 1 and hits[0].instance == "eval_exec" and hits[0].severity.value == "warning"
    assert cell_refs(hits[0]) == {f"{title}!{cell}"}
    assert result.values["eval_exec"] == pytest.approx(2450.21)
    assert result.values["eval_exec_rate"] == pytest.approx(2450.21 / 2510.99)
    # The parsed number is used by the rules: nothing but the note changes.
    baseline = {(f.key, f.message) for f in example_report()[1].findings}
    assert {(f.key, f.message) for f in report.findings if f.code != "XT101"} == baseline


def test_text_that_is_no_number(filled_path, form) -> None:
    title, cell = _where(form, "eval_exec")
    member = sheet_parts(filled_path)[title]
    out = rewrite_zip(filled_path, scratch("text") / "see_attachment.xlsx",
                      {member: lambda x: set_inline_text(x, cell, "见附表")})
    result, report = check_path(out)
    hits = [f for f in report.findings if f.code == "XT102"]
    assert len(hits) == 1 and hits[0].instance == "eval_exec" and hits[0].severity.value == "error"
    assert "见附表" in hits[0].message
    assert result.values["eval_exec"] is None
