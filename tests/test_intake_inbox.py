"""What a bureau's mailbox really receives, against dovecot: every file is audited or listed with a
Chinese reason, nothing raises, nothing is lost.

Names encoded by Chinese clients (QQ mail's RFC 2231 in GB18030, Foxmail's and Outlook's RFC 2047 words
split in the middle of a character), a workbook inside a forwarded message (message/rfc822 as it is, and
base64-encoded as an attached .eml), a zip with GBK member names, Outlook's winmail.dat, a part with no
name at all, and the same workbook sent twice. Every message is written by hand here, byte by byte.
"""

from __future__ import annotations

import base64
import io
import sqlite3
import urllib.parse
import uuid
import zipfile

from helpers import form, zh_locale  # noqa: F401
from intake_mail import XLSX, message, write_config
from test_intake import UNITS, _environment, body_text, books, imap, ledger, replies, run_pass, smtp  # noqa: F401

SENDER = UNITS["b"][2]
RARE = "䶮"  # CJK extension A: in GB18030, not in GBK


def variant(data: bytes, n: int) -> bytes:
    """The same workbook with other bytes (a zip comment): a file the unit saved again."""
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a") as zf:
        zf.comment = f"variant {n}".encode("ascii")
    return buffer.getvalue()


def _wrap(parts: list[bytes], subject: str, message_id: str, sender: str = SENDER) -> bytes:
    boundary = "=_outer_" + uuid.uuid4().hex[:12]
    head = (f"From: {sender}\r\nTo: czj@czj.example.cn\r\nSubject: =?GBK?B?"
            f"{base64.b64encode(subject.encode('gbk')).decode()}?=\r\nDate: Fri, 15 Mar 2024 11:00:00 +0800\r\n"
            f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
            f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n').encode("ascii")
    body = (f"--{boundary}\r\nContent-Type: text/plain; charset=GBK\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            ).encode("ascii") + base64.encodebytes("见附件。".encode("gbk"))
    return head + body + b"".join(f"--{boundary}\r\n".encode("ascii") + p for p in parts) + f"--{boundary}--\r\n".encode()


def _b64(data: bytes) -> bytes:
    return b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(data)


def qq_gb18030(name: str, data: bytes) -> bytes:
    """QQ mail: RFC 2231 in GB18030, in two continuations."""
    value = urllib.parse.quote(name.encode("gb18030"))
    cut = 3 * 5  # five bytes: the middle of a two-byte character
    return (f"Content-Type: {XLSX}\r\nContent-Disposition: attachment;\r\n filename*0*=gb18030''{value[:cut]};\r\n"
            f" filename*1*={value[cut:]}\r\n").encode("ascii") + _b64(data)


def foxmail_split(name: str, data: bytes) -> bytes:
    """Foxmail and Outlook: RFC 2047 words in quotes, the bytes split between words inside a character."""
    raw = name.encode("gb18030")
    words = [base64.b64encode(raw[i:i + 9]).decode() for i in range(0, len(raw), 9)]
    encoded = "\r\n ".join(f"=?GB18030?B?{w}?=" for w in words)
    return (f'Content-Type: application/octet-stream;\r\n name="{encoded}"\r\n'
            f'Content-Disposition: attachment;\r\n filename="{encoded}"\r\n').encode("ascii") + _b64(data)


def gbk_zip(members: dict[str, bytes]) -> bytes:
    """A zip as Windows' own compressor and WinRAR write it in China: GBK names, no UTF-8 flag."""
    buffer = io.BytesIO()
    stand_ins = {}
    with zipfile.ZipFile(buffer, "w") as zf:
        for i, (name, data) in enumerate(members.items()):
            raw = name.encode("gbk")
            stand_in = f"{i:02d}".encode() + b"x" * (len(raw) - 2)
            stand_ins[stand_in] = raw
            zf.writestr(stand_in.decode("ascii"), data)
    out = buffer.getvalue()
    for stand_in, raw in stand_ins.items():
        out = out.replace(stand_in, raw)
    with zipfile.ZipFile(io.BytesIO(out)) as check:
        assert all(not i.flag_bits & 0x800 for i in check.infolist())
    return out


def test_what_a_bureaus_mailbox_really_receives(tmp_path, imap, smtp, books):
    config = write_config(tmp_path, imap.port, smtp.port, roster=books["roster"], replies_per_hour=20)
    workbook = books["b"].read_bytes()
    qq_name = f"芦淞区{RARE}中心绩效自评表.xlsx"
    fox_name = "株洲市芦淞区机关事务服务中心2023年度绩效自评表.xlsx"
    forwarded = message(SENDER, "原邮件", [("转发的自评表.xlsx", variant(workbook, 3))], style="2047",
                        message_id="<inner-1@unit-b.example.cn>")
    attached_eml = message(SENDER, "原邮件二", [("附件中的自评表.xlsx", variant(workbook, 4))], style="2231-gbk",
                           message_id="<inner-2@unit-b.example.cn>")
    encoded_forward = message(SENDER, "原邮件三", [("编码转发的自评表.xlsx", variant(workbook, 6))],
                              message_id="<inner-3@unit-b.example.cn>")
    eml_name = base64.b64encode("原邮件.eml".encode("gbk")).decode()
    archive = gbk_zip({"乙单位自评表.xlsx": variant(workbook, 5), "扫描件.pdf": b"%PDF-1.4 scan"})
    tnef = b"\x78\x9f\x3e\x22" + b"\x00" * 60  # TNEF's signature; Outlook's rich-text attachments inside
    imap.append(
        _wrap([qq_gb18030(qq_name, variant(workbook, 1))], "QQ邮箱", "<qq@b>"),
        _wrap([foxmail_split(fox_name, variant(workbook, 2))], "Foxmail", "<fox@b>"),
        _wrap([b"Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n" + forwarded], "转发", "<fw@b>"),
        _wrap([f'Content-Type: application/octet-stream; name="=?GBK?B?{eml_name}?="\r\n'
               f'Content-Disposition: attachment; filename="=?GBK?B?{eml_name}?="\r\n'.encode("ascii")
               + _b64(attached_eml)], "作为附件转发", "<eml@b>"),
        _wrap([b"Content-Type: message/rfc822\r\n" + _b64(encoded_forward)], "编码的转发", "<fw64@b>"),
        _wrap([b'Content-Type: application/zip; name="=?GBK?B?'
               + base64.b64encode("自评表.zip".encode("gbk")) + b'?="\r\n' + _b64(archive)], "压缩包", "<zip@b>"),
        _wrap([b'Content-Type: application/ms-tnef; name="winmail.dat"\r\n'
               b'Content-Disposition: attachment; filename="winmail.dat"\r\n' + _b64(tnef)], "Outlook", "<tnef@b>"),
        _wrap([b"Content-Type: application/octet-stream\r\n" + _b64(variant(workbook, 7)),
               b"Content-Type: application/octet-stream\r\n" + _b64(b"\x00\x01\x02 who knows")], "无名附件",
              "<nameless@b>"),
    )
    report = run_pass(config)
    assert not report.held and not report.problems, ([(r.subject, r.reason) for r in report.held], report.problems)
    assert len(report.answered) == 8
    got = {r["In-Reply-To"]: body_text(r) for r in replies(smtp)}
    assert sorted(got) == sorted(["<qq@b>", "<fox@b>", "<fw@b>", "<eml@b>", "<fw64@b>", "<zip@b>", "<tnef@b>",
                                  "<nameless@b>"])
    assert f"1. {qq_name}：通过；需要说明 3 项" in got["<qq@b>"]
    assert f"1. {fox_name}：通过；需要说明 3 项" in got["<fox@b>"]
    assert "1. 转发的自评表.xlsx：通过；需要说明 3 项" in got["<fw@b>"]
    assert "1. 附件中的自评表.xlsx：通过；需要说明 3 项" in got["<eml@b>"]
    assert "1. 编码转发的自评表.xlsx：通过；需要说明 3 项" in got["<fw64@b>"]
    assert not any("内容完全相同" in text for text in got.values())
    assert "自评表.zip → 乙单位自评表.xlsx：通过；需要说明 3 项" in got["<zip@b>"]
    assert "自评表.zip → 扫描件.pdf：无法审核" in got["<zip@b>"]
    assert "winmail.dat：" in got["<tnef@b>"] and "Outlook" in got["<tnef@b>"] and "RTF" in got["<tnef@b>"]
    nameless = got["<nameless@b>"]
    assert "：通过；需要说明 3 项" in nameless and "没有文件名" in nameless, nameless
    # The rule: every attachment the ledger holds is named in its reply.
    names = {}
    for row in ledger(tmp_path):
        names[row["message_id"]] = [n for (n,) in sqlite3.connect(tmp_path / "store" / "intake.sqlite").execute(
            "SELECT name FROM attachments WHERE key = ?", (row["key"],))]
    for message_id, text in got.items():
        assert names[message_id], message_id
        for name in names[message_id]:
            assert name in text, (message_id, name)
    # Each workbook went into the audit round.
    assert report.audit is not None
    submissions = sqlite3.connect(tmp_path / "out" / "history.sqlite").execute("SELECT source FROM submissions")
    assert len(submissions.fetchall()) == 7  # seven workbooks (the PDF in the zip is listed, not audited)


def test_the_same_workbook_sent_twice_is_answered_as_a_duplicate(tmp_path, imap, smtp, books):
    """The second copy from the same sender is answered (the unit may have lost the first reply), says it is
    the same file as before and is not put into the audit round again: the round keeps one copy."""
    config = write_config(tmp_path, imap.port, smtp.port, roster=books["roster"])
    data = books["b"].read_bytes()
    imap.append(message(SENDER, "报送", [("乙单位.xlsx", data)], message_id="<first@b>"))
    first = run_pass(config)
    assert first.audit is not None and len(smtp.messages) == 1
    imap.append(message(SENDER, "再发一次", [("乙单位（再发）.xlsx", data)], message_id="<second@b>"),
                message(SENDER, "又一次", [("乙单位.xlsx", data), ("乙单位-新.xlsx", variant(data, 9))],
                        message_id="<third@b>"))
    second = run_pass(config)
    assert not second.held and len(smtp.messages) == 3
    got = {r["In-Reply-To"]: r for r in replies(smtp)}
    text = body_text(got["<second@b>"])
    assert "乙单位（再发）.xlsx：通过；需要说明 3 项" in text
    when = {r["message_id"]: r["sent"][:16] for r in ledger(tmp_path)}["<first@b>"]
    assert f"与 {when} 收到的文件内容完全相同（乙单位.xlsx）" in text and "不再重复计入审核" in text, text
    assert "重复" in got["<second@b>"]["Subject"]
    third = body_text(got["<third@b>"])
    assert third.count("内容完全相同") == 1 and "乙单位-新.xlsx：通过" in third
    history = sqlite3.connect(tmp_path / "out" / "history.sqlite")
    sources = [s for (s,) in history.execute("SELECT source FROM submissions ORDER BY source")]
    assert not any("second" in s or "再发" in s for s in sources), sources
    rows = {r["message_id"]: r for r in ledger(tmp_path)}
    assert rows["<second@b>"]["stage"] == "filed" and rows["<second@b>"]["run_id"] is None
    assert (tmp_path / "store" / "已受理").is_dir()
    # The same file from another registered address of the unit is no duplicate of this sender's: answered
    # plainly (nothing told of the other's mail), and the round sets the second copy aside as xltool audit does.
    roster = tmp_path / "roster.csv"
    roster.write_text(books["roster"].read_text(encoding="utf-8").replace(SENDER, f"{SENDER}；office@unit-b.example.cn"),
                      encoding="utf-8")
    config.write_text(config.read_text(encoding="utf-8").replace(books["roster"].as_posix(), roster.as_posix()),
                      encoding="utf-8")
    imap.append(message("office@unit-b.example.cn", "办公室代发", [("乙.xlsx", data)], message_id="<office@b>"))
    run_pass(config)
    office = body_text({r["In-Reply-To"]: r for r in replies(smtp)}["<office@b>"])
    assert "乙.xlsx：通过" in office and "内容完全相同" not in office


def test_our_own_copy_sent_back_unchanged_is_told_so_and_not_audited_again(tmp_path, imap, smtp, books):
    """A unit that answers our reply with its attachments (the 审核标注 copy, the 问题清单) as they came is
    told which of our files it sent back, and the round does not count them as a new return; the same copy
    after the unit edited it is a new return like any other."""
    config = write_config(tmp_path, imap.port, smtp.port, roster=books["roster"])
    imap.append(message(SENDER, "报送", [("乙单位.xlsx", books["b"].read_bytes())], message_id="<first@b>"))
    run_pass(config)
    (reply,) = replies(smtp)
    ours = {part.get_filename(): part.get_payload(decode=True) for part in reply.iter_attachments()}
    copy = next(name for name in ours if "标注" in name)
    assert any(name != copy and name.endswith(".xlsx") for name in ours), sorted(ours)
    imap.append(message(SENDER, "回复：审核结果", [(copy, ours[copy])], message_id="<back@b>"),
                message(SENDER, "修改后", [("乙单位-已修改.xlsx", variant(ours[copy], 1))], message_id="<edited@b>"))
    second = run_pass(config)
    assert not second.held and not second.problems, second.problems
    got = {r["In-Reply-To"]: r for r in replies(smtp)}
    back = body_text(got["<back@b>"])
    when = {r["message_id"]: r["sent"][:16] for r in ledger(tmp_path)}["<first@b>"]
    assert f"这是我们回复您 {when} 来信时附上的 {copy}，寄回时未作任何修改" in back, back
    assert "重复" in got["<back@b>"]["Subject"]
    assert copy in {part.get_filename() for part in got["<back@b>"].iter_attachments()}  # not 审核标注_审核标注_
    edited = body_text(got["<edited@b>"])
    assert "乙单位-已修改.xlsx：通过；需要说明 3 项" in edited and "未作任何修改" not in edited, edited
    history = sqlite3.connect(tmp_path / "out" / "history.sqlite")
    sources = [s for (s,) in history.execute("SELECT source FROM submissions ORDER BY source")]
    assert any("已修改" in s for s in sources) and not any("标注" in s for s in sources), sources
    # What went out is what the ledger remembers: the outbox's stored message, attachment by attachment.
    db = sqlite3.connect(tmp_path / "store" / "intake.sqlite")
    remembered = {name for (name,) in db.execute("SELECT name FROM sent")}
    assert set(ours) <= remembered, (sorted(ours), sorted(remembered))
