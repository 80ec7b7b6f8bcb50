"""Comparator marks other systems print (云南's 一体化 export writes 指标性质 as “≧” and “═”) are the
directions ≥ and =: read so in a workbook's 指标方向 cell and in a Word table, never XT104; a mark
that is no direction at all is still XT104."""

from __future__ import annotations

import pytest
import yaml
from conformance.corpus import CASES_DIR, Case, check_word, check_workbook, packs_registered
from helpers import chinese, scratch

from xltool.form.measure import normal_text, parse_measure


def test_the_marks_read_as_directions():
    assert [normal_text(m) for m in ("≧", "≦", "═", "⩾", "⩽", "＝")] == ["≥", "≤", "=", "≥", "≤", "="]
    assert parse_measure("≧95%").direction == "≥" and parse_measure("≧95%").number == 95


def _case(mark: str) -> Case:
    data = yaml.safe_load((CASES_DIR / "yunnan-yongde-minglang-yingyang-2022.yaml").read_text(encoding="utf-8"))
    for row in data["indicators"]:
        if row.get("dir") == "≧":
            row["dir"] = mark
    data["id"] = f"direction-mark-{ord(mark):x}"
    return Case.model_validate(data)


def _run(case: Case, path: str):
    with packs_registered(), chinese():
        check = check_workbook if path == "workbook" else check_word
        findings, _report = check(case, scratch(f"direction_marks_{path}"))
    return findings


@pytest.mark.parametrize("path", ["workbook", "word"])
def test_a_systems_mark_is_its_direction(path):
    findings = _run(_case("≧"), path)
    assert not [f for f in findings if f.code in ("XT104", "XT605")], [f.message for f in findings]


def test_a_mark_that_is_no_direction_is_still_a_wrong_entry():
    findings = _run(_case("约"), "workbook")
    wrong = {c.field_id for f in findings if f.code == "XT104" for c in f.cells}
    assert "eval_output_qty_1_dir" in wrong
