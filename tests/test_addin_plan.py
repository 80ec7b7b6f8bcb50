"""The pure parts of 检查本表: payload values, the marking plan, and the classic writer on fakes."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import date, datetime
from types import SimpleNamespace

import pytest

from xltool.addin.plan import (
    SEVERITY_COLOURS, build_plan, cells_of, previous_marked_cells, rectangles, result_rows, template_fills,
)
from xltool.check.finding import CellRef, Finding, Severity
from xltool.form.selfeval import build_form
from xltool.read.payload import book_from_payload, cell_value
from xltool.read.reader import NotOurWorkbook, read_book
from xltool.read.safety import UnreadableWorkbook
from xltool.template.audit_sheet import ADDIN_ROWS

FORM = build_form(2023)


def test_plan_engine_and_payload_do_not_need_xlwings():
    code = ("import sys, xltool.addin.plan, xltool.addin.engine, xltool.read.payload; "
            "assert 'xlwings' not in sys.modules and 'fastapi' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- payload values -------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("", None), (None, None), (0, 0), (2450.21, 2450.21), (True, True), ("文本", "文本"),
    ("2024-03-31T00:00:00.000Z", 45382),                # Office.js toISOString of a date cell
    ("2024-03-31T12:00:00.000Z", 45382.5),
    ("2024-03-31T08:00:00+08:00", "2024-03-31T08:00:00+08:00"),  # typed text stays text
    ("2024-03-31", "2024-03-31"),
    (datetime(2024, 3, 31), 45382), (date(2024, 3, 31), 45382),  # the COM path
])
def test_cell_value(raw, expected):
    assert cell_value(raw) == expected


def test_book_from_payload_is_values_only():
    book = book_from_payload({"sheets": [{"name": "_xltool_meta", "values": [["template_id", "x"]]},
                                         {"name": "A", "values": [["", 1], [None, "x"]]}]})
    assert (book.has_formulas, book.has_cached, book.names, book.structure_protected) == (False, False, None, None)
    assert {ref: c.value for ref, c in book.sheets["A"].cells.items()} == {"B1": 1, "B2": "x"}
    assert book.sheets["A"].protected is None


@pytest.mark.parametrize("payload", [None, [], {"sheets": "x"}, {"sheets": [{"values": [[1]]}]},
                                     {"sheets": [{"name": "A", "values": "x"}]},
                                     {"sheets": [{"name": "A", "values": [1, 2]}]}])
def test_malformed_payload_is_unreadable(payload):
    with pytest.raises(UnreadableWorkbook):
        book_from_payload(payload)


def test_too_many_cells(monkeypatch):
    import xltool.read.payload as module

    monkeypatch.setattr(module, "MAX_CELLS", 10)
    with pytest.raises(UnreadableWorkbook) as exc:
        book_from_payload({"sheets": [{"name": "A", "values": [[1] * 11]}]})
    assert exc.value.reason == "too_many_cells"


def _layout_sheets(year_title: str = "2023年度部门（单位）整体支出绩效自评 填报说明", info_year=2023):
    sheets = [{"name": s.title, "values": [[]]} for s in FORM.sheets]
    sheets[0]["values"] = [[year_title]]
    sheets[1]["values"] = [[""], [""], [""], [""], ["", info_year]]
    return sheets


def test_missing_meta_identified_from_title_then_info_year():
    book = book_from_payload({"sheets": _layout_sheets()})
    assert read_book(book).form.year == 2023
    book = book_from_payload({"sheets": _layout_sheets(year_title="", info_year=2024)})
    assert read_book(book).form.year == 2024


def test_missing_meta_without_year_or_sheets_is_not_ours():
    with pytest.raises(NotOurWorkbook, match="年度"):
        book_from_payload({"sheets": _layout_sheets(year_title="", info_year="")})
    sheets = _layout_sheets()[:3]
    with pytest.raises(NotOurWorkbook, match="附件2"):
        book_from_payload({"sheets": sheets})


# -- the plan ---------------------------------------------------------------------------

def test_rectangles_cover_exactly():
    rng = random.Random(6)
    for _ in range(50):
        cells = {f"{rng.choice('ABCDEFG')}{rng.randint(1, 30)}" for _ in range(rng.randint(1, 60))}
        covered = [c for ref in rectangles(cells) for c in cells_of(ref)]
        assert sorted(covered) == sorted(cells)  # every cell once, nothing else


def test_all_fields_restored_in_few_rectangles():
    plan = build_plan(FORM, [])
    restored = {(b.sheet, c): b.colour for b in plan.restore for c in cells_of(b.ref)}
    fills = template_fills(FORM)
    assert restored == {(FORM.sheet_title(f.sheet), f.cell): fills[(FORM.sheet_title(f.sheet), f.cell)] for f in FORM.fields}
    assert len(plan.restore) < len(FORM.fields) / 10
    assert plan.marks == [] and plan.result.rows == [] and plan.result.cleared_ref == f"K5:P{4 + ADDIN_ROWS}"


def _finding(n: int, severity=Severity.ERROR, cell="B4", sheet="收支情况") -> Finding:
    return Finding(code="XT301", severity=severity, message=f"问题{n}", fix="改正",
                   cells=[CellRef(field_id="fin_budget", sheet=sheet, cell=cell, label="x", value=1.0)],
                   expected=2701.57, actual=2701.75, instance=str(n))


def test_marks_take_the_worst_severity_and_list_every_finding():
    plan = build_plan(FORM, [_finding(1, Severity.WARNING), _finding(2, Severity.ERROR)])
    (mark,) = plan.marks
    assert (mark.sheet, mark.cell, mark.colour) == ("收支情况", "B4", SEVERITY_COLOURS[Severity.ERROR])
    assert mark.note.splitlines() == ["【需要说明 XT301】问题1", "【必须修改 XT301】问题2"]
    assert plan.result.rows[0] == [1, "XT301 需要说明", "收支情况!B4", "问题1 改正", "2,701.75", "2,701.57"]
    assert plan.result.filled_ref == "K5:P6" and plan.result.cleared_ref == f"K7:P{4 + ADDIN_ROWS}"


def test_result_list_is_capped_with_a_pointer():
    rows = result_rows(FORM, [_finding(n) for n in range(ADDIN_ROWS + 20)])
    assert len(rows) == ADDIN_ROWS
    assert rows[-1][0] == "…" and "21" in rows[-1][3]
    assert build_plan(FORM, [_finding(n) for n in range(ADDIN_ROWS + 20)]).result.cleared_ref is None


def test_text_is_never_a_formula_in_the_list():
    finding = _finding(1).replace(**{"actual": "=HYPERLINK(\"x\")", "message": "+1"})
    row = result_rows(FORM, [finding])[0]
    assert row[3].startswith("'") and row[4].startswith("'")


def test_previous_label_marks_are_restored():
    previous = previous_marked_cells(["附件2!A6", "收支情况!B10、附件2!D12 …(+3)", None, "Sheet9!Z1"])
    assert previous == {("附件2", "A6"), ("收支情况", "B10"), ("附件2", "D12"), ("Sheet9", "Z1")}
    plan = build_plan(FORM, [], previous=previous)
    restored = {(b.sheet, c): b.colour for b in plan.restore for c in cells_of(b.ref)}
    assert restored[("附件2", "A6")] is None  # a label: no fill in the template
    assert "A6" in plan.managed["附件2"]
    assert not any(b.sheet == "Sheet9" for b in plan.restore)


# -- the classic writer, on fakes of xlwings' COM objects -----------------------------------

class FakeRange:
    def __init__(self, sheet, ref):
        self.sheet, self.ref = sheet, ref

    @property
    def color(self):
        return self.sheet.colours.get(self.ref)

    @color.setter
    def color(self, value):
        self.sheet.colours[self.ref] = value

    def add_note(self, text):
        self.sheet.notes[self.ref] = text

    @property
    def value(self):
        return self.sheet.values.get(self.ref)

    @value.setter
    def value(self, rows):
        self.sheet.values[self.ref] = rows

    def clear_contents(self):
        self.sheet.values[self.ref] = None


class FakeSheet:
    def __init__(self, name, notes=()):
        self.name = name
        self.colours, self.values = {}, {}
        self.notes = {cell: "old" for cell in notes}
        self.api = SimpleNamespace(Comments=[self._comment(cell) for cell in notes], Visible=-1)

    def _comment(self, cell):
        col = "".join(ch for ch in cell if ch.isalpha())
        row = cell[len(col):]
        return SimpleNamespace(Parent=SimpleNamespace(Address=f"${col}${row}"),
                               Delete=lambda: self.notes.pop(cell))

    def range(self, ref):
        return FakeRange(self, ref)


def test_classic_writer_applies_the_same_plan():
    from xltool.addin.classic import apply_com

    sheets = [FakeSheet(s.title, notes=("B4", "Z99") if s.key == "fin" else ()) for s in FORM.sheets] + [FakeSheet("审核")]
    book = SimpleNamespace(sheets=sheets)
    plan = build_plan(FORM, [_finding(1)])
    assert apply_com(book, plan) == 0
    fin = sheets[2]
    assert fin.notes == {"B4": plan.marks[0].note, "Z99": "old"}  # our old note replaced, the user's kept
    assert fin.colours["B4"] == (0xFF, 0xC7, 0xCE)
    assert sheets[-1].values["K5:P5"] == plan.result.rows
    assert sheets[-1].values[f"K6:P{4 + ADDIN_ROWS}"] is None
