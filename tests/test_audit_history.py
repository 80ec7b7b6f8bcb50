"""Rounds and years: fixed / new / still open between rounds, unchanged files not re-checked,
last year's figures compared (XT720) and prefilled into next year's templates."""

from __future__ import annotations

import json
import random
import sqlite3
import sys
from pathlib import Path

import openpyxl
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import generate  # noqa: E402

from xltool.audit.distribute import write_unit_templates  # noqa: E402
from xltool.audit.roster import load_roster  # noqa: E402
from xltool.audit.run import AuditOptions, run_audit  # noqa: E402
from xltool.audit.summary import summary_name  # noqa: E402


def _units(n: int, seed: int) -> list[generate.Unit]:
    return generate.make_units(n, random.Random(seed))


def _write(factory, folder: Path, unit, values, fault=None) -> Path:
    return factory.render(values, folder / f"{unit.code}.xlsx", unit=unit, fault=fault)


@pytest.fixture(scope="module")
def factory():
    return generate.shared_factory(2023)


def test_rounds_show_fixed_new_and_still_open(tmp_path, factory):
    rng = random.Random(11)
    units = _units(4, 11)
    folder, out = tmp_path / "in", tmp_path / "out"
    values = {u.code: generate.consistent_values(factory.form, u, rng) for u in units}
    # Round 1: unit 0 has two faults, unit 1 one, units 2 and 3 are clean.
    v0 = dict(values[units[0].code])
    score = generate._fault_exec_score(v0, rng).rule  # XT604 above the rule, XT616 below it
    generate._fault_required(v0, rng)
    _write(factory, folder, units[0], v0)
    v1 = dict(values[units[1].code])
    generate._fault_year(v1, rng)
    _write(factory, folder, units[1], v1)
    for u in units[2:]:
        _write(factory, folder, u, values[u.code])
    first = run_audit(AuditOptions(inputs=[folder], out=out, jobs=1))
    assert first.previous_run is None and first.checked == 4
    before = {u.code: {f.key for f in u.report.findings} for u in first.units}
    assert f"{score}:eval_exec_score" in before[units[0].code] and "XT103:info_preparer" in before[units[0].code]

    # Round 2: unit 0 fixes the score but not 填表人 and breaks 年度 instead; unit 1 is untouched.
    v0 = dict(values[units[0].code])
    generate._fault_required(v0, rng)
    generate._fault_year(v0, rng)
    _write(factory, folder, units[0], v0)
    second = run_audit(AuditOptions(inputs=[folder], out=out, jobs=1))
    assert second.previous_run == first.run_id
    assert second.checked == 1 and second.reused == 3, "unchanged files are not checked again"
    unit0 = next(u for u in second.units if u.code == units[0].code)
    assert {f["key"] for f in unit0.changes.fixed} == {f"{score}:eval_exec_score"}
    assert {f["key"] for f in unit0.changes.new} == {"XT705:year"}
    assert "XT103:info_preparer" in {f["key"] for f in unit0.changes.still}
    unit1 = next(u for u in second.units if u.code == units[1].code)
    assert unit1.changes.fixed == [] and unit1.changes.new == [] and {f["key"] for f in unit1.changes.still} == before[units[1].code]
    fixed, new, _still = second.changes_total
    assert (fixed, new) == (1, 1)

    ws = openpyxl.load_workbook(out / summary_name())["变化"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert [units[0].name, units[0].code, "已改正", score, f"{score}:eval_exec_score"] in [r[:5] for r in rows]
    assert [units[0].name, units[0].code, "新出现", "XT705", "XT705:year"] in [r[:5] for r in rows]
    summary = openpyxl.load_workbook(out / summary_name())["汇总"]
    line = summary.cell(row=summary.max_row, column=2).value
    assert "与上一轮相比：已改正 1，新出现 1" in line

    db = sqlite3.connect(out / "history.sqlite")
    subs = db.execute("SELECT run_id, source, sha256, status, findings, template_version FROM submissions").fetchall()
    assert len(subs) == 8 and {r[0] for r in subs} == {first.run_id, second.run_id}
    assert all(r[5] == "1.0" and json.loads(r[4]) is not None for r in subs)
    assert db.execute("SELECT count(*) FROM runs WHERE finished IS NOT NULL").fetchone()[0] == 2
    # The old outputs of a unit that now passes are gone; the fixed unit's are rewritten.
    assert not (out / "units" / units[2].code).exists()
    assert (out / "units" / units[0].code / "问题清单.xlsx").is_file()


def test_cross_year_and_templates_prefilled_from_last_year(tmp_path, factory):
    rng = random.Random(21)
    units = _units(3, 21)
    roster = generate.write_roster(tmp_path / "roster.csv", units)
    last_in, last_out = tmp_path / "2023", tmp_path / "audit2023"
    values_2023 = {}
    for u in units:
        values_2023[u.code] = generate.consistent_values(factory.form, u, rng)
        _write(factory, last_in, u, values_2023[u.code])
    run_audit(AuditOptions(inputs=[last_in], out=last_out, roster=roster, jobs=1))

    # Distribution for 2024: each unit's 2023 决算数 prefilled as 2024's 上年决算数.
    templates = write_unit_templates(2024, roster, tmp_path / "templates", previous=last_out, jobs=1)
    assert len(templates) == 3
    from xltool.read.reader import read_path

    for path, unit in zip(sorted(templates), sorted(units, key=lambda u: u.code)):
        result = read_path(path)
        v = result.values
        assert (v["info_unit_name"], v["info_unit_code"], v["info_email"]) == (unit.name, unit.code, unit.email)
        assert result.meta.unit_code == unit.code
        for key in ("car_buy", "car_run", "reception", "ops", "work", "public", "office"):
            assert v[f"base_{key}_prev"] == pytest.approx(values_2023[unit.code][f"base_{key}_final"]), key
        ws = openpyxl.load_workbook(path)["基本情况"]
        assert ws["B3"].protection.locked, "the unit name is locked"

    # 2024 workbooks: unit 0 restates its 2023 figures correctly, unit 1 changes one.
    factory_2024 = generate.shared_factory(2024)
    this_in = tmp_path / "2024"
    for i, u in enumerate(units[:2]):
        v = generate.consistent_values(factory_2024.form, u, rng)
        for f in factory_2024.form.fields:
            if f.id.startswith("base_") and f.id.endswith("_prev") and f.is_input:
                v[f.id] = values_2023[u.code].get(f.id[:-5] + "_final")
        if i == 1:
            v["base_car_run_prev"] = round(float(v["base_car_run_prev"]) + 1.0, 2)
            v["base_car_prev"] = round(float(v["base_car_buy_prev"]) + float(v["base_car_run_prev"]), 2)
        _write(factory_2024, this_in, u, v)
    outcome = run_audit(AuditOptions(inputs=[this_in], out=tmp_path / "audit2024", roster=roster, previous=last_out, jobs=1))
    by_code = {u.code: u for u in outcome.units}
    assert not [f for f in by_code[units[0].code].report.findings if f.code == "XT720"]
    xt720 = [f for f in by_code[units[1].code].report.findings if f.code == "XT720"]
    assert {f.instance for f in xt720} == {"base_car_run_prev", "base_car_prev"}
    assert all(f.severity.value == "error" and "2023" in f.message for f in xt720)
    assert by_code[units[1].code].status.value == "fix"
    assert "与上年核对：2 个单位" in outcome.cross_year
    issues = openpyxl.load_workbook(tmp_path / "audit2024" / "units" / units[1].code / "问题清单.xlsx").active
    assert "XT720" in [c.value for c in issues["B"]]


def test_rule_catalogue_lists_the_cross_year_rule():
    from xltool.check.catalogue import RULES

    rule = RULES["XT720"]
    assert rule.severity.value == "error" and not rule.live
    assert rule.title() == "上年决算数与上年报送数不一致"


def test_roster_formats_and_matching(tmp_path):
    rows = [("序号", "单位名称", "单位编码", "电子邮箱", "分管科室"), (1, "株洲市 芦淞区财政局", "430201", "a@example.com", "预算科"),
            (2, "芦淞区教育局", 430202.0, "b@example.com", None), (3, "", "", "", ""), (4, "芦淞区民政局", "430201", "", "")]
    wb = openpyxl.Workbook()
    wb.active.append(["2024年度报送单位名单"])
    for row in rows:
        wb.active.append(row)
    wb.save(tmp_path / "r.xlsx")
    roster = load_roster(tmp_path / "r.xlsx")
    assert [u.code for u in roster.units] == ["430201", "430202", "430201"]
    assert roster.problems and "430201" in roster.problems[0]
    assert roster.match("４３０２０２", None).name == "芦淞区教育局"  # full-width digits
    assert roster.match(None, "株洲市芦淞区财政局").code == "430201"  # spaces ignored
    assert roster.match("999", "不存在") is None
    assert roster.guess_from_filename("430202_教育局.xls").name == "芦淞区教育局"
    text = "单位名称,单位编码,电子邮箱\n芦淞区财政局,430201,a@example.com\n"
    for encoding in ("utf-8", "utf-8-sig", "gbk"):
        (tmp_path / f"r_{encoding}.csv").write_bytes(text.encode(encoding))
        assert load_roster(tmp_path / f"r_{encoding}.csv").units[0].name == "芦淞区财政局"
    (tmp_path / "bad.csv").write_text("名称,编码\nx,1\n", encoding="utf-8")
    from xltool.audit.roster import RosterError

    with pytest.raises(RosterError, match="单位名称"):
        load_roster(tmp_path / "bad.csv")
