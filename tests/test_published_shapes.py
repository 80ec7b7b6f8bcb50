"""Shapes of figures found on published returns (the conformance corpus's Hubei, Jilin and
Guangxi sources), read the same way on the workbook and the Word path: each fix shown firing
where the figure is wrong and quiet where the published figure is right."""

from __future__ import annotations

import copy

import pytest
from helpers import chinese, corrected_file, scratch

from xltool.numbers import parse_number


# -- “150万” in a 万元 column (鄂州 2021 项目支出绩效自评表) ---------------------------------------

@pytest.mark.parametrize(("text", "value"), [("150万", 150.0), ("125.25万", 125.25), ("150万元", 150.0),
                                             ("１５０万", 150.0)])
def test_a_figure_with_wan_is_read_as_wan_yuan(text, value):
    assert parse_number(text) == (value, False)


@pytest.mark.parametrize("text", ["150万人", "万", "约150万", "150千万"])
def test_wan_does_not_make_other_words_numbers(text):
    assert parse_number(text) is None


@pytest.fixture(scope="module")
def corrected_book():
    from xltool.read import book as books

    return books.from_xml(corrected_file())


def _read_with(book, cell: str, value: object):
    from xltool.read.reader import read_book

    book = copy.deepcopy(book)
    book.sheets["收支情况"].cells[cell].value = value
    return read_book(book)


def test_wan_typed_in_an_amount_cell_is_a_number_as_text_not_a_non_number(corrected_book):
    """The workbook: “2701.57万” is XT101 (需要说明, read as 2701.57), as “2701.57万元” is; a word
    that is no figure stays XT102 (必须修改)."""
    result = _read_with(corrected_book, "B4", "2701.57万")
    assert result.values["fin_budget"] == pytest.approx(2701.57)
    codes = {f.code for f in result.findings if "fin_budget" in {c.field_id for c in f.cells}}
    assert codes == {"XT101"}
    wrong = _read_with(corrected_book, "B4", "见附表")
    assert "XT102" in {f.code for f in wrong.findings if "fin_budget" in {c.field_id for c in f.cells}}


def test_wan_in_a_word_table_cell_is_the_same_figure():
    from xltool.word.extract import _cell_number

    assert _cell_number("150万") == 150.0 and _cell_number("125.25万元") == 125.25
    assert _cell_number("150万人") is None and _cell_number("见附表") is None


# -- a title line “（2021年度）” under the table's name ---------------------------------------------

@pytest.mark.parametrize("line", ["（2021年度）", "(2021年度)", "( 2021 年度)"])
def test_a_year_line_in_brackets_names_no_unit(line):
    from xltool.word import patterns as P

    assert P.TITLE_UNIT.search(P.fold(line)) is None
    assert P.TITLE_YEAR.search(P.fold(line)).group("y") == "2021"


def test_a_title_with_the_unit_after_the_year_still_names_it():
    from xltool.word import patterns as P

    m = P.TITLE_UNIT.search(P.fold("2021年度鄂州市行政审批局部门整体支出绩效自评报告"))
    assert m is not None and m.group("v") == "鄂州市行政审批局"


# -- a 三公 statement with no 公务用车 line of its own (和龙 2020, 鹿寨 2019) ---------------------------

def _sangong_case(run: str):
    from conformance.corpus import Case

    return Case.model_validate({
        "id": f"helong-{run}", "real": False, "derived_from": "jilin-helong-sangong-2020", "unit": "和龙市",
        "year": 2020, "kind": "unit", "table": "2020年“三公”经费支出情况", "pack": "example",
        "layout": "DERIVED: 三公 431 stated, the car line blank, 购置 56 and 运行维护 as given, 接待 124.",
        "fields": {"base_car_final": None, "base_car_buy_final": "56", "base_car_run_final": run,
                   "base_reception_final": "124"},
        "stated": {"base_sgjf_final": "431"},
    })


@pytest.mark.parametrize(("run", "fires"), [("251", False), ("215", True)])
def test_a_sangong_total_counts_the_other_rows_of_a_blank_car_line(run, fires):
    """The Word path: 431 = 56 + 251 + 124 with the car line blank is consistent (no XT201: the blank
    line is not 0, its 其中 rows state it); with 215 typed for 251 the total is 36 off (XT201)."""
    from conformance.corpus import docx, packs_registered

    from xltool.word.check import check_document

    case = _sangong_case(run)
    with packs_registered(), chinese():
        _ext, _values, report = check_document(docx(case, scratch("published_shapes")), form=case.pack)
    found = [f for f in report.findings if f.instance == "stated:base_sgjf_final"]
    if fires:
        assert [(f.code, f.severity.value) for f in found] == [("XT201", "error")]
        assert found[0].expected == 395.0 and found[0].actual == 431.0
    else:
        assert found == []


# -- the form's note row under 附件2's 楼堂馆所 block ------------------------------------------------

@pytest.mark.parametrize(("building", "fires"), [(None, False), ("办公楼", True)])
def test_the_note_under_the_buildings_block_is_not_a_building(building, fires):
    """附件2 as a table that ends with its note (“说明：‘项目支出’需要填报…”) right under the 楼堂馆所 header:
    the note is no building (no XT105); a building row with a name and no 批复规模 still is XT105."""
    from conformance.corpus import Case, docx, packs_registered

    from xltool.word.check import check_document

    fields = {"base_reception_final": "31000.00"}
    if building:
        fields["base_bld_1_name"] = building
    case = Case.model_validate({
        "id": f"note-{bool(building)}", "real": False, "derived_from": "yunnan-xundian-zhengxie-sangong-2022",
        "unit": "寻甸县政协", "year": 2022, "kind": "unit", "table": "三公经费", "pack": "example",
        "amount_unit": "元", "layout": "DERIVED: one 三公 figure, the buildings block printed with its header and the note.",
        "fields": fields,
    })
    with packs_registered(), chinese():
        _ext, _values, report = check_document(docx(case, scratch("published_shapes")), form=case.pack)
    xt105 = [f for f in report.findings if f.code == "XT105"]
    assert [(f.code, f.severity.value) for f in xt105] == ([("XT105", "error")] if fires else [])
    if fires:
        assert {c.field_id for c in xt105[0].cells} == {"base_bld_1_name", "base_bld_1_area_approved"}
