"""The form declaration itself: ids, formulas, layout, list sizes, year-dependent labels."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from openpyxl.utils.cell import coordinate_from_string, column_index_from_string, range_boundaries

from helpers import form  # noqa: F401  (session fixture)
from xltool.form.model import Kind, Role
from xltool.form.selfeval import build_form

# Excel: a name starts with a letter, "_" or "\", continues with letters, digits, "_" and ".",
# is at most 255 characters, and must not read as a cell reference in A1 or R1C1 style.
NAME_RE = re.compile(r"[A-Za-z_\\][A-Za-z0-9_.]{0,254}")
A1_LIKE = re.compile(r"[A-Za-z]{1,3}\d+")
R1C1_LIKE = re.compile(r"(?i)(r\d*c\d*|r\d*|c\d*)")


def _cells_of(rng: str) -> set[tuple[int, int]]:
    c1, r1, c2, r2 = range_boundaries(rng)
    return {(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)}


def _pos(cell: str) -> tuple[int, int]:
    col, row = coordinate_from_string(cell)
    return row, column_index_from_string(col)


def test_ids_unique_and_valid_excel_names(form) -> None:
    ids = [f.id for f in form.fields]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    # Excel compares names case-insensitively.
    assert len({i.lower() for i in ids}) == len(ids)
    for fid in ids:
        assert NAME_RE.fullmatch(fid), fid
        assert not A1_LIKE.match(fid), f"{fid} starts like a cell reference"
        assert not R1C1_LIKE.fullmatch(fid), f"{fid} reads as an R1C1 reference"
        assert fid.upper() not in ("TRUE", "FALSE")


def test_name_checks_are_not_vacuous() -> None:
    for bad in ("AB12", "abc1_total", "R1C1", "r", "C12", "R2"):
        assert A1_LIKE.match(bad) or R1C1_LIKE.fullmatch(bad), bad
    assert not NAME_RE.fullmatch("1abc") and not NAME_RE.fullmatch("a b")


def test_formulas_reference_existing_fields_and_roles_are_consistent(form) -> None:
    ids = set(form.by_id)
    derived = [f for f in form.fields if f.role is Role.DERIVED]
    assert derived, "the form has derived figures"
    for f in form.fields:
        if f.role is Role.DERIVED:
            assert f.formula is not None, f.id
            refs = f.formula.refs()
            assert refs, f"{f.id} depends on nothing"
            assert set(refs) <= ids, (f.id, set(refs) - ids)
            assert f.id not in refs, f"{f.id} refers to itself"
        else:
            assert f.formula is None, f"{f.id} is {f.role.value} but carries a formula"


def test_no_cycles(form) -> None:
    graph = {f.id: [r for r in f.formula.refs() if form.field(r).formula is not None]
             for f in form.fields if f.formula is not None}
    state: dict[str, int] = {}

    def visit(node: str, path: tuple[str, ...]) -> None:
        if state.get(node) == 2:
            return
        assert state.get(node) != 1, "cycle: " + " → ".join(path + (node,))
        state[node] = 1
        for nxt in graph.get(node, []):
            visit(nxt, path + (node,))
        state[node] = 2

    for node in graph:
        visit(node, ())
    # Some derived figures do build on others (e.g. 支出 = 基本支出 + 项目支出): the walk matters.
    assert any(graph[n] for n in graph)


def test_fields_do_not_overlap_texts_or_each_other(form) -> None:
    for sheet in form.sheets:
        occupied: dict[tuple[int, int], str] = {}

        def claim(pos: tuple[int, int], what: str) -> None:
            assert pos not in occupied, f"{sheet.title}: {what} overlaps {occupied[pos]}"
            occupied[pos] = what

        for text in sheet.texts:
            cells = _cells_of(f"{text.cell}:{text.merge_to}") if text.merge_to else {_pos(text.cell)}
            for pos in cells:
                claim(pos, f"text {text.cell} «{text.text[:12]}»")
        fields = [f for f in form.fields if f.sheet == sheet.key]
        for f in fields:
            claim(_pos(f.cell), f"field {f.id} ({f.cell})")
        # Extra merges may only extend a field or text from its top-left cell.
        for rng in sheet.merges:
            c1, r1, _c2, _r2 = range_boundaries(rng)
            for pos in _cells_of(rng) - {(r1, c1)}:
                assert pos not in occupied, f"{sheet.title}: merge {rng} hides {occupied[pos]}"
        assert len(fields) == len({f.cell for f in fields})


def test_list_sizes(form) -> None:
    def rows(group: str) -> set[int]:
        return {f.index for f in form.fields if f.group == group}

    assert len(rows("fin_proj")) >= 20
    assert len(rows("proj")) >= 20
    assert len(rows("base_zx")) >= 10
    assert len(rows("base_bld")) >= 5
    # Every project row of 项目绩效 has the columns of report section 六.
    for i in rows("proj"):
        labels = {f.label.split(" ")[-1] for f in form.fields if f.group == "proj" and f.index == i}
        assert {"项目名称", "是否年初预算", "年初预算", "年中调整", "实际支出", "结余结转", "绩效目标"} <= labels, i


def test_at_least_five_third_level_rows_per_second_level(form) -> None:
    """Counted from the layout: each 二级 label spans rows of column C; count the 三级 name cells in D."""
    eval_sheet = form.sheet("eval")
    names_by_row = {f.row for f in form.fields if f.sheet == "eval" and f.cell.startswith("D") and f.kind is Kind.TEXT}
    second = [t for t in eval_sheet.texts if t.cell.startswith("C") and t.text.endswith("指标") and t.merge_to]
    expected = {"数量指标", "质量指标", "时效指标", "经济效益指标", "社会效益指标", "生态效益指标", "可持续影响指标",
                "服务对象满意度指标", "经济成本指标", "社会成本指标", "生态环境成本指标"}
    assert expected <= {t.text for t in second}
    for t in second:
        _c1, r1, _c2, r2 = range_boundaries(f"{t.cell}:{t.merge_to}")
        count = len([r for r in range(r1, r2 + 1) if r in names_by_row])
        assert count >= 5, (t.text, count)
    # Each 三级 row carries target and actual, direction, weight, score and reason.
    kinds = defaultdict(set)
    for f in form.fields:
        if f.sheet == "eval" and f.row in names_by_row:
            kinds[f.row].add(f.label.split(" ")[-1])
    for row, labels in kinds.items():
        assert {"三级指标", "指标方向", "年度指标值", "实际完成值", "计量单位", "分值", "得分", "偏差原因"} <= labels, row


@pytest.mark.parametrize("year", [2023, 2024])
def test_year_dependent_labels(year: int) -> None:
    form = build_form(year)
    texts = {t.text for s in form.sheets for t in s.texts}
    labels = {f.label for f in form.fields}
    prev, this = f"{year - 1}年决算数", f"{year}年预算数"
    assert prev in texts and this in texts and f"{year}年决算数" in texts
    assert any(prev in lbl for lbl in labels) and any(this in lbl for lbl in labels)
    # Nothing of another year leaks in (e.g. a hard-coded 2022 in the 2024 form).
    other = {str(y) for y in range(2015, 2035)} - {str(year), str(year - 1)}
    for text in texts | labels:
        for found in re.findall(r"(20\d\d)年", text):
            assert found not in other, text
    if year == 2024:
        assert "2022年决算数" not in texts and "2023年预算数" not in texts


def test_every_input_has_a_kind_appropriate_shape(form) -> None:
    for f in form.inputs:
        if f.kind is Kind.CHOICE:
            assert f.choices, f.id
        if f.kind is Kind.AMOUNT:
            assert f.unit == "万元", f.id
    required = {f.id for f in form.inputs if f.required}
    assert {"info_unit_name", "fin_budget", "eval_budget_full", "eval_exec"} <= required
