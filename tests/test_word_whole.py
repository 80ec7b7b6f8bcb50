"""Amounts a Word report states in whole 万元 are compared at that precision (xltool.word.whole):
each stands for ±0.5 万元, so 其中 rows or a total within the sum of their half-units is a rounding
difference (XT202), while the same figures stated to the cent, or further apart, stay errors."""

from __future__ import annotations

import pytest
from conformance.corpus import CASES_DIR, Case, check_word, packs_registered
from helpers import chinese, scratch

import yaml


def _case(**fields: str) -> Case:
    data = yaml.safe_load((CASES_DIR / "zhejiang-qujiang-text-car-line.yaml").read_text(encoding="utf-8"))
    data["fields"].update(fields)
    data["id"] = "word-whole-" + "-".join(f"{k}{v}" for k, v in sorted(fields.items())).replace(".", "_")
    return Case.model_validate(data)


def _codes(case: Case) -> dict[str, str]:
    with packs_registered(), chinese():
        findings, _report = check_word(case, scratch("word_whole"))
    return {f.code: f.message for f in findings if f.code in ("XT201", "XT202", "XT203")}


def test_whole_figures_within_their_rounding_are_a_rounding_difference():
    # 38 + 958 = 996 against 995, all in whole 万元: within (2 + 1) × 0.5.
    got = _codes(_case())
    assert "XT203" not in got and "XT201" not in got, got
    assert "1.50" in got["XT202"] or "2.00" in got["XT202"], got


@pytest.mark.parametrize("fields", [
    # the same figures stated to the cent: 996.00 over 995.00 is over, whatever rounding
    {"base_car_final": "995.00", "base_car_buy_final": "38.00", "base_car_run_final": "958.00"},
    # whole figures two 万元 apart: beyond the 1.5 their rounding allows
    {"base_car_final": "995", "base_car_buy_final": "39", "base_car_run_final": "958"},
])
def test_figures_to_the_cent_or_beyond_the_allowance_stay_errors(fields):
    got = _codes(_case(**fields))
    assert "XT203" in got, got
