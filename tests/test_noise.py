"""Issue 10: one gap, one finding; messages quote what the cell holds; tolerances compared exactly.

Each case edits the shipped example's inputs and runs the real rule set over them.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from helpers import chinese, example_values, form_2023, model_values
from xltool.check.checker import run_checks
from xltool.check.instances import build_checks
from xltool.check.rule import allowance, evaluate, exact
from xltool.form.scoring import ScoringConfig


def findings(change: dict[str, object]):
    values = example_values()
    values.update(change)
    with chinese():
        return run_checks(form_2023(), ScoringConfig(), model_values(form_2023(), values))


def of(found, code: str, field: str | None = None):
    return [f for f in found if f.code == code and (field is None or any(c.field_id == field for c in f.cells))]


def test_required_entry_left_empty_is_reported_once() -> None:
    found = findings({"eval_exec": None})
    assert len(of(found, "XT103", "eval_exec")) == 1
    # eval_exec is stated elsewhere (收支情况 本年支出合计, 项目绩效 实际单位年度总支出): no "mismatch against 0".
    assert of(found, "XT301", "eval_exec") == []
    message = of(found, "XT103", "eval_exec")[0].message
    assert "附件3!E5" in message and "{" not in message
    # Filled, the same figure is compared again (the rule is quiet only while the entry is empty):
    # as typed it equals 项目绩效's 2,450.21; a different figure is reported once.
    assert of(findings({}), "XT301", "eval_exec") == []
    assert len(of(findings({"eval_exec": 2450.3}), "XT301", "eval_exec")) == 1


def test_a_blank_cell_is_not_quoted_as_zero() -> None:
    (xt404,) = of(findings({}), "XT404")
    assert "未填" in xt404.message and "0.00。" not in xt404.message
    (xt404,) = of(findings({"base_basic_adjust_final": 0}), "XT404")
    assert "0.00" in xt404.message and "未填" not in xt404.message


def test_rounding_allowance_is_printed_exactly() -> None:
    (xt202,) = of(findings({}), "XT202")
    # 公车购置 + 公车运行维护 against 公务用车: three stated figures, 3 × 0.005.
    assert "0.015" in xt202.message and "0.02" not in xt202.message


def test_one_deviation_of_a_parent_and_its_only_of_which_row_is_reported_once() -> None:
    change = {"base_car_budget": 80, "base_car_final": 20, "base_car_buy_budget": 80, "base_car_buy_final": 20,
              "base_car_run_budget": None, "base_car_run_final": None}
    found = of(findings(change), "XT707")
    assert [f.instance for f in found if f.instance.startswith("car")] == ["car"]
    # Two 其中 rows that each deviate on their own are each reported.
    change.update({"base_car_buy_budget": 40, "base_car_buy_final": 0, "base_car_run_budget": 40,
                   "base_car_run_final": 20})
    found = of(findings(change), "XT707")
    assert sorted(f.instance for f in found if f.instance.startswith("car")) == ["car", "car_buy"]


@pytest.mark.parametrize(("parts", "stated", "code"), [
    ((30, 30, 29.99), 89.97, "XT202"), ((30, 30, 29.99), 89.96, "XT203"), ((30, 30, 29.99), 89.99, None),
    # 30 + 0.2 + 45.67 − 75.85 is 0.0200000000000102 in binary floats: still exactly (3+1) × 0.005.
    ((30, 0.2, 45.67), 75.85, "XT202"), ((30, 0.2, 45.67), 75.84, "XT203"),
])
def test_tolerance_boundary_is_exact(parts: tuple, stated: float, code: str | None) -> None:
    """30 + 30 + 29.99 = 89.99 against 89.97: a difference of exactly (3+1) × 0.005 = 0.02 is rounding."""
    change = {"base_office_final": parts[0], "base_utilities_final": parts[1], "base_meeting_final": parts[2],
              "base_public_final": stated}
    found = [f for f in findings(change) if f.instance == "base_public_final"]
    assert [f.code for f in found] == ([code] if code else [])
    if code == "XT202":
        assert "0.02" in found[0].message


def test_the_boundary_cases_are_float_traps() -> None:
    assert 30 + 30 + 29.99 - 89.97 != 0.02 and 30 + 0.2 + 45.67 - 75.85 > 0.02


def test_allowance_and_judgement_in_decimal() -> None:
    check = next(c for c in build_checks(2023) if c.key == "XT203:base_public_final")
    values = {"base_office_final": 30.0, "base_utilities_final": 30.0, "base_meeting_final": 29.99,
              "base_public_final": 89.97}
    assert allowance(check, values) == Decimal("0.020")
    assert evaluate(check, values).rule.code == "XT202"
    assert exact(0.1 + 0.2) == Decimal("0.3")
    assert exact(float("nan")) == 0 and exact(float("inf")) > 10**30
