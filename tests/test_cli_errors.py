"""Every mistake a user can make on the command line ends in one Chinese sentence and exit code 2.

Wrong paths, wrong suffixes, wrong years, wrong formats, busy ports, bad rosters, bad certificates:
never a traceback, never English from Python, pydantic, Typer or the operating system, and nothing
written (the audit of a missing folder writes no empty summary).
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import COMMITTED_FILLED, COMMITTED_TEMPLATE, EXAMPLE_YAML, ROOT
from typer.testing import CliRunner

from xltool.cli import app

# Words that may appear in a Chinese sentence: option names, formats, file kinds.
ALLOWED = {"xltool", "help", "table", "json", "markdown", "xml", "xlsx", "docx", "yaml", "csv", "toml", "pem",
           "PEM", "UTF", "GBK", "year", "out", "format", "prefill", "roster", "certfile", "keyfile", "port",
           "host", "xlsx", "annotate", "previous", "rules", "config", "nope", "abc", "bad", "docs", "addin",
           # the usage line's placeholder, the test runner's program name, product names
           "OPTIONS", "root", "Excel", "HTTP", "HTTPS", "WPS", "LibreOffice", "outbox", "xltool"}


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli-errors")
    (path / "bad.csv").write_bytes(b"\xff\xfe\x00garbage\x81\x82")
    (path / "cert.pem").write_text("not a certificate", encoding="utf-8")
    (path / "folder.xlsx").mkdir()
    return path


def _english(text: str, *allowed_paths: str) -> list[str]:
    for path in allowed_paths:
        text = text.replace(path, "")
    text = re.sub(r"[\w.+-]+@[\w.-]+|--[\w-]+|\bXT\d+\b|[\w./-]*\.(?:xlsx|docx|yaml|csv|pem|toml|eml)\b|\d+(\.\d+)*",
                  " ", text)
    return [w for w in re.findall(r"[A-Za-z]{3,}", text) if w not in ALLOWED]


def _busy_port() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    return sock, sock.getsockname()[1]


CASES = [
    ("year not a number", ["make-template", "--year", "abc", "-o", "{w}/t.xlsx"]),
    ("year out of range", ["make-template", "--year", "1999", "-o", "{w}/t.xlsx"]),
    ("template not xlsx", ["make-template", "--year", "2023", "-o", "{w}/模板.docx"]),
    ("prefill missing", ["make-template", "--year", "2023", "-o", "{w}/t.xlsx", "--prefill", "{w}/nope.yaml"]),
    ("prefill of another year", ["make-template", "--year", "2030", "-o", "{w}/t30.xlsx", "--prefill", str(EXAMPLE_YAML)]),
    ("roster missing", ["make-template", "--year", "2023", "-o", "{w}/units", "--roster", "{w}/nope.xlsx"]),
    ("roster not a roster", ["make-template", "--year", "2023", "-o", "{w}/units", "--roster", str(COMMITTED_FILLED)]),
    ("roster not text", ["make-template", "--year", "2023", "-o", "{w}/units", "--roster", "{w}/bad.csv"]),
    ("roster output a file", ["make-template", "--year", "2023", "-o", "{w}/units.xlsx", "--roster", "{w}/bad.csv"]),
    ("rules config missing", ["make-template", "--year", "2023", "-o", "{w}/t.xlsx", "--rules-config", "{w}/nope.toml"]),
    ("fill template missing", ["fill", "{w}/nope.xlsx", str(EXAMPLE_YAML), "-o", "{w}/x.xlsx"]),
    ("fill data missing", ["fill", str(COMMITTED_TEMPLATE), "{w}/nope.yaml", "-o", "{w}/x.xlsx"]),
    ("fill output not xlsx", ["fill", str(COMMITTED_TEMPLATE), str(EXAMPLE_YAML), "-o", "{w}/x.docx"]),
    ("fill output a folder", ["fill", str(COMMITTED_TEMPLATE), str(EXAMPLE_YAML), "-o", "{w}/folder.xlsx"]),
    ("fields format", ["fields", "--format", "xml"]),
    ("fields year", ["fields", "--year", "1999"]),
    ("rules format", ["rules", "--format", "xml"]),
    ("rules unknown code", ["rules", "XT999"]),
    ("check missing file", ["check-workbook", "{w}/nope.xlsx"]),
    ("check format", ["check-workbook", str(COMMITTED_FILLED), "--format", "xml"]),
    ("check list not xlsx", ["check-workbook", str(COMMITTED_FILLED), "--xlsx", "{w}/问题清单.docx"]),
    ("check several into one file", ["check-workbook", str(COMMITTED_FILLED), str(COMMITTED_TEMPLATE),
                                     "--xlsx", "{w}/多.xlsx"]),
    ("audit missing folder", ["audit", "{w}/没有这个目录/", "--out", "{w}/audit"]),
    ("audit roster missing", ["audit", str(COMMITTED_FILLED), "--roster", "{w}/nope.xlsx", "--out", "{w}/audit"]),
    ("addin certificate missing", ["addin", "serve", "--certfile", "{w}/nope.pem", "--keyfile", "{w}/nope.pem"]),
    ("addin certificate invalid", ["addin", "serve", "--certfile", "{w}/cert.pem", "--keyfile", "{w}/cert.pem"]),
    ("addin port not a number", ["addin", "serve", "--port", "abc"]),
    ("mail config missing", ["mail", "test", "--config", "{w}/nope.toml"]),
]


@pytest.mark.parametrize("name,args", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_chinese_sentence_and_exit_2(work, name, args):
    argv = [a.replace("{w}", str(work)) for a in args]
    result = CliRunner().invoke(app, argv)
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exit_code == 2, f"{name}: exit {result.exit_code}\n{output}\n{result.exception!r}"
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), (
        f"{name}: {result.exception!r}")
    assert "Traceback" not in output and "Errno" not in output
    assert re.search(r"[\u4e00-\u9fff]", output), f"{name}: no Chinese in {output!r}"
    assert not _english(output, str(work), str(ROOT), *argv[:2]), f"{name}: English in {output!r}"
    assert not (work / "audit").exists(), "an audit that could not start wrote outputs"


def test_busy_port_is_refused_before_the_server_says_it_runs():
    sock, port = _busy_port()
    try:
        result = CliRunner().invoke(app, ["addin", "serve", "--port", str(port)])
    finally:
        sock.close()
    assert result.exit_code == 2
    assert "已启动" not in result.output and str(port) in result.output
    assert not _english(result.output)


def test_the_real_command_prints_no_traceback_for_a_bad_roster(tmp_path):
    """The installed entry point, as a user runs it (not through the test runner)."""
    done = subprocess.run([sys.executable, "-m", "xltool", "make-template", "--year", "2023", "-o", str(tmp_path / "u"),
                           "--roster", str(COMMITTED_FILLED)], capture_output=True, text=True, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "COLUMNS": "80"})
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "单位名称" in done.stderr
    assert not (tmp_path / "u").exists() or not any((tmp_path / "u").iterdir())


def test_a_server_without_login_is_explained_in_chinese(tmp_path, monkeypatch):
    """A real SMTP server on 127.0.0.1 that offers no AUTH, with a user set: no `SMTP AUTH extension …`."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        from conftest import _unavailable

        _unavailable("aiosmtpd")

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    probe, port = _busy_port()
    probe.close()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port, ready_timeout=5)
    controller.start()
    try:
        (tmp_path / "xltool.toml").write_text(
            f'[mail]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nuser = "jxg@czj.example.cn"\n'
            'reviewer = "jxg@czj.example.cn"\ntimeout = 3\nretries = 1\nbackoff = 0.01\n', encoding="utf-8")
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("XLTOOL_MAIL_PASSWORD", "secret")
        result = CliRunner().invoke(app, ["mail", "test", "--to", "unit@example.cn"])
    finally:
        controller.stop()
    assert result.exit_code != 0
    assert "AUTH" in result.output and "extension not supported" not in result.output
    assert not _english(result.output, str(tmp_path), "AUTH", "security", "user", "mail", "test"), result.output


def test_bad_settings_files_are_described_in_chinese(work):
    (work / "bad_rules.toml").write_text('[weights]\nexecution = "abc"\n', encoding="utf-8")
    (work / "broken.toml").write_text("not toml [[[\n", encoding="utf-8")
    (work / "broken.yaml").write_text("values: [unclosed\n", encoding="utf-8")
    for args in (["make-template", "--year", "2023", "-o", str(work / "t.xlsx"), "--rules-config", str(work / "bad_rules.toml")],
                 ["check-workbook", str(COMMITTED_FILLED), "--rules-config", str(work / "broken.toml")],
                 ["fill", str(COMMITTED_TEMPLATE), str(work / "broken.yaml"), "-o", str(work / "y.xlsx")],
                 ["mail", "test", "--config", str(work / "broken.toml")]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output and "Input should" not in result.output
        # the setting named is the one the user wrote (weights.execution): it stays as written
        assert not _english(result.output, str(work), *args[:2], "TOML", "YAML", "weights.execution"), result.output
