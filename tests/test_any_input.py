"""Issue 10: no command ends in a traceback, whatever a unit sends back.

The workbooks are the real template (blank, of another year, of another version) and the
filled example with every input emptied or set to something absurd, edited in the sheet XML
the way a spreadsheet program stores what was typed.
"""

from __future__ import annotations

import json
import math
import re
import traceback
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from helpers import (  # noqa: F401  (fixtures)
    EXAMPLE_YAML, edit_inputs, filled_path, form, has_cjk, rewrite_zip, scratch, template_path, zh_locale,
)
from xltool.cli import app


def run(*args: object):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), "".join(
        traceback.format_exception(*result.exc_info))
    assert "Traceback" not in result.output
    return result


ABSURD = ("1e308", "-1e308", "#DIV/0!", "=1/0", "NaN", "-0", "9" * 400, "２４５０．０２万元", "\u202e" + "x" * 40000,
          "<script>", "2023-02-30", "TRUE", "%", "0x1F", "1,2,3")


@pytest.fixture(scope="module")
def variants(template_path, filled_path, form) -> dict[str, Path]:  # noqa: F811
    folder = scratch("any-input")
    out = {"blank": template_path}
    for year in (2019, 2024):
        path = folder / f"template_{year}.xlsx"
        assert run("make-template", "--year", year, "-o", path).exit_code == 0
        out[f"year{year}"] = path
    # A template of another (newer, older) version: the identification sheet says so.
    for name, version in (("newer", "99.0"), ("older", "0.0.1")):
        def bump(data: bytes, version=version) -> bytes:
            return re.sub(rb"(<c r=\"B\d+\"[^>]*t=\"inlineStr\"><is><t[^>]*>)(\d+\.\d+(?:\.\d+)?)(</t>)",
                          lambda m: m.group(1) + version.encode() + m.group(3), data, count=1)
        out[name] = _edit_meta(template_path, folder / f"{name}.xlsx", bump)
    inputs = [f for f in form.inputs if not f.locked] if hasattr(form.inputs[0], "locked") else list(form.inputs)
    out["all_empty"] = edit_inputs(filled_path, folder / "all_empty.xlsx", form, {f.id: None for f in inputs})
    absurd: dict[str, object] = {}
    for i, f in enumerate(inputs):
        text = ABSURD[i % len(ABSURD)]
        absurd[f.id] = float(text) if f.numeric and _is_float(text) else text
    out["all_absurd"] = edit_inputs(filled_path, folder / "all_absurd.xlsx", form, absurd)
    huge = {f.id: (1e300 if i % 2 else -1e300) for i, f in enumerate(inputs) if f.numeric}
    out["all_huge"] = edit_inputs(filled_path, folder / "all_huge.xlsx", form, huge)
    return out


def _is_float(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _edit_meta(src: Path, dst: Path, edit) -> Path:
    from helpers import sheet_parts
    from xltool.template.meta import META_SHEET

    return rewrite_zip(src, dst, {sheet_parts(src)[META_SHEET]: edit})


@pytest.mark.parametrize("name", ["blank", "year2019", "year2024", "newer", "older", "all_empty", "all_absurd",
                                  "all_huge"])
def test_check_workbook_answers_every_variant(variants, name: str, zh_locale) -> None:  # noqa: F811
    path = variants[name]
    folder = scratch(f"any-input-{name}")
    result = run("check-workbook", path, "--xlsx", folder / "list.xlsx", "--annotate", folder / "annotated.xlsx")
    assert result.exit_code in (0, 1, 2), result.output
    assert has_cjk(result.output)
    if result.exit_code == 2:  # refused: one clear sentence, nothing written
        assert not (folder / "list.xlsx").exists()
    else:
        for written in ("list.xlsx", "annotated.xlsx"):
            if (folder / written).exists():
                openpyxl.load_workbook(folder / written).close()
        assert "{" not in result.output  # every message placeholder was filled
    data = json.loads(run("check-workbook", path, "--format", "json").output)
    assert data["workbooks"] or data["unreadable"]


def test_audit_of_a_folder_with_a_blank_template_an_unfilled_copy_and_an_empty_file(template_path,  # noqa: F811
                                                                                   zh_locale) -> None:  # noqa: F811
    inbox, out = scratch("any-input-inbox"), scratch("any-input-out")
    (inbox / "空白模板.xlsx").write_bytes(template_path.read_bytes())
    assert run("make-template", "--year", 2023, "--unit", "测试单位", "--unit-code", "T001",
               "-o", inbox / "未填写.xlsx").exit_code == 0
    (inbox / "空文件.xlsx").write_bytes(b"")
    result = run("audit", inbox, "--out", out)
    assert result.exit_code == 3, result.output  # 3: done, but a file could not be read (the empty one)
    summary = out / "审核汇总.xlsx"
    assert summary.is_file()
    wb = openpyxl.load_workbook(summary, read_only=True)
    listed = " ".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c)
    for name in ("空白模板.xlsx", "未填写.xlsx", "空文件.xlsx"):
        assert name in listed, name
    # Both templates were returned with nothing typed in: 未填写, not the template's every required entry.
    statuses = [row[6] for row in wb["汇总"].iter_rows(min_row=2, values_only=True) if row[0]]
    assert statuses == ["未填写", "未填写"], statuses
    assert "空白未填写2" in "".join(result.output.split())
    # No issue list for a blank template (nor a folder named *.xlsx for one).
    assert not (out / "units").exists() or not list((out / "units").rglob("*"))
    # A second run over the same outputs (stale clean-up included) ends the same way.
    assert run("audit", inbox, "--out", out).exit_code == result.exit_code


@pytest.mark.parametrize("name", ["blank", "year2024", "all_empty", "all_absurd"])
def test_fill_answers_every_variant(variants, name: str, zh_locale) -> None:  # noqa: F811
    result = run("fill", variants[name], EXAMPLE_YAML, "-o", scratch(f"any-fill-{name}") / "out.xlsx")
    assert result.exit_code in (0, 1, 2)
    assert has_cjk(result.output)


@pytest.mark.parametrize("name", ["blank", "year2019", "year2024", "newer", "older", "all_empty", "all_absurd",
                                  "all_huge"])
def test_the_addin_answers_every_variant(variants, name: str, zh_locale) -> None:  # noqa: F811
    """检查本表 on each variant, as xlwings Server's own client sends it and runs the answer."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from test_addin_xlwings_client import RealClient, real_payload
    from xltool.addin.server import create_app

    wb = openpyxl.load_workbook(variants[name])
    payload = real_payload(wb, variants[name].name)
    response = TestClient(create_app()).post("/xlwings/custom-scripts-call/check_workbook", json=payload)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:  # refused with a Chinese sentence the client shows
        assert has_cjk(response.json()["detail"])
        return
    data = response.json()
    real = RealClient([s["name"] for s in payload["sheets"]]).run(data["actions"])
    assert real.error is None and real.done == len(data["actions"])
    assert real.alerts and has_cjk(real.alerts[-1][0])
