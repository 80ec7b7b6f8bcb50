"""The command line, in-process (Typer's CliRunner): check-workbook's exit codes, JSON, 问题清单
and annotated copy; the corpus of foreign workbooks; fill's refusals."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from extra_cases import extra_corpus
from helpers import (  # noqa: F401  (fixtures)
    chinese_beyond, corrected_path, example_report, filled_path, form, has_cjk, scratch, template_path, zh_locale,
)
from odd_files import CORPUS, corpus_dir
from xltool.cli import app
from xltool.report.model import CheckOutput, json_schema


def run(*args: object):
    result = CliRunner().invoke(app, [str(a) for a in args])
    # Typer ends every command with SystemExit; anything else is an unhandled error.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.output
    return result


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# -- exit codes ---------------------------------------------------------------------------

def test_exit_codes(filled_path, corrected_path) -> None:
    bad = scratch("cli") / "notes.xlsx"
    bad.write_text("这不是工作簿", encoding="utf-8")
    assert run("check-workbook", corrected_path).exit_code == 0
    assert run("check-workbook", filled_path).exit_code == 1
    assert run("check-workbook", bad).exit_code == 2
    assert run("check-workbook", scratch("cli") / "missing.xlsx").exit_code == 2
    # Some inputs checked, some unreadable: 3, whatever the others found; none readable: 2.
    assert run("check-workbook", corrected_path, bad).exit_code == 3
    assert run("check-workbook", filled_path, bad).exit_code == 3
    assert run("check-workbook", bad, bad.with_name("missing.xlsx")).exit_code == 2
    assert run("check-workbook").exit_code == 2  # usage: no file
    assert run("check-workbook", corrected_path, "--no-such-option").exit_code == 2
    assert run("check-workbook", corrected_path, "--rules-config", scratch("cli") / "none.toml").exit_code == 2


def test_clean_table_output(corrected_path) -> None:
    result = run("check-workbook", corrected_path)
    assert result.exit_code == 0
    assert "株洲市芦淞区机关事务服务中心" in result.stdout


# -- JSON -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def json_output(filled_path):
    result = run("check-workbook", filled_path, "--format", "json")
    assert result.exit_code == 1
    return result.stdout


def test_json_validates_against_the_schema(json_output) -> None:
    output = CheckOutput.from_json(json_output)
    assert len(output.workbooks) == 1 and not output.unreadable
    _result, report = example_report()
    assert [(f.code, f.instance) for f in output.workbooks[0].findings] == [(f.code, f.instance) for f in report.findings]
    schema = json.loads(run("schema").stdout)
    assert schema == json_schema()
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(json.loads(json_output), schema)
    broken = json.loads(json_output)
    broken["workbooks"][0]["findings"][0]["severity"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_json_for_unreadable_input() -> None:
    bad = scratch("cli") / "plain.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    result = run("check-workbook", bad, "--format", "json")
    assert result.exit_code == 2
    output = CheckOutput.from_json(result.stdout)
    assert [u.path for u in output.unreadable] == [str(bad)] and has_cjk(output.unreadable[0].message)


# -- 问题清单 and the annotated copy -----------------------------------------------------

def test_issue_list_has_one_row_per_finding(filled_path) -> None:
    out = scratch("cli") / "问题清单.xlsx"
    result = run("check-workbook", filled_path, "--xlsx", out)
    assert result.exit_code == 1 and out.exists()
    _result, report = example_report()
    ws = openpyxl.load_workbook(out).active
    header = next(r for r in range(1, 20) if ws.cell(row=r, column=1).value == "序号")
    heads = [ws.cell(row=header, column=c).value for c in range(1, 10)]
    assert {"规则", "级别", "单元格", "问题"} <= set(heads)
    col = {h: i + 1 for i, h in enumerate(heads)}
    rows = []
    r = header + 1
    while ws.cell(row=r, column=1).value is not None:
        rows.append([ws.cell(row=r, column=c).value for c in range(1, 10)])
        r += 1
    assert len(rows) == len(report.findings)
    for row, f in zip(rows, report.findings):
        assert row[col["规则"] - 1] == f.code and row[col["问题"] - 1] == f.message
        first = f.cells[0]
        assert f"{first.sheet}!{first.cell}" in row[col["单元格"] - 1]


def test_annotated_copy_leaves_the_original_untouched(filled_path) -> None:
    out = scratch("cli") / "标注.xlsx"
    before = sha256(filled_path)
    result = run("check-workbook", filled_path, "--annotate", out)
    assert result.exit_code == 1 and out.exists()
    assert sha256(filled_path) == before
    _result, report = example_report()
    wb = openpyxl.load_workbook(out)
    original = openpyxl.load_workbook(filled_path)
    flagged = 0
    for f in report.findings:
        for c in f.cells:
            cell = wb[c.sheet][c.cell]
            if type(cell).__name__ == "MergedCell":
                continue
            assert cell.comment is not None and f.code in cell.comment.text, (f.code, c.sheet, c.cell)
            assert cell.fill.fgColor.rgb != original[c.sheet][c.cell].fill.fgColor.rgb, (c.sheet, c.cell)
            flagged += 1
    assert flagged >= 20
    assert all(ws.protection.sheet for ws in wb.worksheets), "the annotated copy stays protected"
    # An error outweighs a note on a shared cell: 附件3!E5 carries a 必须修改 finding.
    assert wb["附件3"]["E5"].fill.fgColor.rgb.endswith("FFC7CE")


@pytest.mark.parametrize("option", ["--annotate", "--xlsx"])
def test_outputs_never_overwrite_an_input(filled_path, option: str) -> None:
    """The returned workbook is evidence: an output path naming it is a usage error (exit 2)."""
    copy = scratch(f"self{option}") / "returned.xlsx"
    copy.write_bytes(filled_path.read_bytes())
    before = sha256(copy)
    result = CliRunner().invoke(app, ["check-workbook", str(copy), option, str(copy)])
    assert sha256(copy) == before, f"{option} overwrote the workbook being checked"
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        f"traceback: {result.exception!r}"
    assert result.exit_code == 2
    assert has_cjk(result.stderr)


# -- the corpus of foreign workbooks ----------------------------------------------------

def _own_corpus() -> list[Path]:
    folder = corpus_dir(scratch("odd-files"))
    return sorted(folder / name for name in CORPUS)


CORPORA = [pytest.param(_own_corpus, id="own"),
           pytest.param(extra_corpus, id="extra", marks=[pytest.mark.extra, pytest.mark.skipif(
               not extra_corpus(), reason="no foreign corpus beside the checkout")])]


@pytest.mark.parametrize("corpus", CORPORA)
def test_corpus_every_file_refused_cleanly_json(corpus) -> None:
    files = corpus()
    start = time.perf_counter()
    result = run("check-workbook", *files, "--format", "json")
    elapsed = time.perf_counter() - start
    assert result.exit_code == 2
    output = CheckOutput.from_json(result.stdout)
    assert output.workbooks == []
    assert sorted(u.path for u in output.unreadable) == sorted(str(f) for f in files)
    for u in output.unreadable:
        assert has_cjk(u.message) and "\n" not in u.message, (u.path, u.message)
        assert chinese_beyond(u.message, Path(u.path).name), (u.path, u.message)
        assert u.reason
    assert elapsed < 60, f"{len(files)} files took {elapsed:.1f} s"
    print(f"\ncorpus: {len(files)} files refused in {elapsed:.2f} s; reasons: "
          f"{sorted({u.reason for u in output.unreadable})}")


@pytest.mark.parametrize("corpus", CORPORA)
def test_corpus_table_mode_one_line_each(corpus) -> None:
    files = corpus()
    result = run("check-workbook", *files)
    assert result.exit_code == 2
    text = result.stderr
    for f in files:
        assert f"✗ {f}" in text.replace("\n", ""), f.name


# -- fill refuses bad data and writes nothing -------------------------------------------

FILL_CASES = {
    "unknown": ({"fin_budget_typo": 1}, "fin_budget_typo"),
    "wrong_type": ({"fin_budget": "abc"}, "fin_budget"),
    "computed": ({"fin_exp": 2450.02}, "fin_exp"),
    "config": ({"guide_w_output": 50}, "guide_w_output"),
}


@pytest.mark.parametrize("case", sorted(FILL_CASES))
def test_fill_errors(template_path, form, case: str) -> None:
    data, fid = FILL_CASES[case]
    folder = scratch(f"fill_{case}")
    src = folder / "data.json"
    src.write_text(json.dumps({"values": {"fin_income": 2450.02, **data}}, ensure_ascii=False), encoding="utf-8")
    out = folder / "out.xlsx"
    result = run("fill", template_path, src, "-o", out)
    assert result.exit_code == 2
    assert not out.exists() and not list(folder.glob(".*tmp")), "nothing may be written"
    line = next((ln for ln in result.stderr.splitlines() if fid in ln), None)
    assert line, f"no message names {fid}: {result.stderr}"
    label = form.by_id[fid].label if fid in form.by_id else ""
    assert chinese_beyond(line, fid, label, "abc"), f"message is not in Chinese: {line}"


def test_fill_lists_every_problem_at_once(template_path) -> None:
    folder = scratch("fill_all")
    src = folder / "data.yaml"
    src.write_text("fin_budget_typo: 1\nfin_budget: abc\nfin_exp: 3\n", encoding="utf-8")
    out = folder / "out.xlsx"
    result = run("fill", template_path, src, "-o", out)
    assert result.exit_code == 2 and not out.exists()
    for fid in ("fin_budget_typo", "fin_budget", "fin_exp"):
        assert fid in result.stderr


def test_make_template_prefill_error_writes_nothing() -> None:
    folder = scratch("prefill_bad")
    src = folder / "data.yaml"
    src.write_text("fin_exp: 1\n", encoding="utf-8")
    out = folder / "template.xlsx"
    result = run("make-template", "--year", 2023, "--prefill", src, "-o", out)
    assert result.exit_code == 2 and not out.exists()
    assert "fin_exp" in result.stderr


def test_fill_cannot_change_what_the_bureau_locked() -> None:
    folder = scratch("fill_bureau")
    template = folder / "unit.xlsx"
    assert run("make-template", "--year", 2023, "--unit", "株洲市芦淞区机关事务服务中心", "-o", template).exit_code == 0
    data = folder / "data.yaml"
    data.write_text("info_unit_name: 另一个单位\n", encoding="utf-8")
    out = folder / "out.xlsx"
    result = run("fill", template, data, "-o", out)
    assert result.exit_code == 2 and not out.exists()
    assert "info_unit_name" in result.stderr and "另一个单位" not in openpyxl.load_workbook(template)["基本情况"]["B3"].value
    data.write_text("info_unit_name: 株洲市芦淞区机关事务服务中心\nfin_budget: 1\n", encoding="utf-8")
    assert run("fill", template, data, "-o", out).exit_code == 0 and out.exists()
