"""``xltool intake`` against a real IMAP server (dovecot on 127.0.0.1) and a real SMTP server (aiosmtpd).

Messages are delivered with IMAP APPEND as units' mail clients write them; the intake reads them,
audits their workbooks and answers through the outbox. Without dovecot (Debian package
``dovecot-imapd``, see tests/dovecot.py) these tests are skipped, and fail under CI=true.
"""

from __future__ import annotations

import email
import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from email import policy
from pathlib import Path

import pytest

import dovecot
from helpers import ROOT, corrected_file, edit_inputs, filled_file, form, scratch, zh_locale  # noqa: F401
from intake_mail import message, write_config
from test_mail_smtp import Recorder, Server, pki  # noqa: F401

UNITS = {
    "a": ("株洲市甲单位", "430203001", "a@unit-a.example.cn"),
    "b": ("株洲市乙单位", "430203002", "b@unit-b.example.cn"),
    "c": ("株洲市丙单位", "430203003", "c@unit-c.example.cn"),
}
DEPARTMENT = "zgbm@dept.example.cn"  # a supervising department, registered beside unit C's own address
STRANGER = "someone@mail163.example.com"


@pytest.fixture(scope="module")
def books(form) -> dict[str, Path]:
    """Workbooks of units A (must be fixed), B (passed, two items to explain), C (must be fixed), and the roster."""
    folder = scratch("intake_books")
    made = {}
    for key, (name, code, address) in UNITS.items():
        source = corrected_file() if key == "b" else filled_file()
        made[key] = edit_inputs(source, folder / f"{key}.xlsx", form,
                                {"info_unit_name": name, "info_unit_code": code, "info_email": address})
    roster = folder / "roster.csv"
    roster.write_text("单位名称,单位编码,电子邮箱\n"
                      f"{UNITS['a'][0]},{UNITS['a'][1]},{UNITS['a'][2]}\n"
                      f"{UNITS['b'][0]},{UNITS['b'][1]},{UNITS['b'][2]}\n"
                      f"{UNITS['c'][0]},{UNITS['c'][1]},{UNITS['c'][2]}；{DEPARTMENT}\n", encoding="utf-8")
    made["roster"] = roster
    return made


@pytest.fixture
def smtp():
    server = Server(Recorder())
    yield server
    server.stop()


@pytest.fixture
def imap(tmp_path):
    server = dovecot.Dovecot()
    server.start()
    yield server
    server.stop(wait=False)


@pytest.fixture(autouse=True)
def _environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("XLTOOL_MAIL_", "XLTOOL_INTAKE_")) or name == "XLTOOL_KILL_AT":
            monkeypatch.delenv(name)
    monkeypatch.setenv("XLTOOL_IMAP_PASSWORD", dovecot.PASSWORD)
    monkeypatch.setenv("XLTOOL_LANG", "zh_CN")


def run_pass(config: Path):
    """One pass in this process (what ``xltool intake --once`` does)."""
    from xltool.intake.config import load_intake_settings
    from xltool.intake.imap import Mailbox
    from xltool.intake.process import Intake
    from xltool.mail.config import load_settings

    settings = load_intake_settings(config)
    with Intake(settings, load_settings(config)) as robot, Mailbox(settings) as box:
        return robot.run(box)


def run_cli(*args: str, cwd: Path, kill: str | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "XLTOOL_KILL_AT"}
    env.update(PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    if kill:
        env["XLTOOL_KILL_AT"] = kill
    return subprocess.run([sys.executable, "-m", "xltool", "intake", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout)


def ledger(folder: Path) -> list[dict]:
    db = sqlite3.connect(folder / "store" / "intake.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM messages ORDER BY sent, key")]
    finally:
        db.close()


def stored_names(folder: Path) -> dict[str, list[str]]:
    db = sqlite3.connect(folder / "store" / "intake.sqlite")
    try:
        found: dict[str, list[str]] = {}
        for key, name in db.execute("SELECT key, name FROM attachments ORDER BY key, n"):
            found.setdefault(key, []).append(name)
        return found
    finally:
        db.close()


def replies(smtp) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(m.data, policy=policy.default) for m in smtp.messages]


def body_text(reply) -> str:
    return reply.get_body(("plain",)).get_content()


# -- the unit's return, answered once ------------------------------------------------------------------------

def test_a_units_return_is_answered_once_with_its_findings(tmp_path, imap, smtp, books):
    config = write_config(tmp_path, imap.port, smtp.port, roster=books["roster"])
    sent = message(f"张三 <{UNITS['a'][2]}>", "报送2023年度绩效自评表", [("甲单位绩效自评表.xlsx", books["a"].read_bytes())],
                   style="2047", message_id="<return-a-1@unit-a.example.cn>")
    passed = message(UNITS["b"][2], "乙单位自评表", [("乙单位.xlsx", books["b"].read_bytes())],
                     message_id="<return-b-1@unit-b.example.cn>")
    imap.append(sent, passed)
    first = run_cli("--once", "--config", str(config), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stdout + first.stderr
    assert "新邮件 2 封：已回复 2 封" in first.stdout
    got = {r["To"].addresses[0].addr_spec: r for r in replies(smtp)}
    assert sorted(got) == [UNITS["a"][2], UNITS["b"][2]]
    assert all(len(m.rcpt_tos) == 1 for m in smtp.messages), "never more than one address"
    reply = got[UNITS["a"][2]]
    assert reply["Subject"] == "【绩效自评审核】株洲市甲单位2023年度：必须修改 5 项，需要说明 8 项"
    assert reply["In-Reply-To"] == "<return-a-1@unit-a.example.cn>"
    assert reply["Auto-Submitted"] == "auto-replied"
    text = body_text(reply)
    assert "张三：您好！" in text and "甲单位绩效自评表.xlsx：必须修改 5 项，需要说明 8 项" in text
    assert "XT301" in text and "XT616" in text
    names = [p.get_filename() for p in reply.iter_attachments()]
    assert names == ["问题清单_株洲市甲单位.xlsx", "审核标注_甲单位绩效自评表.xlsx"]
    ok = got[UNITS["b"][2]]
    assert "通过" in ok["Subject"] and "必须修改" not in ok["Subject"]
    assert "乙单位.xlsx：通过" in body_text(ok)
    # The same audit as xltool audit: a round in the history, the summary, units/ for the unit with findings.
    out = tmp_path / "out"
    assert (out / "审核汇总.xlsx").is_file() and (out / "history.sqlite").is_file()
    unit_folders = sorted(p.name for p in (out / "units").iterdir())
    assert unit_folders == [UNITS["a"][1], UNITS["b"][1]], unit_folders
    assert "第 1 轮审核" in first.stdout
    folders = imap.folders()
    assert folders["INBOX"] == 0 and folders["&XfJZBHQG-"] == 2  # 已处理
    # Again: nothing new, nothing sent twice.
    again = run_cli("--once", "--config", str(config), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert len(smtp.messages) == 2
    assert [r["stage"] for r in ledger(tmp_path)] == ["filed", "filed"]
    # The same message seen again (a clerk moved it back): known by its key, not answered again.
    imap.append(sent)
    run_pass(config)
    assert len(smtp.messages) == 2 and imap.folders()["INBOX"] == 0


def test_a_stranger_is_held_and_listed(tmp_path, imap, smtp, books):
    config = write_config(tmp_path, imap.port, smtp.port, roster=books["roster"], desk=tmp_path / "desk")
    imap.append(message(STRANGER, "帮忙看看", [("甲.xlsx", books["a"].read_bytes())], message_id="<s1@x.example.com>"),
                message(UNITS["a"][2], "再次报送", [("甲单位.xlsx", books["a"].read_bytes())],
                        message_id="<a2@unit-a.example.cn>"),
                message(UNITS["b"][2], "甲单位的表", [("甲.xlsx", books["a"].read_bytes())],
                        message_id="<b-sends-a@unit-b.example.cn>"))
    report = run_pass(config)
    reasons = {r.sender: r.reason for r in report.held}
    assert sorted(reasons) == sorted([STRANGER, UNITS["b"][2]])
    assert "株洲市甲单位" in reasons[UNITS["b"][2]] and UNITS["b"][2] in reasons[UNITS["b"][2]]
    assert [m.rcpt_tos for m in smtp.messages] == [[UNITS["a"][2]]]
    assert imap.folders()["&X4VZBHQG-"] == 2  # 待处理
    held = run_cli("--held", "--config", str(config), cwd=tmp_path)
    assert STRANGER in held.stdout and "留待人工处理的邮件（2 封）" in held.stdout
    # A held message's workbook never enters the audit round; the answered one does.
    rounds = sqlite3.connect(tmp_path / "out" / "history.sqlite").execute("SELECT source FROM submissions").fetchall()
    assert len(rounds) == 1 and "a@unit-a.example.cn" in rounds[0][0]
    # The desk: the answered file in the current round with its sender, the held messages listed.
    from xltool.web.store import Store

    desk = Store(tmp_path / "desk")
    current = desk.rounds()[0]
    files = desk.files(current.id)
    assert [(f.name, f.origin) for f in files] == [("甲单位.xlsx", "mail")]
    assert desk.mail_files(current.id)[files[0].id]["sender"] == UNITS["a"][2]
    assert sorted(h["sender"] for h in desk.held_mail(current.id)) == sorted([STRANGER, UNITS["b"][2]])
    run_pass(config)  # again: the desk holds each file and each held message once
    assert len(desk.files(current.id)) == 1 and len(desk.held_mail(current.id)) == 2
    # The bureau adds unit B's address to unit A (it reports for A): the next pass answers B's held message;
    # the stranger's stays held, and nothing is answered twice.
    roster = tmp_path / "roster.csv"
    roster.write_text(books["roster"].read_text(encoding="utf-8").replace(
        UNITS["a"][2], f"{UNITS['a'][2]}；{UNITS['b'][2]}"), encoding="utf-8")
    config.write_text(config.read_text(encoding="utf-8").replace(books["roster"].as_posix(), roster.as_posix()),
                      encoding="utf-8")
    report = run_pass(config)
    assert [r.sender for r in report.answered] == [UNITS["b"][2]] and not report.held
    assert [m.rcpt_tos for m in smtp.messages] == [[UNITS["a"][2]], [UNITS["b"][2]]]
    assert replies(smtp)[1]["In-Reply-To"] == "<b-sends-a@unit-b.example.cn>"
    assert [h["sender"] for h in desk.held_mail(current.id)] == [STRANGER]
    assert sorted(f.name for f in desk.files(current.id)) == ["甲.xlsx", "甲单位.xlsx"]
    held = run_cli("--held", "--config", str(config), cwd=tmp_path)
    assert STRANGER in held.stdout and UNITS["b"][2] not in held.stdout and "（1 封）" in held.stdout
    run_pass(config)
    assert len(smtp.messages) == 2 and len(desk.held_mail(current.id)) == 1


def test_the_desk_page_shows_mail_files_and_held_messages(tmp_path, imap, smtp, books):
    pytest.importorskip("fastapi")
    from test_web_api import HTML, login, make_client

    client = make_client(tmp_path)
    config = write_config(tmp_path, imap.port, smtp.port, roster=books["roster"], desk=tmp_path / "data")
    imap.append(message(UNITS["a"][2], "报送", [("甲单位.xlsx", books["a"].read_bytes())]),
                message(STRANGER, "<script>x</script>", [("甲.xlsx", books["a"].read_bytes())]))
    run_pass(config)
    login(client)
    page = client.get("/desk/rounds/1", headers=HTML).text
    assert "邮件：a@unit-a.example.cn" in page and "甲单位.xlsx" in page
    assert "留待人工处理的邮件" in page and STRANGER in page
    assert "<script>x</script>" not in page and "&lt;script&gt;" in page


# -- what is never answered -------------------------------------------------------------------------------------

def test_auto_replies_bounces_and_lists_are_never_answered(tmp_path, imap, smtp, books):
    config = write_config(tmp_path, imap.port, smtp.port, roster=books["roster"])
    workbook = [("甲单位.xlsx", books["a"].read_bytes())]
    a = UNITS["a"][2]
    imap.append(
        message(a, "自动回复：您的邮件已收到", [], headers={"Auto-Submitted": "auto-replied"}),
        message(a, "外出", workbook, headers={"Precedence": "bulk"}),
        message(a, "通知", workbook, headers={"List-Id": "<units.czj.example.cn>"}),
        message(a, "退信", workbook, headers={"Return-Path": "<>"}),
        message("MAILER-DAEMON@unit-a.example.cn", "Undelivered", workbook),
        message("postmaster@unit-a.example.cn", "投递失败", workbook),
        message(a, "Re: 审核", workbook, headers={"X-Xltool-Intake": "0123456789abcdef"}),
    )
    report = run_pass(config)
    assert len(report.ignored) == 7 and not report.answered and not report.held
    assert smtp.messages == []
    assert {r["outcome"] for r in ledger(tmp_path)} == {"ignored"}
    assert not (tmp_path / "store" / "已受理").exists(), "nothing of an automatic message is downloaded"
    assert imap.folders()["&XfJZBHQG-"] == 7


def test_no_more_than_n_replies_per_sender_per_hour(tmp_path, imap, smtp, books):
    config = write_config(tmp_path, imap.port, smtp.port, roster=books["roster"], replies_per_hour=2)
    imap.append(*[message(UNITS["b"][2], f"第{i}次", [("乙.xlsx", books["b"].read_bytes())]) for i in range(3)])
    report = run_pass(config)
    assert len(smtp.messages) == 2 and len(report.held) == 1
    assert "一小时内已给 b@unit-b.example.cn 回复 2 次" in report.held[0].reason


# -- names and shapes of attachments --------------------------------------------------------------------------

NAME = "株洲市芦淞区机关事务服务中心2023年度绩效自评表.xlsx"


@pytest.mark.parametrize("style", ["2047", "2231", "2231-gbk", "raw8"])
def test_chinese_attachment_names_are_read(style, tmp_path, imap, smtp, books):
    config = write_config(tmp_path, imap.port, smtp.port, roster=books["roster"])
    imap.append(message(UNITS["a"][2], "报送", [(NAME, books["a"].read_bytes())], style=style))
    run_pass(config)
    assert list(stored_names(tmp_path).values()) == [[NAME]]
    saved = list((tmp_path / "store" / "已受理").rglob("*.xlsx"))
    assert [p.name for p in saved] == [NAME]
    reply = replies(smtp)[0]
    assert f"{NAME}：必须修改 5 项" in body_text(reply)
    assert "审核标注_株洲市芦淞区机关事务服务中心2023年度绩效自评表.xlsx" in [p.get_filename() for p in reply.iter_attachments()]


def test_a_zip_of_three_workbooks_is_answered_per_workbook(tmp_path, imap, smtp, books):
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        for key in ("a", "b", "c"):
            zf.write(books[key], f"{UNITS[key][0]}.xlsx")
    roster = tmp_path / "roster.csv"  # the supervising department may send for all three units
    roster.write_text("单位名称,单位编码,电子邮箱\n" + "".join(
        f"{n},{c},{m}；{DEPARTMENT}\n" for n, c, m in UNITS.values()), encoding="utf-8")
    config = write_config(tmp_path, imap.port, smtp.port, roster=roster)
    imap.append(message(DEPARTMENT, "三个单位的自评表", [("三个单位.zip", data.getvalue())]))
    report = run_pass(config)
    assert len(report.answered) == 1 and len(smtp.messages) == 1
    reply = replies(smtp)[0]
    assert reply["Subject"] == "【绩效自评审核】收到 3 个文件：通过 0 个，需说明 1 个，需修改 2 个，无法审核 0 个"
    text = body_text(reply)
    for key, verdict in (("a", "必须修改 5 项"), ("b", "通过；需要说明 3 项"), ("c", "必须修改 5 项")):
        assert f"三个单位.zip → {UNITS[key][0]}.xlsx：{verdict}" in text
    names = sorted(p.get_filename() for p in reply.iter_attachments())
    assert names == sorted(f"{kind}_{UNITS[k][0]}.xlsx" for k in "abc" for kind in ("问题清单", "审核标注"))
    assert report.audit is not None and len(report.audit.units) == 3
    # More files in the archives than a message may bring: held unopened, never unpacked into a round.
    bounded = write_config(tmp_path, imap.port, smtp.port, roster=roster, max_attachments=2)
    imap.append(message(DEPARTMENT, "再发一次", [("三个单位.zip", data.getvalue())]))
    report = run_pass(bounded)
    assert len(report.held) == 1 and "压缩包中共有 3 个文件，超过本邮箱每封邮件审核 2 个的上限" in report.held[0].reason
    assert len(smtp.messages) == 1


def test_a_hundred_attachments_are_bounded(tmp_path, imap, smtp, books):
    config = write_config(tmp_path, imap.port, smtp.port, roster=books["roster"], max_attachments=5)
    workbook = books["b"].read_bytes()
    imap.append(message(UNITS["b"][2], "很多附件", [(f"第{i:03d}份.xlsx", workbook) for i in range(100)]))
    report = run_pass(config)
    assert len(report.answered) == 1
    stored = list((tmp_path / "store" / "已受理").rglob("*.xlsx"))
    assert len(stored) == 5
    row = ledger(tmp_path)[0]
    assert len(json.loads(row["dropped"])) == 95
    text = body_text(replies(smtp)[0])
    assert "本邮箱每封邮件最多审核 5 个附件" in text and "第099份.xlsx" in text
    assert text.count("：通过；需要说明 3 项") == 5


def test_a_message_over_the_size_limit_is_not_downloaded(tmp_path, imap, smtp, books):
    config = write_config(tmp_path, imap.port, smtp.port, roster=books["roster"], max_message_mb=0.05)
    imap.append(message(UNITS["a"][2], "大附件", [("甲单位.xlsx", books["a"].read_bytes())]),
                message(STRANGER, "大附件", [("甲单位.xlsx", books["a"].read_bytes())]))
    report = run_pass(config)
    assert [r.sender for r in report.answered] == [UNITS["a"][2]] and [r.sender for r in report.held] == [STRANGER]
    assert not (tmp_path / "store" / "已受理").exists() and not (tmp_path / "store" / "收件").exists()
    reply = replies(smtp)[0]
    assert reply["Subject"] == "【绩效自评审核】邮件过大，未能审核"
    assert "超过本邮箱审核的上限 0.05 MB，未打开" in body_text(reply)
    # The server saw headers fetched, never a body.
    sessions = [line for line in imap.log().splitlines() if "imap(czj)" in line and "Logged out" in line]
    assert sessions and "body_bytes=0" in sessions[-1], sessions[-1:]


def test_other_formats_are_answered_with_what_to_send(tmp_path, imap, smtp, books):
    config = write_config(tmp_path, imap.port, smtp.port, roster=books["roster"])
    imap.append(message(UNITS["a"][2], "报送", [("自评表.xls", b"\xd0\xcf\x11\xe0old"), ("报告.wps", b"wps"),
                                                 ("扫描件.pdf", b"%PDF-1.4"), ("照片.jpg", b"\xff\xd8\xff")]))
    report = run_pass(config)
    assert len(report.answered) == 1
    reply = replies(smtp)[0]
    assert reply["Subject"] == "【绩效自评审核】附件未能审核：请发送 .xlsx 工作簿"
    text = body_text(reply)
    assert "自评表.xls：这种格式无法审核：请用 Excel 或 WPS 打开，“另存为”Excel 工作簿（.xlsx）" in text
    assert "报告.wps：这种格式无法审核：请把报告另存为 Word 文档（.docx）" in text
    assert "扫描件.pdf：扫描件、照片或 PDF" in text and "照片.jpg：" in text
    assert not (tmp_path / "out").exists(), "nothing to audit"


def test_malformed_mime_is_held_with_the_reason(tmp_path, imap, smtp, books):
    config = write_config(tmp_path, imap.port, smtp.port, roster=books["roster"])
    broken = (f"From: {UNITS['a'][2]}\r\nSubject: broken\r\nMessage-ID: <broken@unit-a.example.cn>\r\n"
              'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="never-comes"\r\n\r\n'
              "no boundary at all\r\n").encode("ascii")
    damaged = message(UNITS["a"][2], "损坏", [("甲.xlsx", books["a"].read_bytes())])
    damaged = re.sub(rb"(Content-Transfer-Encoding: base64\r\n\r\n)UEsDB", rb"\1UE!!sDB", damaged, count=1)
    imap.append(broken, damaged)
    report = run_pass(config)
    assert smtp.messages == [] and len(report.held) == 2
    reasons = sorted(r.reason for r in report.held)
    assert any("MIME 结构已损坏" in r for r in reasons) and any("附件 甲.xlsx 已损坏" in r for r in reasons)


# -- the server's ways in -------------------------------------------------------------------------------------

def test_imap_over_ssl_with_the_bureaus_ca(tmp_path, smtp, books, pki):
    server = dovecot.Dovecot(ssl_files=(pki.cert_file, pki.key_file))
    with server:
        config = write_config(tmp_path, server.port, smtp.port, roster=books["roster"], security="ssl",
                              ca_file=pki.ca_file)
        import imaplib
        import ssl

        # The test's own client speaks TLS here too.
        client = imaplib.IMAP4_SSL("127.0.0.1", server.port, ssl_context=ssl.create_default_context(cafile=str(pki.ca_file)))
        client.authenticate("PLAIN", lambda _c: f"\0{dovecot.USER}\0{dovecot.PASSWORD}".encode())
        client.append("INBOX", None, None, message(UNITS["b"][2], "ssl", [("乙.xlsx", books["b"].read_bytes())]))
        client.logout()
        report = run_pass(config)
        assert len(report.answered) == 1 and len(smtp.messages) == 1
        untrusted = write_config(tmp_path, server.port, smtp.port, security="ssl")
        refused = run_cli("--once", "--config", str(untrusted), cwd=tmp_path)
        assert refused.returncode == 2 and "证书" in refused.stderr and "Traceback" not in refused.stderr


def test_wrong_password_and_bad_settings_are_one_chinese_sentence(tmp_path, imap, monkeypatch):
    config = write_config(tmp_path, imap.port, None)
    monkeypatch.setenv("XLTOOL_IMAP_PASSWORD", "wrong")
    refused = run_cli("--once", "--config", str(config), cwd=tmp_path)
    assert refused.returncode == 2 and "拒绝了 czj 的登录" in refused.stderr and "Traceback" not in refused.stderr
    monkeypatch.delenv("XLTOOL_IMAP_PASSWORD")
    missing = run_cli("--once", "--config", str(config), cwd=tmp_path)
    assert missing.returncode == 2 and "XLTOOL_IMAP_PASSWORD" in missing.stderr
    config.write_text(config.read_text(encoding="utf-8").replace("[intake]\n", '[intake]\npassword = "x"\n'),
                      encoding="utf-8")
    secret = run_cli("--once", "--config", str(config), cwd=tmp_path)
    assert secret.returncode == 2 and "密码不能写在" in secret.stderr and '"x"' not in secret.stderr



def test_the_bureaus_rule_settings_decide_the_answer(tmp_path, imap, smtp, books):
    """rules_config (or --rules-config), as for xltool audit: here a score below the rule is 必须修改, so unit
    A's three XT616 move from 需要说明 to 必须修改, and XT021 says the template held other settings (as
    check-workbook --rules-config and xltool audit say); a rules file that cannot be used stops before any mail is read."""
    (tmp_path / "规则.toml").write_text('[policy]\nbelow_rule = "error"\n', encoding="utf-8")
    config = write_config(tmp_path, imap.port, smtp.port, roster=books["roster"], rules_config="规则.toml")
    imap.append(message(UNITS["a"][2], "甲单位自评表", [("甲.xlsx", books["a"].read_bytes())],
                        message_id="<rules-a@unit-a.example.cn>"))
    (tmp_path / "坏规则.toml").write_text("[policy]\nbelow_rule = 3\n", encoding="utf-8")
    bad = run_cli("--once", "--config", str(config), "--rules-config", "坏规则.toml", cwd=tmp_path)
    assert bad.returncode == 2 and "规则配置文件 坏规则.toml 无效" in bad.stderr, bad.stderr
    assert "Traceback" not in bad.stderr and imap.folders()["INBOX"] == 1 and not smtp.messages
    run_pass(config)
    (reply,) = replies(smtp)
    assert reply["Subject"] == "【绩效自评审核】株洲市甲单位2023年度：必须修改 9 项，需要说明 5 项"
    assert "XT616" in body_text(reply) and "XT021" in body_text(reply)

# -- killed at any stage, run again: the same outputs, no second reply ---------------------------------------------

# After download, after audit, after the reply is ledgered in the outbox, after the server accepted it (before
# the outbox knew), after it was recorded as sent, before the message is filed on the server.
KILL_STAGES = ["intake_after_download", "intake_after_audit", "outbox_after_state", "mail_after_accept",
               "mail_after_sent", "intake_before_file"]


def _kill_messages(books) -> list[bytes]:
    return [message(UNITS["a"][2], "甲", [("甲单位.xlsx", books["a"].read_bytes())], message_id="<k-a@unit-a.example.cn>"),
            message(UNITS["b"][2], "乙", [("乙单位.xlsx", books["b"].read_bytes())], message_id="<k-b@unit-b.example.cn>"),
            message(STRANGER, "陌生人", [("甲.xlsx", books["a"].read_bytes())], message_id="<k-s@x.example.com>")]


def _outputs(folder: Path) -> dict:
    """What a pass leaves behind, without times: ledger, stored files, audit outputs, outbox."""
    rows = [{k: r[k] for k in ("key", "outcome", "stage", "reason", "folder", "run_id")} for r in ledger(folder)]
    store = sorted(str(p.relative_to(folder / "store")) for p in (folder / "store").rglob("*.xlsx"))
    out = folder / "out"
    units = sorted(str(p.relative_to(out)) for p in (out / "units").rglob("*.xlsx"))
    csv = (out / "汇总数据.csv").read_text(encoding="utf-8-sig") if (out / "汇总数据.csv").is_file() else ""
    rounds = sqlite3.connect(out / "history.sqlite").execute(
        "SELECT COUNT(*) FROM runs WHERE finished IS NOT NULL").fetchone()[0]
    outbox = sorted(json.loads(p.read_text(encoding="utf-8"))["to"][0] for p in (folder / "outbox").glob("*.json")
                    if p.name != "ledger.json")
    return {"ledger": rows, "store": store, "units": units, "csv": csv, "rounds": rounds, "outbox": outbox}


@pytest.fixture(scope="module")
def uninterrupted(books, tmp_path_factory):
    """The outputs of one pass that nobody killed, to compare the resumed ones with."""
    folder = tmp_path_factory.mktemp("intake_reference")
    smtp = Server(Recorder())
    server = dovecot.Dovecot()
    try:
        server.start()
        config = write_config(folder, server.port, smtp.port, roster=books["roster"])
        server.append(*_kill_messages(books))
        env = dict(os.environ, XLTOOL_IMAP_PASSWORD=dovecot.PASSWORD, XLTOOL_LANG="zh_CN")
        done = subprocess.run([sys.executable, "-m", "xltool", "intake", "--once", "--config", str(config)],
                              capture_output=True, text=True, cwd=folder, timeout=180,
                              env={**env, "PYTHONPATH": str(ROOT)})
        assert done.returncode == 0, done.stderr
        return _outputs(folder), len(smtp.messages)
    finally:
        server.stop(wait=False)
        smtp.stop()


@pytest.mark.parametrize("stage", KILL_STAGES)
def test_killed_at_any_stage_then_rerun_gives_the_same_outputs_and_no_second_reply(stage, tmp_path, imap, smtp,
                                                                                   books, uninterrupted):
    config = write_config(tmp_path, imap.port, smtp.port, roster=books["roster"])
    imap.append(*_kill_messages(books))
    killed = run_cli("--once", "--config", str(config), cwd=tmp_path, kill=stage)
    assert killed.returncode == -9, (killed.returncode, killed.stdout, killed.stderr[-2000:])
    again = run_cli("--once", "--config", str(config), cwd=tmp_path)
    assert again.returncode == 0 and "Traceback" not in again.stdout + again.stderr, again.stderr
    by_recipient = sorted(m.rcpt_tos[0] for m in smtp.messages)
    assert by_recipient == [UNITS["a"][2], UNITS["b"][2]], f"{stage}: {by_recipient}"
    reference, sent = uninterrupted
    assert sent == 2
    mine = _outputs(tmp_path)
    if stage == "mail_after_accept":  # delivered, but the sender died before it knew: a person decides, no resend
        assert "发送途中被中断，可能已经送达" in again.stdout
    assert mine == reference, stage
    assert imap.folders()["INBOX"] == 0


# -- watching --------------------------------------------------------------------------------------------------

def test_idle_picks_up_a_new_message_and_sigterm_stops_cleanly(tmp_path, imap, smtp, books):
    config = write_config(tmp_path, imap.port, smtp.port, roster=books["roster"], poll_interval=600)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen([sys.executable, "-m", "xltool", "intake", "--config", str(config)], cwd=tmp_path,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "store" / "intake.sqlite").is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # the first pass is over and IDLE has begun (the server's poll would take 600 s)
        imap.append(message(UNITS["b"][2], "IDLE", [("乙.xlsx", books["b"].read_bytes())]))
        deadline = time.monotonic() + 60
        while not smtp.messages and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        assert len(smtp.messages) == 1, "the message that arrived during IDLE was not answered"
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, stderr
        assert time.monotonic() - started < 10
        assert "已停止" in stdout and "Traceback" not in stderr
        assert not (tmp_path / "store" / ".xltool-audit.lock").exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_polling_without_idle_and_filing_without_move(tmp_path, smtp, books):
    """A server with neither IDLE nor MOVE (older 政务邮箱 servers): the intake looks every
    poll_interval seconds and files with COPY, \\Deleted and UID EXPUNGE."""
    server = dovecot.Dovecot(capability="IMAP4rev1 LITERAL+ UIDPLUS")
    with server:
        config = write_config(tmp_path, server.port, smtp.port, roster=books["roster"], poll_interval=1)
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        process = subprocess.Popen([sys.executable, "-m", "xltool", "intake", "--config", str(config)],
                                   cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while not (tmp_path / "store" / "intake.sqlite").is_file() and time.monotonic() < deadline:
                time.sleep(0.1)
            server.append(message(UNITS["b"][2], "轮询", [("乙.xlsx", books["b"].read_bytes())]))
            deadline = time.monotonic() + 60
            while not smtp.messages and time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.2)
            assert len(smtp.messages) == 1
            deadline = time.monotonic() + 20
            while server.folders().get("&XfJZBHQG-", 0) != 1 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert server.folders() == {"INBOX": 0, "&XfJZBHQG-": 1}
            process.send_signal(signal.SIGINT)  # Ctrl-C stops it as cleanly as SIGTERM
            stdout, stderr = process.communicate(timeout=30)
            assert process.returncode == 0 and "已停止" in stdout, stderr
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()


def test_the_workbooks_own_email_counts_only_when_the_settings_allow_it(tmp_path, imap, smtp, books):
    strict = write_config(tmp_path, imap.port, smtp.port)  # no roster, the 填表人 address not trusted
    imap.append(message(UNITS["a"][2], "无名册", [("甲.xlsx", books["a"].read_bytes())], message_id="<t1@a>"))
    report = run_pass(strict)
    assert len(report.held) == 1 and "没有单位名册" in report.held[0].reason and not smtp.messages
    trusting = write_config(tmp_path, imap.port, smtp.port, trust_workbook_email=True)
    imap.append(message(UNITS["a"][2], "填表人邮箱", [("甲.xlsx", books["a"].read_bytes())], message_id="<t2@a>"),
                message(UNITS["b"][2], "冒名", [("甲.xlsx", books["a"].read_bytes())], message_id="<t3@b>"))
    report = run_pass(trusting)  # the setting changed: the first message, held for it, is answered too
    assert [(r.sender, r.subject) for r in report.answered] == [(UNITS["a"][2], "无名册"), (UNITS["a"][2], "填表人邮箱")]
    assert [r.sender for r in report.held] == [UNITS["b"][2]]
    # A roster address always wins over the workbook's own.
    roster = tmp_path / "roster.csv"
    roster.write_text(f"单位名称,单位编码,电子邮箱\n{UNITS['a'][0]},{UNITS['a'][1]},office@unit-a.example.cn\n",
                      encoding="utf-8")
    ruled = write_config(tmp_path, imap.port, smtp.port, roster=roster, trust_workbook_email=True)
    imap.append(message(UNITS["a"][2], "名册为准", [("甲.xlsx", books["a"].read_bytes())], message_id="<t4@a>"))
    report = run_pass(ruled)
    assert len(report.held) == 1 and "office" not in report.held[0].reason and len(smtp.messages) == 2
    assert [r.key for r in report.answered] == []  # the impostor's message, decided again, stays held


def test_hostile_attachment_names_never_leave_the_store(tmp_path, imap, smtp, books):
    config = write_config(tmp_path, imap.port, smtp.port, roster=books["roster"])
    data = books["b"].read_bytes()
    names = ["../../../escaped.xlsx", "CON.xlsx", "报表\u202eslx.exe.xlsx", "a" * 300 + ".xlsx", "乙.xlsx", "乙.XLSX"]
    imap.append(message(UNITS["b"][2], "名字", [(n, data) for n in names]))
    report = run_pass(config)
    assert len(report.answered) == 1
    store = (tmp_path / "store").resolve()
    files = [p for p in store.rglob("*") if p.is_file() and p.suffix == ".xlsx"]
    assert len(files) == len(names)
    for path in files:
        assert store in path.resolve().parents and "\u202e" not in path.name and len(path.name) <= 80
        assert path.name.split(".")[0].upper() != "CON"
    outside = [p for p in tmp_path.rglob("*escaped.xlsx") if store not in p.resolve().parents]
    assert outside == [] and not (tmp_path.parent / "escaped.xlsx").exists()


def test_without_an_smtp_server_replies_wait_in_the_outbox(tmp_path, imap, books):
    config = write_config(tmp_path, imap.port, None, roster=books["roster"])
    imap.append(message(UNITS["b"][2], "发件箱", [("乙.xlsx", books["b"].read_bytes())]))
    done = run_cli("--once", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "回复保存在发件箱" in done.stderr and "已写入发件箱 1" in done.stdout
    stored = list((tmp_path / "outbox").glob("*.eml"))
    assert len(stored) == 1
    reply = email.message_from_bytes(stored[0].read_bytes(), policy=policy.default)
    assert reply["To"].addresses[0].addr_spec == UNITS["b"][2] and "通过" in reply["Subject"]
    assert imap.folders()["INBOX"] == 0  # ledgered in the outbox: filed; xltool mail flush sends it later


def test_a_word_report_beside_the_workbook_is_checked_too(tmp_path, imap, smtp, books):
    from xltool.word.writer import make_report

    report_path = make_report(books["b"], tmp_path / "乙单位自评报告.docx")[0]
    config = write_config(tmp_path, imap.port, smtp.port, roster=books["roster"])
    imap.append(message(UNITS["b"][2], "表和报告", [("乙单位.xlsx", books["b"].read_bytes()),
                                                  ("乙单位自评报告.docx", Path(report_path).read_bytes())]))
    report = run_pass(config)
    assert len(report.answered) == 1 and report.audit is not None
    assert len(report.audit.units) == 1 and len(report.audit.units[0].reports) == 1  # the report is the companion
    text = body_text(replies(smtp)[0])
    assert "1. 乙单位.xlsx：通过" in text and "2. 乙单位自评报告.docx：" in text
    assert "无法审核" not in text


def test_a_reply_the_smtp_server_refused_waits_in_the_outbox_for_flush(tmp_path, imap, books):
    port = dovecot.free_port()  # nobody listens here yet
    config = write_config(tmp_path, imap.port, port, roster=books["roster"])
    imap.append(message(UNITS["b"][2], "服务器没开", [("乙.xlsx", books["b"].read_bytes())]))
    done = run_cli("--once", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0 and "Traceback" not in done.stdout + done.stderr, done.stderr
    assert "发送失败 1" in done.stdout and "xltool mail flush" in done.stdout
    assert imap.folders()["INBOX"] == 0  # ledgered in the outbox: the message is filed all the same
    server = Server(Recorder(), port=port)
    try:
        env = {k: v for k, v in os.environ.items()}
        flushed = subprocess.run([sys.executable, "-m", "xltool", "mail", "flush", "--config", str(config)], cwd=tmp_path,
                                 capture_output=True, text=True, env={**env, "PYTHONPATH": str(ROOT)}, timeout=120)
        assert flushed.returncode == 0, flushed.stderr
        assert [m.rcpt_tos for m in server.messages] == [[UNITS["b"][2]]]
        again = run_cli("--once", "--config", str(config), cwd=tmp_path)
        assert again.returncode == 0 and len(server.messages) == 1
    finally:
        server.stop()
