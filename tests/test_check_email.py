"""`xltool check-workbook --email` end to end: the real CLI, a real SMTP server on
127.0.0.1 (aiosmtpd), the message parsed back and its attachments opened."""

from __future__ import annotations

import email
import io
import os
import shutil
import socket
import subprocess
import sys
from email import policy
from pathlib import Path

import openpyxl
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples/luosong_2023_filled.xlsx"
UNIT = "株洲市芦淞区机关事务服务中心"


class Handler:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    try:
        from aiosmtpd.controller import Controller
    except ImportError:  # pragma: no cover
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("aiosmtpd is required in CI")
        pytest.skip("aiosmtpd not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=5)
    controller.start()
    yield port, handler
    controller.stop()


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XLTOOL_")}
    env["XLTOOL_LANG"] = "zh_CN"
    return subprocess.run([sys.executable, "-m", "xltool", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def workdir(tmp_path, smtp):
    port, _ = smtp
    (tmp_path / "xltool.toml").write_text(
        f'[mail]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        f'sender = "jxg@czj.example.cn"\nreviewer = "reviewer@czj.example.cn"\ntimeout = 5\nretries = 1\n',
        encoding="utf-8",
    )
    shutil.copy(EXAMPLE, tmp_path / "returned.xlsx")
    return tmp_path


def test_findings_are_mailed_to_the_unit_with_both_workbooks(workdir, smtp):
    _, handler = smtp
    before = (workdir / "returned.xlsx").read_bytes()
    proc = run(["check-workbook", "returned.xlsx", "--email"], workdir)
    assert proc.returncode == 1, proc.stderr  # findings to fix
    assert (workdir / "returned.xlsx").read_bytes() == before, "the original is never modified"
    assert len(handler.messages) == 1, proc.stdout + proc.stderr
    rcpts, data = handler.messages[0]
    # The recipient comes from 基本情况!B12 of the workbook; the reviewer is copied.
    assert sorted(rcpts) == ["reviewer@czj.example.cn", "tianbiaoren@example.com"]
    msg = email.message_from_bytes(data, policy=policy.default)
    subject = str(msg["Subject"])
    assert UNIT in subject and "2023" in subject
    assert "必须修改 5 项" in subject and "需要说明 8 项" in subject
    html = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()
    for body in (html, text):
        assert "XT301" in body and "2,450.21" in body and "附件3!E5" in body
    names = {part.get_filename(): part for part in msg.iter_attachments()}
    assert set(names) == {f"问题清单_{UNIT}.xlsx", "审核标注_returned.xlsx"} or len(names) == 2
    issue_list = next(p for n, p in names.items() if n.startswith("问题清单"))
    annotated = next(p for n, p in names.items() if n.startswith("审核标注"))
    wb = openpyxl.load_workbook(io.BytesIO(issue_list.get_content()))
    codes = [row[1] for row in wb.active.iter_rows(min_row=6, values_only=True) if row[1]]
    assert codes.count("XT301") == 3 and "XT501" in codes
    # 实际单位年度总支出 2,450.21 (项目绩效!D4) against 财政拨款支出 2,450.02: an XT301 mark
    marked = openpyxl.load_workbook(io.BytesIO(annotated.get_content()))["项目绩效"]["D4"]
    assert marked.comment is not None and "XT301" in marked.comment.text
    assert marked.fill.fgColor.rgb.endswith("FFC7CE")


def test_same_findings_are_not_sent_twice_unless_resend(workdir, smtp):
    _, handler = smtp
    assert run(["check-workbook", "returned.xlsx", "--email"], workdir).returncode == 1
    second = run(["check-workbook", "returned.xlsx", "--email"], workdir)
    assert len(handler.messages) == 1, second.stdout
    assert "已发送过" in second.stdout or "重复" in second.stdout
    run(["check-workbook", "returned.xlsx", "--email", "--resend"], workdir)
    assert len(handler.messages) == 2


def test_dry_run_sends_and_writes_nothing(workdir, smtp):
    _, handler = smtp
    proc = run(["check-workbook", "returned.xlsx", "--email", "--dry-run", "--to", "other@example.com"], workdir)
    assert handler.messages == []
    assert "other@example.com" in proc.stdout
    assert not list((workdir / "outbox").glob("*.eml")) if (workdir / "outbox").exists() else True


def test_without_a_server_the_message_waits_in_the_outbox(tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "returned.xlsx")
    proc = run(["check-workbook", "returned.xlsx", "--email"], tmp_path)
    emls = list((tmp_path / "outbox").glob("*.eml"))
    assert len(emls) == 1, proc.stdout + proc.stderr
    assert "outbox" in proc.stdout
