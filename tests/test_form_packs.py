"""Every shipped form pack, end to end: its template recalculated in real LibreOffice agrees
with Python on every formula and every 审核 row; no amount input escapes the rules when it is
perturbed; and its corrected example (examples/forms/<id>.yaml) gives no must-fix finding.

The default pack (example) is covered by test_roundtrip.py, test_perturb.py and test_forms.py;
the other shipped packs are parametrised here, all LibreOffice work done in ONE soffice start.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from helpers import (  # noqa: F401  (fixtures)
    FAIL, NA, PASS, ROUNDING, close, lo_convert_many, python_verdict, scratch, zh_locale,
)
from xltool.check.checker import check_path, run_checks
from xltool.check.instances import build_checks
from xltool.form.expr import evaluate_all
from xltool.form.model import Kind, Role
from xltool.form.registry import DEFAULT_FORM, available, shipped_path
from xltool.read.book import from_xml
from xltool.template.fill import fill_workbook, load_data
from xltool.template.writer import build_workbook, save_atomic

ROOT = Path(__file__).resolve().parents[1]
PACKS = sorted(i for i, e in available().items() if e.shipped and i != DEFAULT_FORM)
AUDIT = "审核"


def test_every_shipped_pack_is_listed_and_has_an_example() -> None:
    assert set(PACKS) == {"central-2020", "province-cost", "project"}
    assert set(PACKS) | {DEFAULT_FORM} <= set(available())
    for pack in PACKS:
        assert (ROOT / "examples" / "forms" / f"{pack}.yaml").is_file(), pack


@cache
def filled(pack: str) -> Path:
    """The pack's template, filled with its example data through the ordinary fill path."""
    folder = scratch("packs")
    template = save_atomic(build_workbook(2023, form_id=pack), folder / f"{pack}_template.xlsx")
    return fill_workbook(template, load_data(ROOT / "examples" / "forms" / f"{pack}.yaml"), folder / f"{pack}.xlsx")


@pytest.mark.parametrize("pack", PACKS)
def test_the_corrected_example_has_no_must_fix_finding(pack, zh_locale):  # noqa: F811
    result, report = check_path(filled(pack))
    assert result.form.pack_id == pack and result.meta.form == pack
    errors = [f"{f.code} {f.message}" for f in report.findings if f.severity.value == "error"]
    assert errors == []
    # Not vacuous: the same workbook with one figure broken has a must-fix finding.
    broken = fill_workbook(filled(pack), {"eval_exec_score": 10.0}, scratch("packs") / f"{pack}_broken.xlsx")
    assert any(f.code == "XT604" and f.severity.value == "error" for f in check_path(broken)[1].findings)


# -- perturbation coverage ------------------------------------------------------------------

def _up(kind: Kind, value: object) -> float:
    v = float(value) if isinstance(value, (int, float)) else 0.0
    return v + 0.1234 if kind is Kind.RATE else v + 1000.37


def _down(value: object) -> float | None:
    return value / 2 - 0.37 if isinstance(value, (int, float)) and value > 0 else None


@pytest.mark.parametrize("pack", PACKS)
def test_no_amount_input_escapes_the_rules(pack) -> None:
    result, _report = check_path(filled(pack))
    form, cfg = result.form, result.cfg
    inputs = {f.id: result.values.get(f.id) for f in form.fields if not f.derived}

    def keys(values: dict) -> set:
        full = {**values, **evaluate_all(form.formulas, values)}
        return {(f.key, f.message, frozenset(c.field_id for c in f.cells)) for f in run_checks(form, cfg, full)}

    base = {(k, m) for k, m, _ in keys(inputs)}
    amounts = [f for f in form.inputs if f.kind is Kind.AMOUNT]
    assert len(amounts) > 10
    missed = []
    for f in amounts:
        caught = False
        for new in (_up(f.kind, inputs.get(f.id)), _down(inputs.get(f.id))):
            if new is None:
                continue
            if any((k, m) not in base and f.id in ids for k, m, ids in keys({**inputs, f.id: new})):
                caught = True
                break
        if not caught:
            missed.append(f.id)
    assert missed == [], f"{pack}: amount inputs no rule notices in either direction: {missed}"


# -- LibreOffice recalculates the same figures and verdicts ------------------------------------

@pytest.fixture(scope="module")
def recalculated(soffice) -> dict[str, Path]:
    out = lo_convert_many([filled(p) for p in PACKS], scratch("packs_lo"), recalc=True)
    return dict(zip(PACKS, out))


def _same(lo: object, py: object) -> bool:
    blank = lambda v: v is None or v == ""  # noqa: E731
    if blank(lo) or blank(py):
        return blank(lo) and blank(py)
    if isinstance(lo, (int, float)) and isinstance(py, (int, float)):
        return close(lo, py)
    return str(lo) == str(py)


@pytest.mark.parametrize("pack", PACKS)
def test_libreoffice_agrees_with_python_on_every_formula(pack, recalculated) -> None:
    result, _report = check_path(filled(pack))
    form, values = result.form, result.values
    book = from_xml(recalculated[pack])
    problems = []
    derived = [f for f in form.fields if f.role is Role.DERIVED]
    for f in derived:
        cell = book.sheets[form.sheet_title(f.sheet)].cells.get(f.cell)
        assert cell is not None and cell.formula, f"{f.id}: no formula at {form.where(f.id)}"
        if not _same(cell.value, values.get(f.id)):
            problems.append(f"{form.where(f.id)} {f.id}: LibreOffice {cell.value!r}, Python {values.get(f.id)!r}")
    # The live 审核 sheet: one row per live check of THIS pack, verdict as Python says.
    checks = [c for c in build_checks(form.year, result.cfg, form_id=pack) if c.rule.live]
    audit = book.sheets[AUDIT].cells
    rows = sorted(int(ref[1:]) for ref, c in audit.items() if ref[0] == "B" and str(c.value).startswith("XT"))
    assert len(rows) == len(checks)
    verdicts = set()
    for row, check in zip(rows, checks):
        assert audit[f"B{row}"].value == check.rule.code, (row, check.key)
        want = python_verdict(check, values)
        verdicts.add(want)
        got = audit[f"I{row}"].value
        if got != want:
            problems.append(f"审核!I{row} {check.key}: LibreOffice {got!r}, Python {want!r}")
    assert not problems, f"{len(problems)} disagreements:\n" + "\n".join(problems[:30])
    assert PASS in verdicts and NA in verdicts  # the comparison saw both kinds of rows
    assert len(derived) >= 14


# -- the add-in's values-only payload names its pack through the guide sheet's stamp ----------

@pytest.mark.parametrize("pack", PACKS)
def test_addin_payload_without_the_meta_sheet_finds_its_pack(pack, zh_locale):  # noqa: F811
    from xltool.addin.licence import ensure_licence

    ensure_licence()
    pytest.importorskip("xlwings")
    from test_addin_support import office_payload
    from xltool.addin.engine import check_payload

    broken = fill_workbook(filled(pack), {"eval_exec_score": 10.0}, scratch("packs") / f"{pack}_addin.xlsx")
    _result, report = check_path(broken)
    outcome = check_payload(office_payload(broken, notes={}, drop=("_xltool_meta",)))
    assert outcome.status == "ok", outcome.message
    assert outcome.result.form.pack_id == pack
    assert [(f.code, f.message) for f in outcome.findings] == [(f.code, f.message) for f in report.findings]
    assert any(f.code == "XT604" for f in outcome.findings)


def test_roster_templates_of_a_shipped_pack(zh_locale):  # noqa: F811
    from typer.testing import CliRunner

    from xltool.cli import app
    from xltool.read.reader import read_path

    folder = scratch("packs_roster")
    roster = folder / "名册.csv"
    roster.write_text("单位名称,单位编码,电子邮箱\n甲单位,001,a@example.gov.cn\n乙单位,002,b@example.gov.cn\n",
                      encoding="utf-8-sig")
    result = CliRunner().invoke(app, ["make-template", "--form", "central-2020", "--year", "2024", "--roster",
                                      str(roster), "-o", str(folder / "out")])
    assert result.exit_code == 0, result.output
    made = sorted((folder / "out").glob("*.xlsx"))
    assert len(made) == 2
    for path in made:
        read = read_path(path)
        assert read.form.pack_id == "central-2020" and read.meta.form == "central-2020"
        assert read.values["info_unit_name"] in ("甲单位", "乙单位")
        assert not [f for f in read.findings if f.code in ("XT006", "XT007")]
    # A pack file that is not registered cannot be used for a roster (workers could not find it again).
    pack = scratch("packs_roster") / "mine.toml"
    pack.write_text(shipped_path().read_text(encoding="utf-8").replace(
        'id = "example"', 'id = "mine-2024"'), encoding="utf-8")
    refused = CliRunner().invoke(app, ["make-template", "--form", str(pack), "--year", "2024", "--roster",
                                       str(roster), "-o", str(folder / "out2")])
    assert refused.exit_code == 2 and not (folder / "out2").exists()


def test_rules_config_overrides_only_what_it_states_over_the_pack(zh_locale):  # noqa: F811
    from typer.testing import CliRunner

    from xltool.cli import app
    from xltool.read.reader import read_path

    folder = scratch("packs_rules")
    rules = folder / "caps.toml"
    rules.write_text("[caps]\nenabled = true\n", encoding="utf-8")
    out = folder / "central_caps.xlsx"
    result = CliRunner().invoke(app, ["make-template", "--form", "central-2020", "--year", "2023",
                                      "--rules-config", str(rules), "-o", str(out)])
    assert result.exit_code == 0, result.output
    cfg = read_path(out).cfg
    assert cfg.caps.enabled and (cfg.weights.output, cfg.weights.benefit, cfg.weights.cost) == (50, 30, 0)
    assert cfg.region == "财预〔2020〕10号"


@pytest.mark.parametrize("pack", PACKS)
def test_the_bureaus_settings_judge_over_each_packs_own_rule_set(pack, zh_locale):  # noqa: F811
    """audit (cfg given: the bureau's) judges a pack's workbook by that pack's own rule set, with
    only what the bureau's configuration states changed: no XT021 for the pack's own weights."""
    from xltool.form.scoring import ScoringConfig, load_scoring
    from xltool.form.selfeval import default_scoring

    result, report = check_path(filled(pack), cfg=ScoringConfig())  # the bureau states nothing
    assert result.cfg == default_scoring(pack)
    assert not [f for f in report.findings if f.code in ("XT020", "XT021")]
    rules = scratch("packs_bureau") / "tolerance.toml"
    rules.write_text("score_tolerance = 0.5\n", encoding="utf-8")
    result, report = check_path(filled(pack), cfg=load_scoring(rules))
    assert result.cfg.score_tolerance == 0.5 and result.cfg.weights == default_scoring(pack).weights
    # The workbook stores the pack's tolerance, not the bureau's: reported, and the bureau's judges.
    assert [f.code for f in report.findings if f.code == "XT021"] == ["XT021"]
