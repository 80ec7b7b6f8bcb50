"""Form packs are hostile input too (issue 22): a pack in the bureau's folder or named on the
command line never raises, never runs for minutes, never writes a formula, and one bad pack
never stops the others (the CLI, the web desk and the units' self-check).

Each test here failed on the code before issue 22 (a RecursionError, minutes of layout, or a
live formula); pack bounds are stated in docs/forms.md and xltool/form/bounds.py.
"""

from __future__ import annotations

import re
import zipfile

import pytest
from typer.testing import CliRunner

from helpers import ROOT, zh_locale  # noqa: F401 - autouse: Chinese messages
from xltool.cli import app

PACKS_DIR = ROOT / "xltool" / "form" / "packs"
CJK = re.compile(r"[\u4e00-\u9fff]")


def example_text() -> str:
    """The default pack written out in full (wherever this version keeps it)."""
    return next(p.read_text(encoding="utf-8") for p in sorted(PACKS_DIR.rglob("*.toml"))
                if re.search(r'^id = "example"$', p.read_text(encoding="utf-8"), re.M))


def pack(pack_id: str, *, old: str = "", new: str = "", extra: str = "") -> str:
    text = example_text().replace('id = "example"', f'id = "{pack_id}"', 1)
    if old:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text + extra


def run(*args: object):
    result = CliRunner().invoke(app, [str(a) for a in args])
    # Never a traceback: an exception other than the exit itself fails the test.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


def flat(text: str) -> str:
    return "".join(text.split())


SUM = 'formula = "fin_basic + fin_proj"'
DEEP = 'formula = "' + "(" * 500 + "fin_basic" + ")" * 500 + ' + fin_proj"'


@pytest.fixture()
def hostile_dir(monkeypatch, tmp_path):
    """The bureau's folder holding a pack whose formula is nested 500 brackets deep."""
    folder = tmp_path / "forms"
    folder.mkdir()
    (folder / "hostile.toml").write_text(pack("hostile-2024", old=SUM, new=DEEP), encoding="utf-8")
    monkeypatch.setenv("XLTOOL_FORMS_DIR", str(folder))
    return folder


def test_forms_reports_the_bad_pack_and_lists_every_other(hostile_dir):
    listed = run("forms")
    assert listed.exit_code == 0
    assert all(p in listed.stdout for p in ("example", "central-2020", "province-cost", "project"))
    assert "hostile-2024" not in listed.stdout
    said = flat(listed.output)
    assert "hostile.toml" in said and "不是有效的表单包" in said and re.search("公式(过长|嵌套过深)", said)


def test_forms_check_of_a_deep_formula_answers_in_chinese(hostile_dir, tmp_path):
    checked = run("forms", "check", hostile_dir / "hostile.toml")
    assert checked.exit_code == 2 and re.search("公式(过长|嵌套过深)", flat(checked.output))
    # Nested 200 deep, short enough for the length bound: refused for its depth.
    deep = tmp_path / "deep200.toml"
    deep.write_text(pack("deep-2024", old=SUM, new='formula = "' + "(" * 200 + "fin_basic" + ")" * 200 + ' + fin_proj"'),
                    encoding="utf-8")
    checked = run("forms", "check", deep)
    assert checked.exit_code == 2 and "公式嵌套过深" in flat(checked.output)


def test_templates_and_checks_of_other_packs_work_beside_a_bad_one(hostile_dir, tmp_path):
    out = tmp_path / "central.xlsx"
    made = run("make-template", "--form", "central-2020", "--year", 2023, "-o", out)
    assert made.exit_code == 0 and out.is_file()
    filled = tmp_path / "central_filled.xlsx"
    assert run("fill", out, ROOT / "examples" / "forms" / "central-2020.yaml", "-o", filled).exit_code == 0
    checked = run("check-workbook", filled)
    assert checked.exit_code == 0, checked.output  # the corrected example: no must-fix
    refused = run("make-template", "--form", "hostile-2024", "--year", 2023, "-o", tmp_path / "h.xlsx")
    assert refused.exit_code == 2 and CJK.search(refused.output) and not (tmp_path / "h.xlsx").exists()


def test_the_desk_and_a_units_self_check_work_beside_a_bad_pack(hostile_dir, tmp_path):
    from test_web_api import HTML, login, make_client

    project = tmp_path / "project.xlsx"
    assert run("make-template", "--form", "project", "--year", 2023, "-o", project).exit_code == 0
    filled = tmp_path / "project_filled.xlsx"
    assert run("fill", project, ROOT / "examples" / "forms" / "project.yaml", "-o", filled).exit_code == 0
    client = make_client(tmp_path)
    checked = client.post("/api/selfcheck", files={"file": ("项目.xlsx", filled.read_bytes())})
    assert checked.status_code == 200 and checked.json()["readable"], checked.text
    login(client)
    desk = client.get("/desk", headers=HTML)
    assert desk.status_code == 200
    assert '<option value="central-2020">' in desk.text and "hostile-2024" not in desk.text


def test_a_pack_of_thousands_of_long_lists_is_refused_before_any_row_is_laid_out(tmp_path, monkeypatch):
    import xltool.form.layout as layout

    def no_layout(*args, **kwargs):
        raise AssertionError("a row was laid out")

    monkeypatch.setattr(layout, "_place_row", no_layout)
    rows = "".join(f'[[sheet.row]]\nlist = "l{n}"\ncount = 200\nA = {{ id = "l{n}_{{i}}_x", label = "x", kind = "amount" }}\n'
                   for n in range(6000))
    big = tmp_path / "big.toml"
    big.write_text(pack("big-2024", extra='\n[[sheet]]\nkey = "big"\ntitle = "大表"\n' + rows), encoding="utf-8")
    checked = run("forms", "check", big)
    assert checked.exit_code == 2 and "过多" in flat(checked.output)


def test_text_from_a_pack_is_never_a_formula(tmp_path):
    """A label, a note and a choice starting with = + - @ are written as text cells."""
    hostile = pack(
        "texts-2024",
        old='A = { text = "7. 填写完成后保存为 .xlsx 文件报送财政局。", style = "note", to = "C" }',
        new='A = { text = "=HYPERLINK(\\"http://x.example\\",\\"点此\\")", style = "note", to = "C" }',
    ).replace('A = "预算执行率分值"', 'A = "=1+1"', 1)
    # A choice list too long to stay inline is written into the hidden lists sheet.
    many = ", ".join(f'"选项第{n}项的较长说明文字"' for n in range(30))
    hostile = hostile.replace('yes_no = ["是", "否"]', f'yes_no = ["是", "否", "=2+2", {many}]', 1)
    source = tmp_path / "texts.toml"
    source.write_text(hostile, encoding="utf-8")
    out = tmp_path / "texts.xlsx"
    assert run("make-template", "--form", source, "--year", 2023, "-o", out).exit_code == 0
    with zipfile.ZipFile(out) as zf:
        sheets = [zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
    formulas = b"".join(f for s in sheets for f in re.findall(rb"<f>[^<]*</f>", s))
    for text in (b"HYPERLINK", b"1+1", b"2+2"):
        assert text not in formulas
    import openpyxl

    wb = openpyxl.load_workbook(out)
    seen = {c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert '=HYPERLINK("http://x.example","点此")' in seen and "=1+1" in seen and "=2+2" in seen


def test_toml_nested_thousands_deep_is_refused_in_chinese(tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_text(pack("deep-2024") + "\n[extra]\nx = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    checked = run("forms", "check", deep)
    assert checked.exit_code == 2 and "嵌套过深" in flat(checked.output)


def test_a_formula_of_thousands_of_operators_is_refused_in_chinese(tmp_path):
    long = tmp_path / "long.toml"
    long.write_text(pack("long-2024", old=SUM, new='formula = "fin_basic' + " - fin_proj" * 3000 + '"'),
                    encoding="utf-8")
    checked = run("forms", "check", long)
    assert checked.exit_code == 2 and "公式过长" in flat(checked.output)


def test_a_chain_of_two_thousand_derived_fields_is_laid_out_without_recursion(tmp_path):
    """Each derived field reads the one declared after it: valid, and ordered without recursing
    once per link (the first field's order needs all 2,000 after it)."""
    sheets = []
    n = 0
    for s in range(4):
        rows = []
        for _r in range(500):
            formula = "1" if n == 1999 else f"chain_{n + 1} + 1"
            rows.append(f'[[sheet.row]]\nA = {{ id = "chain_{n}", label = "链{n}", kind = "number", formula = "{formula}" }}\n')
            n += 1
        sheets.append(f'\n[[sheet]]\nkey = "chain{s}"\ntitle = "链{s}"\n' + "".join(rows))
    chain = tmp_path / "chain.toml"
    chain.write_text(pack("chain-2024", extra="".join(sheets)), encoding="utf-8")
    checked = run("forms", "check", chain)
    assert checked.exit_code == 0, checked.output


def test_a_text_longer_than_a_cell_holds_is_refused(tmp_path):
    """Excel holds 32,767 characters in a cell; a pack's text is bounded far below that."""
    wide = tmp_path / "wide.toml"
    wide.write_text(pack("wide-2024", old='A = "预算执行率分值"', new='A = "' + "长" * 40_000 + '"'), encoding="utf-8")
    checked = run("forms", "check", wide)
    assert checked.exit_code == 2 and "文字过长" in flat(checked.output)
