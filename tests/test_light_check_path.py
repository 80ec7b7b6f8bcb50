"""The check path builds no pydantic models and imports neither pydantic nor openpyxl (issue 20):
findings, the form and the scoring settings are stdlib dataclasses, a shipped pack's form comes
from the derived cache, and pydantic validates only what states something other than the defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers import COMMITTED_FILLED, ROOT

from xltool.form.scoring import Caps, ScoringConfig, validate_scoring

CHECK = (
    "import sys, json\n"
    "from xltool.check.checker import check_path\n"
    "result, report = check_path(sys.argv[1])\n"
    "print(json.dumps({'findings': len(report.findings), 'modules': sorted(sys.modules)}))\n"
)


def _check_in_a_fresh_process(cache_dir) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XLTOOL_CACHE_DIR": str(cache_dir)}
    done = subprocess.run([sys.executable, "-c", CHECK, str(COMMITTED_FILLED)], capture_output=True, text=True,
                          env=env, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_checking_a_workbook_imports_neither_pydantic_nor_openpyxl(tmp_path):
    first = _check_in_a_fresh_process(tmp_path)  # an empty cache: the form is laid out (and kept)
    again = _check_in_a_fresh_process(tmp_path)
    assert first["findings"] == again["findings"] > 0
    heavy = {m for m in again["modules"] if m.split(".")[0] in ("pydantic", "pydantic_core", "openpyxl")}
    assert heavy == set()


def test_reports_round_trip_through_their_json(tmp_path):
    from xltool.check.checker import check_path
    from xltool.check.finding import WorkbookReport
    from xltool.report.model import CheckOutput

    _result, report = check_path(COMMITTED_FILLED)
    text = CheckOutput(workbooks=[report]).to_json(indent=2)
    back = CheckOutput.from_json(text)
    assert back.workbooks[0] == report and back.to_json(indent=2) == text
    assert WorkbookReport.from_json(report.to_json()) == report
    odd = WorkbookReport.from_dict({"path": "x", "unit": "某单位\u202e\r\nBcc: x", "year": 2023.0, "newer_key": 1,
                                    "findings": [{"code": "XT1", "severity": "error", "message": "m", "expected": 3}]})
    assert "\r" not in odd.unit and "\u202e" not in odd.unit and odd.year == 2023
    assert odd.findings[0].severity.value == "error" and odd.findings[0].expected == 3.0


def test_settings_equal_to_the_defaults_need_no_validator_and_others_are_validated():
    assert ScoringConfig.from_json(ScoringConfig().to_json()) == ScoringConfig()
    assert validate_scoring({"weights": {"execution": 10}}).stated() == {"weights": {"execution": 10.0}}
    stated = validate_scoring({"weights": {"execution": 15}, "policy": {"ratios": {"staff_control_max": False}}})
    assert stated.weights.execution == 15.0 and stated.policy.ratios.staff_control_max is False
    assert stated.stated() == {"weights": {"execution": 15.0}, "policy": {"ratios": {"staff_control_max": False}}}
    assert validate_scoring({"policy": {"ratios": {"sgjf_change_max": False}}}).policy.ratios.sgjf_change_max is False
    assert ScoringConfig(caps=Caps(enabled=True)).stated() == {"caps": {"enabled": True}}
    assert ScoringConfig(indicator={"deviation_deduction": 2}).indicator.deviation_deduction == 2.0
    from pydantic import ValidationError

    for bad, kind in (({"weights": {"x": 1}}, "extra_forbidden"), ({"execution": {"method": "x"}}, "string_pattern_mismatch"),
                      ({"policy": {"ratios": {"carryover_max": True}}}, "value_error"), ({"weights": 3}, "model_type"),
                      ({"score_tolerance": "abc"}, "float_parsing")):
        with pytest.raises(ValidationError) as caught:
            validate_scoring(bad)
        assert caught.value.errors()[0]["type"] == kind, bad


def test_figures_format_and_parse_as_babel_does_in_zh_cn():
    """numbers.py formats and parses without babel's locale data: the same text as babel's."""
    import random
    from decimal import Decimal

    from babel import Locale
    from babel.numbers import format_decimal, format_percent, parse_decimal

    from xltool.numbers import format_decimal as ours, parse_number

    zh = Locale.parse("zh_CN")
    rnd = random.Random(20)
    values: list = [0.0, -0.0, 0.005, 0.015, 2.675, -2.675, 0.5, 2.5, -0.001, 99999.995, 123456789.125, 10**14]
    values += [round(rnd.uniform(-1e6, 1e6), rnd.randint(0, 6)) for _ in range(800)]
    values += [rnd.uniform(-1e9, 1e9) * 10 ** -rnd.randint(0, 12) for _ in range(800)]
    values += [Decimal(rnd.randint(-10**6, 10**6)) / Decimal(10 ** rnd.randint(0, 6)) for _ in range(300)]
    for v in values:
        for pattern in ("#,##0.00", "#,##0.####", "#,##0.##########", "#,##0", "#,##0.00####"):
            assert ours(v, pattern) == format_decimal(v, format=pattern, locale=zh), (v, pattern)
        assert ours(v, "#,##0.00%") == format_percent(v, format="#,##0.00%", locale=zh), v
    for text in ("2,450.02", "-1,234", "+12.5", ".5", "1,2,3", "(3.25)", "97.58%", "２４５０．０２万元", "-,5"):
        parsed = parse_number(text)
        assert parsed is not None, text
        bare = text.replace("(", "-").replace(")", "").rstrip("%万元").replace("２４５０．０２", "2450.02").lstrip("+")
        expected = float(parse_decimal(bare, locale=zh, strict=False))
        assert parsed[0] == (expected / 100 if text.endswith("%") else expected), text
