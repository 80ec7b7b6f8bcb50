"""Text that people supply (fill data, make-template --unit/--unit-code/--email, a roster's
unit names) is written as a string cell, never as a formula, whatever it starts with."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from helpers import ROOT, YEAR, form, scratch, sheet_parts, template_path  # noqa: F401
from helpers import zh_locale  # noqa: F401 - autouse
from xltool.read.reader import read_path

LINK = '=HYPERLINK("http://evil.example/x","点此查看")'
CODE = "=1+1"
MAIL = '=CONCAT("a","@b.cn")'


def _cell_xml(path: Path, title: str, cell: str) -> str:
    with zipfile.ZipFile(path) as zf:
        xml = zf.read(sheet_parts(path)[title]).decode("utf-8")
    m = re.search(r'<c r="' + cell + r'"[^>]*?(?:/>|>.*?</c>)', xml, re.S)
    assert m, f"{cell} not written"
    return m[0]


def _assert_text(path: Path, form, fid: str, text: str) -> None:
    f = form.field(fid)
    title = form.sheet_title(f.sheet)
    xml = _cell_xml(path, title, f.cell)
    assert "<f>" not in xml and "<f " not in xml, xml
    assert 't="inlineStr"' in xml or 't="s"' in xml, xml
    cell = openpyxl.load_workbook(path)[title][f.cell]
    assert cell.data_type == "s" and cell.value == text
    result = read_path(path)
    assert result.values[fid] == text
    assert not [x for x in result.findings if x.code == "XT001"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xltool", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def test_make_template_writes_unit_text_as_strings(form) -> None:
    out = scratch("text_cells") / "unit.xlsx"
    done = _cli("make-template", "--year", str(YEAR), "--out", str(out), "--unit", LINK, "--unit-code", CODE,
                "--email", MAIL)
    assert done.returncode == 0, done.stderr
    _assert_text(out, form, "info_unit_name", LINK)
    _assert_text(out, form, "info_unit_code", CODE)
    _assert_text(out, form, "info_email", MAIL)


def test_fill_writes_formula_like_text_as_a_string(template_path, form) -> None:
    folder = scratch("text_cells")
    data = folder / "data.yaml"
    data.write_text(f"values:\n  info_unit_name: '{LINK}'\n  info_preparer: '=A1'\n", encoding="utf-8")
    out = folder / "filled.xlsx"
    done = _cli("fill", str(template_path), str(data), "--out", str(out))
    assert done.returncode == 0, done.stderr
    _assert_text(out, form, "info_unit_name", LINK)
    _assert_text(out, form, "info_preparer", "=A1")


def test_roster_names_are_written_as_strings(form) -> None:
    folder = scratch("text_cells_roster")
    roster = folder / "roster.csv"
    roster.write_text(f'单位名称,单位编码,电子邮箱\n"{LINK.replace(chr(34), chr(34) * 2)}",{CODE},a@b.cn\n',
                      encoding="utf-8")
    out = folder / "out"
    done = _cli("make-template", "--year", str(YEAR), "--out", str(out), "--roster", str(roster))
    assert done.returncode == 0, done.stderr
    (written,) = sorted(out.glob("*.xlsx"))
    _assert_text(written, form, "info_unit_name", LINK)
    _assert_text(written, form, "info_unit_code", CODE)


@pytest.mark.parametrize("text", ["=SUM(1,2)", "+1", "-1+2", "@A1"])
def test_put_keeps_any_text_a_string(text) -> None:
    from xltool.template.cellvalue import put

    wb = openpyxl.Workbook()
    put(wb.active["A1"], text)
    put(wb.active["A2"], 12.5)
    path = scratch("text_cells") / "put.xlsx"
    wb.save(path)
    cell = openpyxl.load_workbook(path).active["A1"]
    assert cell.data_type == "s" and cell.value == text
    assert openpyxl.load_workbook(path).active["A2"].value == 12.5
