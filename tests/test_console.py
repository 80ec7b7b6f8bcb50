"""Every command works on a console that cannot show every character (a Chinese Windows
console or a redirected file there is GBK; some servers are ASCII): what cannot be shown is
replaced, the command runs to its documented exit code, and no traceback is printed."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import COMMITTED_FILLED, COMMITTED_TEMPLATE, EXAMPLE_YAML, ROOT, scratch

ENCODINGS = ["gbk", "ascii"]


def _env(encoding: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LANG", "LC_ALL", "LC_CTYPE")}
    env.update(PYTHONIOENCODING=encoding, XLTOOL_LANG="zh_CN", PYTHONPATH=str(ROOT))
    return env


def _xltool(args: list[str], encoding: str, cwd: Path) -> tuple[int, bytes, bytes]:
    """``python -m xltool`` as a user runs it: PYTHONIOENCODING, stdout and stderr redirected to files."""
    out, err = cwd / "stdout.txt", cwd / "stderr.txt"
    with out.open("wb") as fo, err.open("wb") as fe:
        done = subprocess.run([sys.executable, "-m", "xltool", *args], stdout=fo, stderr=fe, stdin=subprocess.DEVNULL,
                              cwd=cwd, env=_env(encoding), timeout=180)
    return done.returncode, out.read_bytes(), err.read_bytes()


# One process per encoding runs many commands through the CLI's entry (xltool.cli, which sets up
# the streams), each with the process's real stdout and stderr redirected to files: the same
# streams a user's console gives, without paying the interpreter's start-up once per command.
DRIVER = """
import json, sys, traceback
from xltool.cli import app
runs, codes = json.loads(sys.argv[1]), []
for i, args in enumerate(runs):
    for stream in (sys.stdout, sys.stderr):
        stream.write(f"\\n@@run {i}@@\\n")
        stream.flush()
    try:
        app(args, prog_name="xltool")
        codes.append(0)
    except SystemExit as exc:
        codes.append(exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2))
    except BaseException:
        traceback.print_exc()
        codes.append("traceback")
    sys.stdout.flush()
    sys.stderr.flush()
with open(sys.argv[2], "w") as fh:
    json.dump(codes, fh)
"""


def _many(runs: list[list[str]], encoding: str, cwd: Path) -> list[tuple[object, bytes, bytes]]:
    import json
    import re

    out, err, codes = cwd / "stdout.txt", cwd / "stderr.txt", cwd / "codes.json"
    with out.open("wb") as fo, err.open("wb") as fe:
        subprocess.run([sys.executable, "-c", DRIVER, json.dumps(runs), str(codes)], stdout=fo, stderr=fe,
                       stdin=subprocess.DEVNULL, cwd=cwd, env=_env(encoding), timeout=600, check=True)

    def split(data: bytes) -> list[bytes]:
        parts = re.split(rb"\n@@run \d+@@\n", data)
        return parts[1:]

    return list(zip(json.loads(codes.read_text()), split(out.read_bytes()), split(err.read_bytes()), strict=True))


def _commands() -> list[list[str]]:
    """Every command and subcommand path of the CLI, from its own command tree."""
    import typer

    from xltool.cli.registry import COMMANDS, app, load

    paths: list[list[str]] = []

    def walk(command, path: list[str]) -> None:
        paths.append(path)
        if hasattr(command, "commands"):  # a group (Typer vendors its own click)
            for name, sub in sorted(command.commands.items()):
                walk(sub, [*path, name])

    root = typer.main.get_command(app)
    for entry in COMMANDS:  # the root lists every command lazily: load each to see its subcommands
        root.commands[entry.name] = load(entry, "rich")
    walk(root, [])
    return paths


def test_the_command_tree_is_complete():
    """The help test below covers every command (so a new one cannot be left out)."""
    names = {" ".join(p) for p in _commands()}
    assert {"", "check-workbook", "audit", "make-template", "fill", "fields", "rules", "schema", "forms",
            "forms check", "make-report", "check-report", "serve", "mail list", "addin init"} <= names


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_help_page(encoding):
    cwd = scratch(f"console-help-{encoding}")
    paths = _commands()
    for path, (code, out, err) in zip(paths, _many([[*p, "--help"] for p in paths], encoding, cwd), strict=True):
        where = " ".join(["xltool", *path, "--help"])
        assert code == 0, (where, err.decode(encoding, "replace"))
        assert b"Traceback" not in err and b"--help" in out, where
        if encoding == "gbk":
            assert "用法" in out.decode("gbk"), where  # Chinese shown, not replaced


def _jobs(folder: Path) -> list[tuple[str, list[str], int]]:
    """(name, arguments, documented exit code) of each command's main job that needs no server."""
    bad = folder / "坏文件.xlsx"
    bad.write_bytes(b"not a workbook")
    inbox = folder / "收件箱"
    inbox.mkdir(exist_ok=True)
    (inbox / "单位.xlsx").write_bytes(COMMITTED_FILLED.read_bytes())
    pack = ROOT / "xltool" / "form" / "packs" / "example" / "1.0.toml"
    return [
        ("version", ["--version"], 0),
        ("check-workbook findings", ["check-workbook", str(COMMITTED_FILLED)], 1),
        ("check-workbook json", ["check-workbook", str(COMMITTED_FILLED), "--format", "json"], 1),
        ("check-workbook unreadable", ["check-workbook", str(bad)], 2),
        ("rules", ["rules"], 0),
        ("rule", ["rules", "XT301"], 0),
        ("rules markdown", ["rules", "--format", "markdown"], 0),
        ("fields", ["fields"], 0),
        ("fields json", ["fields", "--format", "json"], 0),
        ("forms", ["forms"], 0),
        ("forms check", ["forms", "check", str(pack)], 0),
        ("schema", ["schema"], 0),
        ("make-template", ["make-template", "--year", "2023", "-o", str(folder / "模板.xlsx")], 0),
        ("fill", ["fill", str(COMMITTED_TEMPLATE), str(EXAMPLE_YAML), "-o", str(folder / "已填.xlsx")], 0),
        ("make-report refuses", ["make-report", str(COMMITTED_FILLED), "-o", str(folder / "报告.docx")], 1),
        ("make-report forced", ["make-report", str(COMMITTED_FILLED), "-o", str(folder / "报告.docx"), "--force"], 0),
        ("check-report", ["check-report", str(folder / "报告.docx")], 1),
        ("audit", ["audit", str(inbox), "--out", str(folder / "审核结果"), "--jobs", "1"], 1),
        ("mail list", ["mail", "list"], 0),
        ("mail test to the outbox", ["mail", "test", "--to", "jxg@example.gov.cn"], 0),
        ("mail flush without a server", ["mail", "flush"], 2),
        ("addin init", ["addin", "init", str(folder / "加载项"), "--force"], 0),
    ]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_main_job(encoding):
    folder = scratch(f"console-jobs-{encoding}")
    jobs = _jobs(folder)
    for (name, _args, expected), (code, out, err) in zip(jobs, _many([a for _n, a, _e in jobs], encoding, folder),
                                                        strict=True):
        text = (out + err).decode(encoding, "replace")
        assert b"Traceback" not in err, (name, err.decode(encoding, "replace")[-2000:])
        assert code == expected, (name, code, text[-2000:])
        assert out.strip() or err.strip(), name
        if encoding == "gbk":
            (out + err).decode("gbk")  # what a Chinese console shows: GBK throughout, nothing else mixed in


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_check_workbook_as_a_user_runs_it(encoding):
    """The real entry point, output redirected to a file: the 差额's minus sign (U+2212) is no longer fatal."""
    folder = scratch(f"console-user-{encoding}")
    code, out, err = _xltool(["check-workbook", str(COMMITTED_FILLED)], encoding, folder)
    assert code == 1 and b"Traceback" not in err, err.decode(encoding, "replace")
    shown = out.decode(encoding)
    assert "XT301" in shown and "-0.19" in shown
    if encoding == "gbk":
        assert "必须修改" in shown


def test_tolerant_streams_replace_what_the_encoding_cannot_show(monkeypatch):
    from xltool.console import tolerant_streams

    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="gbk")
    user = io.TextIOWrapper(io.BytesIO(), encoding="gbk", errors="ignore")  # a handler the user chose
    monkeypatch.setattr(sys, "stdout", stream)
    monkeypatch.setattr(sys, "stderr", user)
    tolerant_streams()
    print("差额 −0.19 ↔ 附件3 ✗ \U0001F600")
    stream.flush()
    assert raw.getvalue().decode("gbk") == "差额 -0.19 <-> 附件3 x ?\n"
    assert user.errors == "ignore"
    ascii_raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(ascii_raw, encoding="ascii"))
    tolerant_streams()
    print("必须修改 9 ≥ 4")
    sys.stdout.flush()
    assert ascii_raw.getvalue() == b"???? 9 >= 4\n"
