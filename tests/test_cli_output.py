"""Each command says what it wrote and where, and its terminal output reads at 80 columns."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import COMMITTED_FILLED, ROOT
from rich.cells import cell_len
from typer.testing import CliRunner

from xltool.cli import app


def _run(args: list[str], cwd: Path, columns: int = 80) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": str(columns)}
    env.pop("XLTOOL_LANG", None)
    return subprocess.run([sys.executable, "-m", "xltool", *args], capture_output=True, text=True, cwd=cwd, env=env)


@pytest.mark.parametrize("columns", [80, 120, 160])  # the list below 120, the table from 120 on
def test_check_workbook_never_splits_a_number(tmp_path, columns):
    done = _run(["check-workbook", str(COMMITTED_FILLED)], tmp_path, columns=columns)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert max(cell_len(line) for line in lines) <= columns
    # Every figure of every message is whole on one line.
    from xltool.check.checker import check_path

    report = check_path(COMMITTED_FILLED)[1]
    numbers = {n for f in report.findings
               for n in re.findall(r"-?[\d,]+\.\d+%?", f.message + "".join(f.attribution) + f.fix)}
    assert "2,450.21" in numbers
    for number in numbers:
        assert any(number in line for line in lines), f"{number} split across lines"
    starts = [re.sub(r"^[\s│┃]*", "", cell) for line in lines for cell in line.split("│")]
    assert not any(cell[:1] in "）」，。" and cell for cell in starts), "a line starts with closing punctuation"


def test_check_workbook_says_where_it_wrote(tmp_path):
    done = _run(["check-workbook", str(COMMITTED_FILLED), "--xlsx", "清单.xlsx", "--annotate", "标注.xlsx"], tmp_path)
    assert done.returncode == 1
    assert f"问题清单已写入：{tmp_path / '清单.xlsx'}" in done.stdout.replace("\n", "")
    assert f"标注副本已写入：{tmp_path / '标注.xlsx'}" in done.stdout.replace("\n", "")
    # Several inputs and a folder: one file per input, each named.
    second = tmp_path / "second.xlsx"
    shutil.copy(COMMITTED_FILLED, second)
    done = _run(["check-workbook", str(COMMITTED_FILLED), str(second), "--xlsx", "清单"], tmp_path, columns=200)
    written = sorted(p.name for p in (tmp_path / "清单").iterdir())
    assert written == ["luosong_2023_filled_问题清单.xlsx", "second_问题清单.xlsx"]
    assert done.stdout.count("问题清单已写入") == 2


def test_rules_renders_markdown():
    result = CliRunner().invoke(app, ["rules", "XT301"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert "XT301" in result.output
    assert "**" not in result.output and not re.search(r"^#+ ", result.output, re.M)
    raw = CliRunner().invoke(app, ["rules", "XT301", "--format", "markdown"])
    assert re.search(r"^#+ ", raw.output, re.M), "--format markdown keeps the source"


def _audit(tmp_path: Path, roster_unit: str) -> subprocess.CompletedProcess:
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    shutil.copy(COMMITTED_FILLED, inbox / "a.xlsx")
    roster = tmp_path / "roster.csv"
    roster.write_text(f"单位名称,单位编码,电子邮箱\n{roster_unit},001,unit@example.cn\n", encoding="utf-8")
    return _run(["audit", str(inbox), "--roster", str(roster), "--out", str(tmp_path / "out"), "--email",
                 "--jobs", "1"], tmp_path, columns=200)


def test_audit_email_skips_units_not_on_the_roster(tmp_path):
    done = _audit(tmp_path, "另一个单位")
    assert done.returncode in (0, 1), done.stderr
    assert "单位不在名册中" in done.stdout
    assert not (tmp_path / "outbox").exists() or not list((tmp_path / "outbox").glob("*.eml"))


def test_audit_email_says_the_mail_waits_in_the_outbox(tmp_path):
    done = _audit(tmp_path, "株洲市芦淞区机关事务服务中心")
    assert done.returncode in (0, 1), done.stderr
    assert list((tmp_path / "outbox").glob("*.eml"))
    assert f"发件箱 {tmp_path / 'outbox'}" in done.stdout.replace("\n", "")


def test_audit_counts_every_unreadable_file(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for n in range(5):
        (inbox / f"坏{n}.xlsx").write_bytes(b"not a zip file " * n)
    done = _run(["audit", str(inbox), "--out", str(tmp_path / "out"), "--jobs", "1"], tmp_path, columns=200)
    assert done.returncode == 2
    assert "无法读取的文件 5" in done.stdout


def test_taskpane_loads_office_js_from_the_configured_copy(monkeypatch):
    from xltool.addin.server import OFFICE_JS, render_taskpane

    assert f'src="{OFFICE_JS}"' in render_taskpane("https://localhost:8000")
    monkeypatch.setenv("XLTOOL_OFFICE_JS", "https://intranet.example/office-js/office.js")
    html = render_taskpane("https://localhost:8000")
    assert 'src="https://intranet.example/office-js/office.js"' in html and OFFICE_JS not in html


def test_make_template_for_a_roster_says_where_and_shows_progress(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("单位名称,单位编码,电子邮箱\n甲单位,001,a@example.cn\n乙单位,002,b@example.cn\n", encoding="utf-8")
    done = _run(["make-template", "--year", "2023", "--roster", str(roster), "-o", "模板"], tmp_path, columns=200)
    assert done.returncode == 0, done.stderr
    assert str(tmp_path / "模板") in done.stdout.replace("\n", "") and "2" in done.stdout
    assert len(list((tmp_path / "模板").glob("*.xlsx"))) == 2


def test_fields_and_rules_fit_80_columns_without_cutting_ids(tmp_path):
    from xltool.check.catalogue import RULES
    from xltool.form.selfeval import build_form

    fields = _run(["fields", "--inputs"], tmp_path)
    assert fields.returncode == 0
    lines = fields.stdout.splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    ids = {f.id for f in build_form(2023).fields if f.is_input}
    shown = set(re.findall(r"│ (\w+)\s+│", fields.stdout))
    assert ids <= shown, sorted(ids - shown)[:5]
    rules = _run(["rules"], tmp_path)
    assert max(cell_len(line) for line in rules.stdout.splitlines()) <= 80
    assert all(code in rules.stdout for code in RULES) and "…" not in rules.stdout
