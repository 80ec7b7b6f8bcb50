"""The intake's pieces that need no server: taking messages apart, folder names, settings, decisions."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from helpers import zh_locale  # noqa: F401
from intake_mail import message

from xltool.intake.config import IntakeConfigError, load_intake_settings
from xltool.intake.imap import decode_folder, encode_folder
from xltool.intake.parse import decode_text, parse_message, read_headers

NAME = "芦淞区机关事务服务中心绩效自评表.xlsx"
DATA = b"PK\x03\x04 not really a workbook"


@pytest.mark.parametrize("style", ["2047", "2231", "2231-gbk", "raw8"])
def test_attachment_names_in_every_encoding(style):
    parsed = parse_message(message("a@unit.example.cn", "报送", [(NAME, DATA)], style=style), 20)
    assert [(p.name, p.suffix, p.kind, p.data) for p in parsed.parts] == [(NAME, ".xlsx", "check", DATA)]
    assert parsed.headers.subject == "报送" and parsed.malformed is None


def test_subjects_and_names_in_the_charsets_clients_use():
    gbk_only = "镕"  # in GBK but not in GB2312: a client that labels GBK text "gb2312" must still be read
    word = base64.b64encode(f"报表{gbk_only}".encode("gbk")).decode()
    assert decode_text(f"=?gb2312?B?{word}?=") == f"报表{gbk_only}"
    assert decode_text("=?utf-8?q?=E6=8A=A5=E8=A1=A8?=") == "报表"
    assert decode_text("=?GB18030?B?" + base64.b64encode("表".encode("gb18030")).decode() + "?=") == "表"
    raw = "自评".encode("gbk").decode("ascii", "surrogateescape")  # how the parser keeps raw 8-bit bytes
    assert decode_text(raw) == "自评"
    assert decode_text("plain.xlsx") == "plain.xlsx"


def test_what_is_not_an_attachment_and_what_is_bounded():
    parts = [(f"表{i}.xlsx", DATA) for i in range(5)] + [("扫描.pdf", b"%PDF"), ("旧表.xls", b"\xd0\xcf")]
    parsed = parse_message(message("a@unit.example.cn", "多", parts), 4)
    assert [p.name for p in parsed.parts] == ["表0.xlsx", "表1.xlsx", "表2.xlsx", "表3.xlsx"]
    assert parsed.dropped == ["表4.xlsx", "扫描.pdf", "旧表.xls"]
    parsed = parse_message(message("a@unit.example.cn", "多", parts), 20)
    assert [(p.name, p.kind) for p in parsed.parts][-2:] == [("扫描.pdf", "advice"), ("旧表.xls", "advice")]
    # A signature logo inline in the text is no attachment; a path in a name is dropped.
    inline = (b"From: a@unit.example.cn\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=R\r\n\r\n"
              b"--R\r\nContent-Type: text/html\r\n\r\n<img src=cid:logo>\r\n--R\r\nContent-Type: image/png\r\n"
              b"Content-ID: <logo>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--R\r\n"
              b'Content-Type: application/octet-stream; name="C:\\\\Users\\\\x\\\\..\\\\a.xlsx"\r\n'
              b"Content-Transfer-Encoding: base64\r\n\r\nUEsDBA==\r\n--R--\r\n")
    parsed = parse_message(inline, 20)
    assert [(p.name, p.kind) for p in parsed.parts] == [("a.xlsx", "check")]


def test_broken_structure_is_malformed_never_an_exception():
    no_start = (b"From: a@b.cn\r\nContent-Type: multipart/mixed; boundary=Q\r\n\r\nnothing\r\n")
    assert "MIME" in parse_message(no_start, 20).malformed
    for garbage in (b"", b"\x00\xff" * 100, b"Content-Type: multipart/mixed\r\n\r\n--\r\n", os.urandom(2048)):
        parsed = parse_message(garbage, 20)
        assert parsed.parts == [] or parsed.malformed is None  # whatever it is, it is an answer, not a traceback


def test_automatic_messages_are_recognised_from_headers():
    def why(**headers) -> str | None:
        lines = "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in headers.items())
        return read_headers(f"From: {headers.pop('From', 'a@b.cn')}\r\nSubject: x\r\n{lines}\r\n".encode()).automatic

    assert why() is None
    assert why(Auto_Submitted="no") is None
    assert why(Auto_Submitted="auto-replied") is not None
    assert why(Precedence="bulk") is not None and why(Precedence="first-class") is None
    assert why(List_Unsubscribe="<mailto:x@y.cn>") is not None
    assert why(Return_Path="<>") is not None and why(Return_Path="<a@b.cn>") is None
    assert why(X_Auto_Response_Suppress="All") is not None
    assert read_headers(b"From: MAILER-DAEMON@b.cn\r\nSubject: x\r\n\r\n").automatic is not None
    assert read_headers("From: a@b.cn\r\nSubject: 自动回复：外出\r\n\r\n".encode()).automatic is not None


def test_chinese_folder_names_in_modified_utf7():
    assert encode_folder("已处理") == "&XfJZBHQG-"  # as dovecot, Coremail and Exchange name it
    assert encode_folder("A&B 待处理") == "A&-B &X4VZBHQG-"
    for name in ("INBOX", "已处理", "待处理/2024", "a&b"):
        assert decode_folder(encode_folder(name)) == name


def test_settings_keep_the_password_out_of_files(tmp_path, monkeypatch):
    monkeypatch.delenv("XLTOOL_IMAP_PASSWORD", raising=False)
    config = tmp_path / "xltool.toml"
    config.write_text('[intake]\nhost = "imap.czj.example.gov.cn"\nuser = "jxg"\nauthcode = "123456"\n', encoding="utf-8")
    with pytest.raises(IntakeConfigError) as refused:
        load_intake_settings(config)
    assert "authcode" in str(refused.value) and "123456" not in str(refused.value)
    config.write_text('[intake]\nhost = "imap.czj.example.gov.cn"\nuser = "jxg"\nroster = "名册.csv"\nsmtp = 1\n',
                      encoding="utf-8")
    with pytest.raises(IntakeConfigError, match="smtp"):
        load_intake_settings(config)
    config.write_text('[intake]\nhost = "imap.czj.example.gov.cn"\nuser = "jxg"\nroster = "名册.csv"\n', encoding="utf-8")
    settings = load_intake_settings(config)
    assert settings.roster == tmp_path / "名册.csv" and settings.effective_port == 993
    with pytest.raises(IntakeConfigError, match="XLTOOL_IMAP_PASSWORD"):
        settings.check_usable()
    monkeypatch.setenv("XLTOOL_IMAP_PASSWORD", "授权码")
    plain = load_intake_settings(config, security="none")
    with pytest.raises(IntakeConfigError, match="明文"):
        plain.check_usable()
    assert "授权码" not in repr(plain) and "授权码" not in plain.model_dump_json()
    same = load_intake_settings(config, processed_folder="INBOX")
    with pytest.raises(IntakeConfigError, match="INBOX"):
        same.check_usable()


def test_the_decision_table():
    from xltool.audit.roster import Roster, RosterUnit
    from xltool.intake.decide import ANSWER, HELD, NOTICE, Registry, decide
    from xltool.intake.screen import Checked

    roster = Roster([RosterUnit("甲单位", "001", "a@x.cn；dept@x.cn"), RosterUnit("乙单位", "002", "")])
    registry = Registry(roster)

    def book(code: str, email: str = "", status: str = "ok") -> Checked:
        return Checked(1, "x.xlsx", Path("x.xlsx"), "0" * 64, status, {"unit_code": code, "unit": "", "email": email},
                       None, "")

    def run(sender, checked, used=0, **kw):
        args = dict(sender=sender, senders=1, malformed="", oversize=False, has_parts=True, dropped=False,
                    checked=checked, registry=registry, used=used, budget=3)
        args.update(kw)
        return decide(**args)[0]

    assert run("a@x.cn", [book("001")]) == ANSWER
    assert run("DEPT@x.cn", [book("001")]) == ANSWER  # addresses compare case-blind
    assert run("b@x.cn", [book("001")]) == HELD
    assert run("a@x.cn", [book("002")]) == HELD  # the roster has no address for 乙单位
    assert run("a@x.cn", [book("002", "a@x.cn")]) == HELD  # ... and the workbook's own is not trusted
    assert run("a@x.cn", [book("002", "a@x.cn")], registry=Registry(roster, True)) == ANSWER
    assert run("a@x.cn", [book("001", "b@x.cn")], registry=Registry(roster, True)) == ANSWER  # roster wins
    assert run("b@x.cn", [book("001", "b@x.cn")], registry=Registry(roster, True)) == HELD
    assert run("a@x.cn", [book("009")]) == HELD  # not on the roster
    assert run("a@x.cn", [book("", status="unreadable")]) == ANSWER  # a registered sender hears why
    assert run("z@y.cn", [book("", status="unreadable")]) == HELD
    assert run("a@x.cn", []) == NOTICE  # only .xls or PDF: what to send instead
    assert run("z@y.cn", []) == HELD
    assert run("a@x.cn", [book("001")], used=3) == HELD  # the hourly budget
    assert run("a@x.cn", [book("001")], senders=2) == HELD
    assert run("a@x.cn", [], has_parts=False) == HELD  # no attachment: a person reads it
    assert run("a@x.cn", [], has_parts=False, oversize=True) == NOTICE
    assert run("a@x.cn", [book("001")], malformed="broken") == HELD

    # Held because of whose address it is (a changed roster decides again), or for another reason (never).
    def by_roster(sender, checked, used=0, **kw):
        args = dict(sender=sender, senders=1, malformed="", oversize=False, has_parts=True, dropped=False,
                    checked=checked, registry=registry, used=used, budget=3)
        args.update(kw)
        return decide(**args).by_roster

    assert by_roster("b@x.cn", [book("001")]) and by_roster("a@x.cn", [book("009")]) and by_roster("z@y.cn", [])
    assert by_roster("z@y.cn", [book("", status="unreadable")])
    assert not by_roster("a@x.cn", [book("001")])  # answered
    assert not by_roster("a@x.cn", [book("001")], used=3)
    assert not by_roster("b@x.cn", [book("001")], senders=2)
    assert not by_roster("b@x.cn", [book("001")], malformed="broken")
    assert not by_roster("b@x.cn", [], has_parts=False)


def _forward(inner: bytes, encoded: bool) -> bytes:
    part = (b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(inner)
            if encoded else b"Content-Type: message/rfc822\r\n\r\n" + inner)
    return (b"From: a@unit.example.cn\r\nSubject: fw\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=F\r\n\r\n--F\r\nContent-Type: text/plain\r\n\r\nfw\r\n--F\r\n"
            + part + b"\r\n--F--\r\n")


def test_forwarded_messages_give_up_their_workbooks_to_a_depth():
    import io
    import zipfile

    inner = message("b@unit.example.cn", "原", [(NAME, DATA)])
    for encoded in (False, True):
        parsed = parse_message(_forward(inner, encoded), 20)
        assert [(p.name, p.kind) for p in parsed.parts] == [(NAME, "check")] and parsed.malformed is None
    deep = inner
    for _level in range(5):
        deep = _forward(deep, True)
    parsed = parse_message(deep, 20)
    assert [(p.name, p.suffix, p.kind) for p in parsed.parts] == [("转发的邮件1.eml", ".eml", "advice")]
    # No name: a workbook is known by its bytes; anything else is listed, never dropped.
    book = io.BytesIO()
    with zipfile.ZipFile(book, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
    nameless = (b"From: a@unit.example.cn\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=N\r\n\r\n"
                b"--N\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                + base64.encodebytes(book.getvalue()) + b"--N\r\nContent-Type: application/octet-stream\r\n\r\n?\r\n"
                b'--N\r\nContent-Type: application/ms-tnef; name="ATT00001.dat"\r\n\r\nx\r\n'
                b'--N\r\nContent-Type: application/vnd.ms-outlook; name="a.msg"\r\n\r\nx\r\n--N--\r\n')
    parsed = parse_message(nameless, 20)
    assert [(p.name, p.suffix, p.kind) for p in parsed.parts] == [
        ("附件1.xlsx", ".xlsx", "check"), ("附件2", "", "advice"), ("ATT00001.dat", ".tnef", "advice"),
        ("a.msg", ".msg", "advice")]
    from xltool.intake.parse import advice

    assert "winmail.dat" in advice(".tnef") and "没有文件名" in advice("") and ".msg" in advice(".msg")


def test_a_name_lost_to_question_marks_in_one_header_is_taken_from_the_other():
    import urllib.parse

    value = urllib.parse.quote(NAME.encode("gbk"))
    raw = (b"From: a@unit.example.cn\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n"
           + f"Content-Type: application/octet-stream; name*=GBK''{value}\r\n".encode()
           + b'Content-Disposition: attachment; filename="????????.xlsx"\r\n\r\nPK\r\n--B--\r\n')
    assert [p.name for p in parse_message(raw, 20).parts] == [NAME]
