"""The light command line (issue 20): an ordinary ``check-workbook`` line runs without Typer or
rich and prints, byte for byte, what the Typer path prints; anything unusual still goes to Typer."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from helpers import COMMITTED_FILLED, ROOT, scratch

from xltool import record

LIBRARIES = ("typer", "click", "rich")  # the check path's own imports: tests/test_light_check_path.py

# Run a command line in a fresh interpreter through the console script's entry (light when it
# can) or through the Typer application alone; the exit code, output and libraries loaded.
def _run(args: list[str], *, typer_only: bool, cwd: Path, env: dict | None = None) -> tuple[int, bytes, bytes, set]:
    program = (
        "import sys, json\n"
        f"args = {args!r}\n"
        "sys.argv = ['xltool', *args]\n"
        "try:\n"
        + ("    from xltool.cli.registry import run\n    run()\n" if typer_only else
           "    from xltool.cli import main\n    main()\n")
        + "    code = 0\n"
        "except SystemExit as exc:\n"
        "    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)\n"
        "sys.stdout.flush()\n"
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({LIBRARIES!r}))\n"
        "sys.stderr.flush()\n"
        "sys.stderr.buffer.write(b'\\n@@' + json.dumps({'code': code, 'loaded': loaded}).encode())\n"
    )
    full = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120", **(env or {})}
    for name in ("XLTOOL_LANG", "FORCE_COLOR", "TTY_COMPATIBLE"):
        full.pop(name, None)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, cwd=cwd, env=full)
    err, _sep, tail = done.stderr.rpartition(b"\n@@")
    facts = json.loads(tail)
    return facts["code"], done.stdout, err, set(facts["loaded"])


def test_a_plain_check_loads_neither_typer_nor_rich(tmp_path):
    code, out, err, loaded = _run(["check-workbook", str(COMMITTED_FILLED)], typer_only=False, cwd=tmp_path)
    assert code == 1 and "XT301".encode() in out and "必须修改".encode() in out, err
    assert loaded == set()
    code, out, err, loaded = _run(["check-workbook", "-f", "json", str(COMMITTED_FILLED)], typer_only=False,
                                  cwd=tmp_path)
    assert code == 1 and json.loads(out)["workbooks"][0]["findings"] and loaded == set()
    # Typer's own path, for comparison: it loads Typer.
    assert "typer" in _run(["check-workbook", str(COMMITTED_FILLED)], typer_only=True, cwd=tmp_path)[3]


# Lines the light parser reads, lines it leaves to Typer (help, usage errors, unusual forms), and
# lines that fail inside the command: each gives the same exit code and output on both paths.
LINES = [
    (["check-workbook", "{filled}"], {}),
    (["check-workbook", "{filled}"], {"COLUMNS": "80"}),
    (["check-workbook", "{filled}", "{filled}"], {"COLUMNS": "200"}),
    (["check-workbook", "--format=json", "{filled}"], {}),
    (["check-workbook", "{filled}", "--xlsx", "清单.xlsx", "--annotate", "标注.xlsx"], {}),
    (["check-workbook", "{filled}", "--format", "xml"], {}),
    (["check-workbook", "没有这个文件.xlsx"], {}),
    (["check-workbook", "{filled}", "--rules-config", "missing.toml"], {}),
    (["check-workbook", "{filled}"], {"PYTHONIOENCODING": "gbk"}),
    (["check-workbook", "{filled}"], {"PYTHONIOENCODING": "ascii"}),
    (["check-workbook", "{filled}", "--to"], {}),
    (["check-workbook", "{filled}", "-f", "json", "-f", "table"], {}),
    (["check-workbook", "{filled}", "--unknown"], {}),
    (["check-workbook"], {}),
    (["check-workbook", "--help"], {"COLUMNS": "100"}),
    (["make-report", "{filled}", "-o", "报告.docx", "--force"], {}),
    (["make-report", "{filled}", "--out=报告.txt"], {}),
    (["make-report", "{filled}"], {}),
    (["check-report", "没有.docx", "-f", "json"], {}),
]


@pytest.mark.parametrize("args,env", LINES, ids=[" ".join(a) + (f" {e}" if e else "") for a, e in LINES])
def test_the_light_path_prints_what_typer_prints(args, env):
    outputs = []
    base = scratch("light-vs-typer")
    for typer_only in (False, True):
        cwd = base / f"{abs(hash((tuple(args), tuple(env.items()))))}-{typer_only}"
        cwd.mkdir(exist_ok=True)
        line = [a.replace("{filled}", str(COMMITTED_FILLED)) for a in args]
        code, out, err, loaded = _run(line, typer_only=typer_only, cwd=cwd, env=env)
        assert b"Traceback" not in err, err.decode("utf-8", "replace")[-2000:]
        outputs.append((code, out.replace(str(cwd).encode(), b"<cwd>"), err.replace(str(cwd).encode(), b"<cwd>")))
        written = sorted(p.name for p in cwd.iterdir())
        outputs[-1] += (written,)
    assert outputs[0] == outputs[1]


# -- the declaration read without Typer ---------------------------------------------------------

def test_the_parser_reads_ordinary_lines_and_leaves_the_rest_to_typer():
    from xltool.cli.check import check_workbook
    from xltool.cli.spec import parse

    got = parse(check_workbook, ["a.xlsx", "-f", "json", "b.xlsx", "--email", "--to=x@y.cn", "--config", "m.toml"])
    assert got["files"] == [Path("a.xlsx"), Path("b.xlsx")] and got["fmt"] == "json" and got["email"] is True
    assert got["to"] == "x@y.cn" and got["mail_config"] == Path("m.toml")
    assert got["xlsx"] is None and got["cc"] is None and got["dry_run"] is False  # the declared defaults
    for unusual in ([], ["--help"], ["a.xlsx", "--help"], ["a.xlsx", "-h"], ["a.xlsx", "--to"], ["a.xlsx", "--nope"],
                    ["a.xlsx", "-fjson"], ["a.xlsx", "--", "-b.xlsx"], ["-"], ["a.xlsx", "--email=yes"],
                    ["a.xlsx", "--to", "x", "--to", "y"], ["a.xlsx", "--format", "--email"]):
        assert parse(check_workbook, unusual) is None, unusual
    assert parse(lambda x: x, ["a"]) is None  # not declared with spec: Typer's


def test_typer_reads_the_same_declaration():
    from typer.testing import CliRunner

    from xltool.cli import app
    from xltool.cli.check import check_workbook
    from xltool.cli.spec import Opt, declared

    result = CliRunner().invoke(app, ["check-workbook", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for _name, _kind, mark, _default in declared(check_workbook):
        if isinstance(mark, Opt):
            assert all(flag in result.output for flag in mark.names), mark.names


# -- the findings table without rich ------------------------------------------------------------

def test_character_widths_agree_with_rich_over_every_range_judged():
    from rich.cells import cell_len

    from xltool.console import _KNOWN, cell_width

    for lo, hi in _KNOWN:
        for code in range(lo, hi + 1):
            ch = chr(code)
            width = cell_width(ch)
            if unicodedata.category(ch)[0] in "MC":
                assert width is None, hex(code)
            else:
                assert width == cell_len(ch), hex(code)
    assert cell_width("\t") is None and cell_width("a\u0301") is None and cell_width("😀") is None
    assert cell_width("收支情况!B10、附件 2") == cell_len("收支情况!B10、附件 2")


FRAGMENTS = ["收支情况 项目支出（2,069.83）与附件2 项目支出", "差额为-0.19。", "请核实正确数字（例如查阅决算报表）",
             "，并在两处填写一致。", "XT301", "12345678901234567890.123", "The figure differs", " ", "", "\n· 附注",
             "é", "—", "…", "项目绩效!F28", "「会议项目」", "−0.02", "超长的说明" * 12, "，", "）"]
ODD = ["[red]标记[/]", ":smile:", "😀", "a\tb", "a\u0301"]  # what rich draws itself


def _mutated(report, rnd: random.Random):
    def text(n: int) -> str:
        return "".join(rnd.choice(ODD if rnd.random() < 0.01 else FRAGMENTS) for _ in range(rnd.randint(0, n)))

    findings = []
    for f in report.findings[: rnd.randint(1, len(report.findings))]:
        findings.append(record.replace(
            f, message=text(6) or "m", fix=text(4), attribution=[text(3) for _ in range(rnd.randint(0, 2))],
            code=rnd.choice(["XT301", "XT0101", "X", "XT301" * rnd.randint(1, 6)])))
    return record.replace(report, findings=findings, unit=rnd.choice(["株洲市芦淞区机关事务服务中心", "单位 [x]", ""]))


def test_the_plain_table_is_rich_s_table_to_the_byte(monkeypatch):
    from rich.console import Console

    from xltool.check.checker import check_path
    from xltool.console import PlainConsole
    from xltool.report.terminal import print_report

    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    report = check_path(COMMITTED_FILLED)[1]
    rnd = random.Random(20)
    cases = [(report, w) for w in (80, 119, 120, 121, 160, 200, 257)]
    cases += [(_mutated(report, rnd), rnd.randint(60, 260)) for _ in range(150)]
    plain = 0
    for case, width in cases:
        expected = io.StringIO()
        print_report(case, Console(file=expected, width=width))
        out, stdout = io.StringIO(), sys.stdout
        sys.stdout = out
        try:
            console = PlainConsole(False, width, width)
            print_report(case, console)
        finally:
            sys.stdout = stdout
        assert out.getvalue() == expected.getvalue(), (width, case.findings[:2])
        plain += console._rich is None
    assert plain >= len(cases) * 0.4, plain  # most reports never needed rich


RAISING = (
    "import sys\n"
    "from pathlib import Path\n"
    "from typing import Annotated\n"
    "mode, kind = sys.argv[1], sys.argv[2]\n"
    "import xltool.cli.check as check\n"
    "from xltool.cli.spec import Arg\n"
    "def command(files: Annotated[list[Path], Arg('files')]):\n"
    "    if kind == 'eof':\n"
    "        raise EOFError\n"
    "    if kind == 'interrupt':\n"
    "        raise KeyboardInterrupt\n"
    "    import typer\n"
    "    if kind == 'exit':\n"
    "        raise typer.Exit(3)\n"
    "    if kind == 'abort':\n"
    "        raise typer.Abort()\n"
    "    raise typer.BadParameter('坏了')\n"
    "check.check_workbook = command\n"
    "sys.argv = ['xltool', 'check-workbook', 'a.xlsx']\n"
    "if mode == 'light':\n"
    "    from xltool.cli import main\n"
    "    main()\n"
    "else:\n"
    "    from xltool.cli.registry import run\n"
    "    run()\n"
)


@pytest.mark.parametrize("kind", ["eof", "interrupt", "exit", "abort", "usage"])
def test_what_typer_handles_itself_ends_the_same_on_the_light_path(kind, tmp_path):
    """Ctrl-C, end of input, Typer's Exit/Abort raised by code that uses Typer, click's errors."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    env.pop("XLTOOL_LANG", None)
    runs = [subprocess.run([sys.executable, "-c", RAISING, mode, kind], capture_output=True, cwd=tmp_path, env=env)
            for mode in ("light", "typer")]
    assert [(r.returncode, r.stdout, r.stderr) for r in runs][0] == (runs[1].returncode, runs[1].stdout, runs[1].stderr)
    assert runs[0].returncode == {"eof": 1, "interrupt": 130, "exit": 3, "abort": 1, "usage": 2}[kind]
    assert b"Traceback" not in runs[0].stderr
