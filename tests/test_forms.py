"""Form packs: the default pack reproduces the Python-declared form; bad packs are refused
with Chinese messages naming the place and line; every shipped pack lays out and checks."""

from __future__ import annotations

import json

import pytest

from form_snapshot import CASES, load, picture
from xltool.check.instances import build_checks
from xltool.form.scoring import ScoringConfig, validate_scoring
from xltool.form.selfeval import build_form


def _normalise(pic: dict) -> dict:
    """A text merged by its own ``merge_to`` and one merged through the sheet's merge list
    are the same merged cell; compare merged ranges as one set."""
    for sheet in pic["sheets"]:
        merges = set(sheet["merges"])
        texts = []
        for text in sheet["texts"]:
            if text["merge_to"]:
                merges.add(f"{text['cell']}:{text['merge_to']}")
            texts.append({**text, "merge_to": None})
        sheet["texts"] = sorted(texts, key=lambda t: json.dumps(t, ensure_ascii=False, sort_keys=True))
        sheet["merges"] = sorted(merges)
    return pic


@pytest.mark.parametrize("case", range(len(CASES)), ids=[f"{y}-{'cfg' if c else 'default'}" for y, c in CASES])
def test_default_pack_equals_the_python_declared_form(case):
    year, cfg = CASES[case]
    config = validate_scoring(cfg) if cfg else ScoringConfig()
    old = _normalise(load()[case])
    new = _normalise(json.loads(json.dumps(picture(build_form(year, config), build_checks(year, config)))))
    assert new["fields"].keys() == old["fields"].keys()
    for fid, data in old["fields"].items():
        assert new["fields"][fid] == data, fid  # label, sheet, cell, kind, role, unit, formula, defined name …
    assert new["sheets"] == old["sheets"]
    assert new["concepts"] == old["concepts"]  # same figures, in the same order (XT301 pairs)
    assert {k: new[k] for k in ("template_id", "version", "year", "scoring_json")} == \
        {k: old[k] for k in ("template_id", "version", "year", "scoring_json")}
    assert new["checks"] == old["checks"]  # every rule instance: key, both sides, tolerance, labels


# -- bad packs are refused, naming the place and the line -------------------------------------

from pathlib import Path  # noqa: E402

from typer.testing import CliRunner  # noqa: E402

from helpers import scratch, zh_locale  # noqa: E402,F401
from xltool.cli import app  # noqa: E402
from xltool.form.declared import parse  # noqa: E402
from xltool.form.pack import PackError  # noqa: E402
from xltool.form.registry import shipped_path, shipped_refs  # noqa: E402

DEFAULT_PACK = shipped_path("example@1.0").read_text(encoding="utf-8")


def _refused(text: str) -> list:
    with pytest.raises(PackError) as err:
        parse(text, "bad.toml")
    return err.value.problems


def _line(text: str, no: int) -> str:
    return text.splitlines()[no - 1]


BROKEN = {
    # (what is changed, the replacement, what the message must say, what the named line holds)
    "unknown concept": ('concept = "public_cost" }', 'concept = "public_costs" }', "未知的口径 concept public_costs",
                        'id = "fin_public_cost"'),
    "formula naming a missing field": ('formula = "fin_basic + fin_proj"', 'formula = "fin_basic + fin_projects"',
                                       "引用了 fin_projects，本表单包没有这个字段", 'id = "fin_exp"'),
    "duplicate id": ('id = "info_unit_code"', 'id = "info_unit_name"', "字段编号 info_unit_name 重复声明",
                     'id = "info_unit_name", kind = "text", bureau_fill'),
    "unknown kind": ('id = "fin_income", kind = "amount"', 'id = "fin_income", kind = "amout"', "不是允许的取值",
                     'id = "fin_income"'),
    "list pattern matching nothing": ('sum(proj_*_actual)', 'sum(proj_*_spent)', "通配 proj_*_spent 没有匹配到",
                                      'id = "proj_total_actual"'),
    "overlapping cells": ('G = { id = "eval_exp_basic"', 'F = { id = "eval_exp_basic"', "已被",
                          'F = { id = "eval_exp_basic"'),
    "unknown placeholder": ('label = "项目第{i}行 项目名称"', 'label = "项目第{n}行 项目名称"', "未知的占位符 {n}",
                            'label = "项目第{n}行 项目名称"'),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_pack_is_refused_with_the_place_and_line(case, zh_locale):  # noqa: F811
    old, new, says, line_holds = BROKEN[case]
    assert DEFAULT_PACK.count(old) == 1, old
    text = DEFAULT_PACK.replace(old, new)
    problems = _refused(text)
    assert len(problems) >= 1
    problem = next((p for p in problems if says in p.message), None)
    assert problem is not None, [str(p) for p in problems]
    assert problem.line is not None and line_holds in _line(text, problem.line), (problem, _line(text, problem.line))
    assert "工作表" in problem.place or "[[sheet]]" in problem.place
    assert f"第 {problem.line} 行" in str(problem)


def test_cyclic_formulas_and_bad_syntax_are_refused(zh_locale):  # noqa: F811
    cyclic = DEFAULT_PACK.replace('formula = "fin_staff_cost + fin_public_cost"', 'formula = "fin_staff_cost + fin_exp"')
    assert any("循环引用" in p.message for p in _refused(cyclic))
    syntax = DEFAULT_PACK.replace('formula = "base_staff_active / base_staff_quota"',
                                  'formula = "base_staff_active / (base_staff_quota"')
    assert any("此处应为 )" in p.message for p in _refused(syntax))
    assert any("不是有效的 TOML" in p.message and p.line == 3 for p in _refused('[pack]\nid = "x"\n[[sheet]\n'))


def test_the_layout_counts_rows(zh_locale):  # noqa: F811
    """One more project row moves everything below it down by one, formulas included."""
    text = DEFAULT_PACK.replace('list = "fin_proj"\ncount = 20', 'list = "fin_proj"\ncount = 21')
    form = parse(text).trial
    assert form.field("fin_proj_21_amount").cell == "B33"
    assert form.field("fin_exp_all").cell == "B38"
    assert form.field("fin_proj").formula.refs()[-1] == "fin_proj_21_amount"
    assert form.lists["fin_proj"] == 21


# -- the command line -----------------------------------------------------------------------

def _run(*args: object):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


def test_forms_lists_and_checks_packs(zh_locale):  # noqa: F811
    listed = _run("forms")
    assert listed.exit_code == 0 and "example" in listed.stdout
    ok = _run("forms", "check", shipped_path())
    assert ok.exit_code == 0 and "有效" in ok.stdout
    bad = scratch("forms") / "bad.toml"
    bad.write_text(DEFAULT_PACK.replace('concept = "public_cost" }', 'concept = "public_costs" }'), encoding="utf-8")
    refused = _run("forms", "check", bad)
    assert refused.exit_code == 2
    flat = "".join(refused.output.split())  # rich wraps long lines
    assert "未知的口径conceptpublic_costs" in flat and "第197行" in flat


def test_a_pack_lacking_a_field_the_rules_read_is_refused(zh_locale):  # noqa: F811
    bad = scratch("forms") / "norules.toml"
    bad.write_text(DEFAULT_PACK.replace('"eval_exec_score"', '"eval_exec_points"').replace(
        "sum(eval_exec_score, eval_*_score)", "sum(eval_exec_points, eval_*_score)"), encoding="utf-8")
    refused = _run("forms", "check", bad)
    assert refused.exit_code == 2 and "审核规则需要字段eval_exec_score" in "".join(refused.output.split())


# -- the workbook names its pack by id; the reader looks the id up ------------------------------

import openpyxl  # noqa: E402

from helpers import template_path  # noqa: E402,F401
from xltool.read.book import from_xml  # noqa: E402
from xltool.read.reader import NotOurWorkbook, identify, read_book  # noqa: E402
from xltool.template.meta import META_SHEET  # noqa: E402


def _meta_rows(path: Path) -> dict:
    wb = openpyxl.load_workbook(path)
    ws = wb[META_SHEET]
    return {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(1, ws.max_row + 1)}


def _with_form(template: Path, value: str, name: str) -> Path:
    wb = openpyxl.load_workbook(template)
    ws = wb[META_SHEET]
    for r in range(1, ws.max_row + 1):
        if ws.cell(r, 1).value == "form":
            ws.cell(r, 2).value = value
    out = scratch("forms") / name
    wb.save(out)
    return out


def test_the_template_states_its_pack_and_the_reader_refuses_unknown_ones(template_path, zh_locale):  # noqa: F811
    rows = _meta_rows(template_path)
    assert rows["form"] == "example" and rows["form_version"] == "1.0"
    assert read_book(from_xml(template_path)).form.pack_id == "example"
    for value in ("hunan-2031", "../../etc/passwd", str(shipped_path())):
        path = _with_form(template_path, value, "other_form.xlsx")
        with pytest.raises(NotOurWorkbook) as err:
            identify(from_xml(path))
        assert "本机没有登记表单包" in str(err.value) and "XLTOOL_FORMS_DIR" in str(err.value)
        result = _run("check-workbook", path)
        assert result.exit_code == 2 and "本机没有登记表单包" in "".join(result.output.split())


# -- docs/forms.md: the worked example is exactly what it says --------------------------------

import re  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs" / "forms.md"


def test_the_worked_example_of_docs_forms_md(zh_locale):  # noqa: F811
    text = DOCS.read_text(encoding="utf-8")
    pairs = re.findall(r"修改前：\s*```toml\n(.*?)```\s*修改后：\s*```toml\n(.*?)```", text, re.S)
    assert len(pairs) == 2
    pack = DEFAULT_PACK.replace('id = "example"', 'id = "county-2024"')
    for before, after in pairs:
        assert pack.count(before) == 1, before
        pack = pack.replace(before, after)
    form = parse(pack, "county.toml").trial
    default = build_form(2023)
    assert form.pack_id == "county-2024"
    assert form.lists["base_zx"] == 5 and default.lists["base_zx"] == 10
    assert form.field("base_public_final").row == default.field("base_public_final").row - 5
    assert form.field("base_proj_final").formula.refs()[-1] == "base_zx_5_final"
    texts = {t.text for s in form.sheets for t in s.texts}
    assert {"产出指标（35分）", "满意度指标（15分）"} <= texts
    assert "3、县级专项资金（一个专项一行，在下方填写专项名称）" in texts
    cfg = parse(pack).scoring
    assert (cfg.weights.output, cfg.weights.satisfaction) == (35, 15)
    # The rules follow: five 专项 rows are checked, and the 产出 weights must add up to 35.
    from xltool.check.instances import _checks_for_form

    keys = {c.key for c in _checks_for_form(form, cfg)}
    assert "XT105:base_zx:5" in keys and "XT105:base_zx:6" not in keys
    # The same two changes written as an extension of example@1.0 lay out cell for cell alike.
    from pack_layouts import picture
    from xltool.form.registry import get_pack

    (extension,) = re.findall(r"整个文件只有这些（`county.toml`）：\s*```toml\n(.*?)```", text, re.S)
    extended = parse(extension, "county.toml", base=lambda ref: get_pack(ref, session=False))
    assert extended.extends == "example@1.0" and extended.scoring == cfg
    assert picture(extended.trial) == picture(form)
    # A new version, as docs/forms.md shows for the project pack's indicator rows.
    (version,) = re.findall(r"`xltool/form/packs/project/1.2.toml`：\s*```toml\n(.*?)```", text, re.S)
    newer = parse(version, "1.2.toml", base=lambda ref: get_pack(ref, session=False))
    assert newer.ref == "project@1.2" and newer.trial.indicator_rows == 8
    assert build_form(2023, None, "project@1.0").indicator_rows == 3  # the shipped version stays as it is


def test_a_bureau_pack_registered_by_folder_makes_and_reads_templates(monkeypatch, zh_locale):  # noqa: F811
    folder = scratch("bureau_packs")
    pack = DEFAULT_PACK.replace('id = "example"', 'id = "county-2024"').replace(
        'list = "base_zx"\ncount = 10', 'list = "base_zx"\ncount = 5')
    source = scratch("bureau_src") / "county.toml"
    source.write_text(pack, encoding="utf-8")
    out = scratch("bureau_out")
    # Not registered yet: the template is made from the file, with a note that reading needs registration.
    monkeypatch.delenv("XLTOOL_FORMS_DIR", raising=False)
    made = _run("make-template", "--form", source, "--year", 2023, "-o", out / "county.xlsx")
    assert made.exit_code == 0 and "XLTOOL_FORMS_DIR" in made.output
    refused = _run("check-workbook", out / "county.xlsx")
    assert refused.exit_code == 2 and "county-2024" in refused.output.replace("\n", "")  # rich may fold a long line
    # Registered: listed, and the workbook is read with its own pack.
    (folder / "county.toml").write_text(pack, encoding="utf-8")
    monkeypatch.setenv("XLTOOL_FORMS_DIR", str(folder))
    assert "county-2024" in _run("forms").stdout
    result = read_book(from_xml(out / "county.xlsx"))
    assert result.form.pack_id == "county-2024" and result.form.lists["base_zx"] == 5
    assert _run("make-template", "--form", "county-2024", "--year", 2024, "-o", out / "county24.xlsx").exit_code == 0
    assert read_book(from_xml(out / "county24.xlsx")).form.year == 2024
    # A pack file may not take a registered pack's id.
    clash = scratch("bureau_src") / "clash.toml"
    clash.write_text(pack.replace('id = "county-2024"', 'id = "central-2020"'), encoding="utf-8")
    taken = _run("make-template", "--form", clash, "--year", 2023, "-o", out / "clash.xlsx")
    assert taken.exit_code == 2 and "已被" in taken.output and not (out / "clash.xlsx").exists()


def test_the_default_pack_states_the_default_scoring():
    """The default form's [scoring] is scoring_default.toml's rule set, so either can be read."""
    from xltool.form.registry import get_pack
    from xltool.form.scoring import DEFAULT_FILE, load_scoring

    assert get_pack().scoring == ScoringConfig() == load_scoring(DEFAULT_FILE)


@pytest.mark.parametrize("ref", shipped_refs())
def test_every_shipped_pack_passes_forms_check(ref):
    """Shipped packs are not laid out on loading (xltool starts faster); this is their check.
    A shipped file's place (<id>/<version>.toml) is what it declares."""
    from xltool.check.packs import validate_file


    path = shipped_path(ref)
    pack, form = validate_file(path)
    assert pack.ref == ref == f"{path.parent.name}@{path.stem}" and form.fields and form.pack_ref == ref


def test_forms_lists_a_broken_bureau_pack_as_ignored(monkeypatch, zh_locale):  # noqa: F811
    folder = scratch("bureau_broken")
    (folder / "broken.toml").write_text(DEFAULT_PACK.replace('id = "example"', 'id = "broken-2024"').replace(
        'formula = "fin_basic + fin_proj"', 'formula = "fin_basic + fin_projects"'), encoding="utf-8")
    monkeypatch.setenv("XLTOOL_FORMS_DIR", str(folder))
    listed = _run("forms")
    assert listed.exit_code == 0
    flat = "".join(listed.output.split())
    assert "不是有效的表单包，已忽略" in flat and "fin_projects" in flat
    assert "broken-2024" not in listed.stdout
    # Left out everywhere a pack is offered or chosen; every other pack keeps working.
    from xltool.form.pack import PackError
    from xltool.form.registry import get_pack
    from xltool.web.pages import form_choices

    assert "broken-2024" not in dict(form_choices()) and "central-2020" in dict(form_choices())
    with pytest.raises(PackError):
        get_pack("broken-2024")
