"""Issue 14: a returned workbook never chooses the rules that judge it.

Reproduction first: the filled example has three wrong scores (XT616 ×3, below the rule). Editing the
hidden sheet's score tolerance to 10 once made them disappear with no integrity finding.
Now the edit is an integrity finding (XT020) and the wrong scores are still found. With the
bureau's configuration (``--rules-config``, ``audit``) the bureau's settings judge and a
workbook whose stored settings differ is reported (XT021). The unit a template was made for
is locked (XT007 on the cells, XT020 on the hidden sheet)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import (  # noqa: F401 (fixtures)
    edit_inputs, filled_path, form, rewrite_zip, scratch, set_inline_text, sheet_parts, zh_locale,
)
from xltool.check.checker import check_path
from xltool.cli import app
from xltool.form.scoring import Caps, ScoringConfig
from xltool.template.meta import META_SHEET

SCORING = {"XT604", "XT605", "XT616"}
ROWS = {"template_id": "B1", "version": "B2", "year": "B3", "unit_name": "B4", "unit_code": "B5", "scoring": "B6",
        "fingerprint": "B7", "unit_email": "B10", "form": "B11"}


def _meta_rows(path: Path) -> dict[str, str]:
    import openpyxl

    ws = openpyxl.load_workbook(path)[META_SHEET]
    return {str(r[0].value): r[1].value for r in ws.iter_rows() if r[0].value}


def edit_meta(src: Path, dst: Path, **changes: str) -> Path:
    """Copy *src* with rows of the very hidden sheet changed in its XML (outside a spreadsheet)."""
    member = sheet_parts(src)[META_SHEET]

    def edit(xml: bytes) -> bytes:
        for key, text in changes.items():
            cell = ROWS[key]
            if f'<c r="{cell}"'.encode() not in xml:  # an empty row: add the cell after column A
                row = cell[1:].encode()
                xml = re.sub(rb'(<row r="' + row + rb'"[^>]*>.*?)(</row>)',
                             lambda m: m.group(1) + b'<c r="' + cell.encode() + b'"/>' + m.group(2), xml,
                             count=1, flags=re.S)
            xml = set_inline_text(xml, cell, text)
        return xml

    return rewrite_zip(src, dst, {member: edit})


def _scoring_with(src: Path, **settings) -> str:
    data = json.loads(_meta_rows(src)["scoring"])
    data.update(settings)
    return json.dumps(data, ensure_ascii=False)


def _codes(report) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in report.findings:
        out[f.code] = out.get(f.code, 0) + 1
    return out


def test_the_example_is_judged_by_its_own_sealed_settings(filled_path) -> None:
    codes = _codes(check_path(filled_path)[1])
    assert "XT020" not in codes and "XT021" not in codes
    assert codes.get("XT616") == 3  # the three scores below the rule


def test_editing_the_score_tolerance_no_longer_hides_wrong_scores(filled_path) -> None:
    tampered = edit_meta(filled_path, scratch("settings") / "tolerance.xlsx",
                         scoring=_scoring_with(filled_path, score_tolerance=10.0))
    report = check_path(tampered)[1]
    codes = _codes(report)
    assert codes.get("XT020") == 1, codes
    hit = next(f for f in report.findings if f.code == "XT020")
    assert hit.severity.value == "error" and "score_tolerance" in hit.message
    # Judged with the default settings, not the edited ones: the wrong scores are still found.
    assert codes.get("XT616") == 3  # the three scores below the rule


@pytest.mark.parametrize("change", [
    {"year": "2024"},
    {"unit_name": "另一个单位"},
    {"scoring": '{"weights": {"execution": 10, "output": 40, "benefit": 20, "satisfaction": 10, "cost": 20}, '
                '"execution": {"method": "thresholds"}}'},
    {"scoring": "not json"},
    {"fingerprint": "0" * 64},
])
def test_every_edit_of_the_hidden_sheet_is_a_must_fix_finding(filled_path, change) -> None:
    tampered = edit_meta(filled_path, scratch("settings") / "meta.xlsx", **change)
    report = check_path(tampered)[1]
    assert any(f.code == "XT020" and f.severity.value == "error" for f in report.findings), _codes(report)


def test_an_older_version_label_does_not_let_the_settings_through(filled_path) -> None:
    """A version that never existed is an edit of the sealed sheet, not an older template
    (issue 19: older templates are recognised by what those versions really wrote)."""
    tampered = edit_meta(filled_path, scratch("settings") / "older.xlsx", version="0.9",
                         scoring=_scoring_with(filled_path, score_tolerance=10.0))
    codes = _codes(check_path(tampered)[1])
    assert codes.get("XT020") == 1 and "XT006" not in codes
    assert codes.get("XT616") == 3  # the three scores below the rule


@pytest.fixture(scope="module")
def capped(tmp_path_factory) -> Path:
    """A legitimate template built with a region's own settings, for one unit, filled."""
    from helpers import example_values
    from xltool.template.fill import fill_workbook
    from xltool.template.writer import write_template

    tmp = tmp_path_factory.mktemp("capped")
    cfg = ScoringConfig(region="某市口径", caps=Caps(enabled=True))
    blank = write_template(tmp / "blank.xlsx", 2023, cfg=cfg, unit_name="株洲市芦淞区机关事务服务中心",
                           unit_code="430203001", unit_email="tianbiaoren@example.com")
    values = {k: v for k, v in example_values().items() if k not in ("info_unit_name", "info_unit_code", "info_email")}
    return fill_workbook(blank, values, tmp / "filled.xlsx")


def test_a_sealed_regional_template_is_judged_by_its_settings(capped) -> None:
    result, report = check_path(capped)
    assert result.cfg.caps.enabled and result.cfg.region == "某市口径"
    assert not {"XT020", "XT021", "XT007"} & set(_codes(report))


def test_the_bureaus_configuration_wins_and_the_difference_is_reported(capped, tmp_path) -> None:
    config = tmp_path / "bureau.toml"
    config.write_text('region = "默认（示例报告口径）"\nscore_tolerance = 0.01\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["check-workbook", str(capped), "--rules-config", str(config), "--format", "json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    hits = [f for f in data["workbooks"][0]["findings"] if f["code"] == "XT021"]
    assert len(hits) == 1 and hits[0]["severity"] == "error"
    assert "caps.enabled" in hits[0]["message"] and "region" in hits[0]["message"]
    # The same workbook checked with its own settings: no XT021.
    assert "XT021" not in {f.code for f in check_path(capped)[1].findings}


def test_audit_judges_with_the_bureaus_settings(capped, tmp_path) -> None:
    from xltool.audit.run import AuditOptions, run_audit

    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "capped.xlsx").write_bytes(capped.read_bytes())
    outcome = run_audit(AuditOptions(inputs=[inbox], out=tmp_path / "out", jobs=1))
    (unit,) = outcome.units
    assert "XT021" in {f.code for f in unit.report.findings}
    same = run_audit(AuditOptions(inputs=[inbox], out=tmp_path / "out2", jobs=1,
                                  cfg=ScoringConfig(region="某市口径", caps=Caps(enabled=True))))
    assert "XT021" not in {f.code for f in same.units[0].report.findings}


def test_the_locked_unit_cannot_be_renamed(capped, form) -> None:
    renamed = edit_inputs(capped, scratch("settings") / "renamed.xlsx", form, {"info_unit_name": "别的单位"})
    report = check_path(renamed)[1]
    hits = [f for f in report.findings if f.code == "XT007" and f.instance == "info_unit_name"]
    assert len(hits) == 1 and hits[0].severity.value == "error"
    # Renaming it in the hidden sheet as well breaks the fingerprint that covers the unit.
    both = edit_meta(renamed, scratch("settings") / "renamed_both.xlsx", unit_name="别的单位")
    codes = _codes(check_path(both)[1])
    assert codes.get("XT020") == 1, codes


def test_the_locked_email_address_cannot_be_redirected(capped, form) -> None:
    """check-workbook --email writes to the workbook's address: a personalised template locks it."""
    redirected = edit_inputs(capped, scratch("settings") / "redirected.xlsx", form, {"info_email": "attacker@example.net"})
    report = check_path(redirected)[1]
    assert [f.severity.value for f in report.findings if f.code == "XT007" and f.instance == "info_email"] == ["error"]
