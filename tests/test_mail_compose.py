"""Composing review-result messages and the outbox-only mode (no SMTP server)."""

from __future__ import annotations

import email
import json
import os
from email import policy
from pathlib import Path

import pytest

from xltool.check.finding import CellRef, Finding, Severity, WorkbookReport
from xltool.mail import (
    AddressError,
    AttachmentError,
    DeliveryStatus,
    MailConfigError,
    MailSettings,
    MessageStatus,
    Outbox,
    compose_report_message,
    deliver_report,
    flush,
    parse_address,
    parse_address_list,
    report_attachments,
    report_subject,
    send_test,
)
from xltool.mail.compose import safe_filename

REVIEWER = "reviewer@czj.example.cn"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.upper().startswith("XLTOOL_MAIL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XLTOOL_LANG", "zh_CN")
    monkeypatch.chdir(tmp_path)


def finding(code: str, severity: Severity, message: str, fix: str = "", **kwargs) -> Finding:
    return Finding(code=code, severity=severity, message=message, fix=fix, **kwargs)


@pytest.fixture
def report(tmp_path) -> WorkbookReport:
    return WorkbookReport(
        path=str(tmp_path / "机关事务服务中心.xlsx"),
        sha256="ab" * 32,
        unit="株洲市芦淞区机关事务服务中心",
        year=2023,
        contact_name="张三",
        contact_email="zhangsan@unit.example.cn",
        findings=[
            finding("XT101", Severity.ERROR, "合计不等于分项之和", "请修改合计数",
                    cells=[CellRef(sheet="附件2", cell="D12", label="三公经费", value=12.5)],
                    expected=12.5, actual=15.5, difference=-3.0, instance="D12"),
            finding("XT102", Severity.ERROR, "其中项大于上级项", "请核对其中项", instance="D14"),
            finding("XT305", Severity.WARNING, "执行率低于 90%", "请书面说明", instance="F5"),
        ],
    )


@pytest.fixture
def files(tmp_path):
    issues = tmp_path / "issues.xlsx"
    issues.write_bytes(b"PK\x03\x04 issues")
    annotated = tmp_path / "annotated.xlsx"
    annotated.write_bytes(b"PK\x03\x04 annotated copy")
    return issues, annotated


@pytest.fixture
def settings(tmp_path) -> MailSettings:
    return MailSettings(sender="jxg@czj.example.cn", reviewer=REVIEWER, outbox=tmp_path / "outbox")


def parse(message) -> email.message.EmailMessage:
    return email.message_from_bytes(message.as_bytes(), policy=policy.default)


def test_subject_counts_errors_and_warnings(report):
    assert report_subject(report) == "【绩效自评审核】株洲市芦淞区机关事务服务中心 2023年度：必须修改 2 项，需要说明 1 项"


def test_subject_in_english_locale(report, monkeypatch):
    monkeypatch.setenv("XLTOOL_LANG", "en")
    assert report_subject(report) == (
        "[Self-evaluation review] 株洲市芦淞区机关事务服务中心 2023 annual: 2 must be fixed, 1 need explanation"
    )


def test_clean_workbook_gets_a_short_passed_message(report, settings):
    clean = report.replace(**{"findings": []})
    message = parse(compose_report_message(clean, to=["zhangsan@unit.example.cn"], settings=settings))
    assert message["Subject"] == "【绩效自评审核】株洲市芦淞区机关事务服务中心 2023年度：审核通过"
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "审核通过" in plain and "审核通过" in html
    assert "<table" not in html
    assert list(message.iter_attachments()) == []


def test_bodies_list_every_finding_errors_first(report, settings, files):
    shuffled = report.replace(**{"findings": list(reversed(report.findings))})
    message = parse(compose_report_message(
        shuffled, to=["zhangsan@unit.example.cn"], attachments=report_attachments(report, *files), settings=settings
    ))
    plain = message.get_body(("plain",)).get_content()
    assert plain.index("XT101") < plain.index("XT305") and plain.index("XT102") < plain.index("XT305")
    assert "附件2!D12（三公经费） = 12.50" in plain
    assert "应为：12.50" in plain and "实为：15.50" in plain and "差额：-3.00" in plain
    assert "张三：您好！" in plain
    assert "问题清单_株洲市芦淞区机关事务服务中心.xlsx" in plain


def test_html_in_text_fields_is_escaped(report, settings):
    hostile = report.replace(**{
        "unit": "<b>单位</b>",
        "contact_name": "<img src=x onerror=alert(1)>",
        "findings": [finding("XT1<", Severity.ERROR, "<script>alert('x')</script>", "<a href='http://evil'>点我</a>",
                             cells=[CellRef(sheet="<s>", cell="A1", label="<i>", value="<u>v</u>")],
                             attribution=["<tr>"])],
    })
    message = parse(compose_report_message(hostile, to=["zhangsan@unit.example.cn"], settings=settings))
    html = message.get_body(("html",)).get_content()
    for raw in ("<script>", "<a href=", "<b>单位", "<img", "<s>", "<i>", "<u>"):
        assert raw not in html, raw
    for escaped in ("&lt;script&gt;", "&lt;a href=", "&lt;img src=x", "&lt;b&gt;单位", "&lt;s&gt;!A1", "&lt;tr&gt;"):
        assert escaped in html, escaped
    plain = message.get_body(("plain",)).get_content()
    assert "<script>alert('x')</script>" in plain  # plain text shows the text as typed


def test_header_injection_is_neutralised(report, settings):
    hostile = report.replace(**{"unit": "某单位\r\nBcc: evil@attacker.example.com\r\n\r\nbody",
                                        "contact_name": "张三\r\nX-Evil: 1"})
    raw = compose_report_message(hostile, to=[parse_address("zhangsan@unit.example.cn", source="t",
                                                            display_name=hostile.contact_name)],
                                 settings=settings).as_bytes()
    headers = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    names = [line.split(":", 1)[0].lower() for line in headers.splitlines() if line and not line[0].isspace()]
    assert "bcc" not in names and "x-evil" not in names
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message["Subject"].startswith("【绩效自评审核】某单位 Bcc: evil@attacker.example.com body")


@pytest.mark.parametrize(
    "value, why",
    [
        ("not an address", "名称@域名"),
        ("a@b", "域名"),
        ("a@@b.cn", "名称@域名"),
        ("张三@163.com", "中文"),
        ("a@b.cn\r\nBcc: evil@x.cn", "换行"),
        ("a@b.cn, c@d.cn", "一个地址"),
        ("", "为空"),
        ("a..b@c.cn", "@ 前面"),
        ("a b@c.cn", "@ 前面"),
        ("a@-b.cn", "域名"),
    ],
)
def test_bad_addresses_are_rejected_with_a_clear_chinese_error(value, why):
    with pytest.raises(AddressError) as excinfo:
        parse_address(value, source="--to")
    text = str(excinfo.value)
    assert text.startswith("邮箱地址无效") and "--to" in text and why in text
    assert "\n" not in text


def test_addresses_as_typed_in_workbooks_are_normalised():
    assert parse_address("  ＺhangSan＠163.COM ", source="t").addr_spec == "ZhangSan@163.com"
    assert [a.addr_spec for a in parse_address_list("a@b.cn；c@d.cn、a@b.cn", source="t")] == ["a@b.cn", "c@d.cn"]
    named = parse_address("张三 <zs@unit.example.cn>", source="t")
    assert named.display_name == "张三" and named.addr_spec == "zs@unit.example.cn"


def test_missing_or_bad_workbook_address_is_a_clear_error(report, settings, files):
    with pytest.raises(AddressError) as excinfo:
        deliver_report(report.replace(**{"contact_email": None}), files, settings)
    assert "没有填写电子邮箱" in str(excinfo.value) and "--to" in str(excinfo.value)
    with pytest.raises(AddressError) as excinfo:
        deliver_report(report.replace(**{"contact_email": "张三的邮箱"}), files, settings)
    assert "工作簿中填写的电子邮箱" in str(excinfo.value)
    assert not settings.outbox.exists()
    # --to overrides a bad workbook address
    result = deliver_report(report.replace(**{"contact_email": "bad"}), files, settings, to="ok@unit.example.cn")
    assert result.to == ["ok@unit.example.cn"]


def test_missing_attachment_is_a_clear_error(report, settings, tmp_path):
    with pytest.raises(AttachmentError) as excinfo:
        deliver_report(report, [tmp_path / "nope.xlsx"], settings)
    assert "找不到附件" in str(excinfo.value)


def test_without_host_the_message_goes_to_the_outbox(report, settings, files):
    result = deliver_report(report, report_attachments(report, *files), settings)
    assert result.status is DeliveryStatus.WRITTEN_TO_OUTBOX
    assert result.outbox_path.is_file() and str(result.outbox_path) in result.message
    assert "未配置 SMTP 服务器" in result.message
    assert result.recipients == ["zhangsan@unit.example.cn", REVIEWER]
    (state,) = Outbox(settings.outbox).list()
    assert state.status is MessageStatus.PENDING and state.attempts == 0
    assert [a.filename for a in state.attachments] == [
        "问题清单_株洲市芦淞区机关事务服务中心.xlsx", "审核标注_机关事务服务中心.xlsx"]
    assert state.attachments[1].size == len(files[1].read_bytes())
    stored = email.message_from_bytes(result.outbox_path.read_bytes(), policy=policy.default)
    assert stored["Subject"] == report_subject(report)
    # no temporary files are left behind
    assert sorted(p.suffix for p in settings.outbox.iterdir()) == [".eml", ".json", ".json"]


def test_dry_run_writes_and_sends_nothing(report, settings, files):
    result = deliver_report(report, report_attachments(report, *files), settings, cc="boss@czj.example.cn", dry_run=True)
    assert result.status is DeliveryStatus.DRY_RUN
    assert result.to == ["zhangsan@unit.example.cn"]
    assert result.cc == ["boss@czj.example.cn", REVIEWER]
    assert result.subject == report_subject(report)
    assert [(a.filename, a.size) for a in result.attachments] == [
        ("问题清单_株洲市芦淞区机关事务服务中心.xlsx", len(files[0].read_bytes())),
        ("审核标注_机关事务服务中心.xlsx", len(files[1].read_bytes())),
    ]
    assert result.size > 0 and result.outbox_path is None
    assert not settings.outbox.exists()


def test_duplicates_are_refused_in_outbox_mode_too(report, settings, files):
    first = deliver_report(report, files, settings)
    assert first.status is DeliveryStatus.WRITTEN_TO_OUTBOX
    again = deliver_report(report, files, settings)
    assert again.status is DeliveryStatus.DUPLICATE_REFUSED and not again.ok
    assert "待发送" in again.message
    dry = deliver_report(report, files, settings, dry_run=True)
    assert dry.duplicate_of == first.message_id and "--resend" in dry.message
    changed = report.replace(**{"findings": report.findings[:1]})
    assert deliver_report(changed, files, settings).status is DeliveryStatus.WRITTEN_TO_OUTBOX
    assert deliver_report(report, files, settings, resend=True).status is DeliveryStatus.WRITTEN_TO_OUTBOX
    assert len(Outbox(settings.outbox).list()) == 3


def test_flush_without_host_is_a_config_error(settings):
    with pytest.raises(MailConfigError) as excinfo:
        flush(settings)
    assert "未配置 SMTP 服务器" in str(excinfo.value)


def test_test_message_without_host_goes_to_outbox(settings):
    result = send_test(settings)
    assert result.status is DeliveryStatus.WRITTEN_TO_OUTBOX and result.to == [REVIEWER]
    again = send_test(settings)  # test messages are never deduplicated
    assert again.status is DeliveryStatus.WRITTEN_TO_OUTBOX


def test_placeholder_sender_when_nothing_is_configured(report, tmp_path, files):
    settings = MailSettings(outbox=tmp_path / "ob")
    result = deliver_report(report, files, settings)
    assert result.status is DeliveryStatus.WRITTEN_TO_OUTBOX
    assert result.sender == "xltool@localhost"


def test_state_files_are_valid_json_without_secrets(report, files, tmp_path):
    settings = MailSettings(outbox=tmp_path / "ob", user="jxg@czj.example.cn", password="TopSecret-123")
    deliver_report(report, files, settings)
    for path in settings.outbox.iterdir():
        assert b"TopSecret-123" not in path.read_bytes()
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))


def test_safe_filename():
    cleaned = safe_filename("问题清单_a/b\\c:d*?\"<>|\r\n.xlsx")
    assert cleaned.startswith("问题清单_a_b_c_d") and cleaned.endswith(".xlsx")
    assert not any(ch in cleaned for ch in '/\\:*?"<>|\r\n')
    name = safe_filename("x" * 300 + ".xlsx")
    assert name.endswith(".xlsx") and len(name) == 120
    assert "/" not in safe_filename("../../etc/passwd")


def test_every_mail_message_has_a_chinese_translation():
    """Each msgid used by xltool/mail (code and templates) is in the zh_CN and en catalogs."""
    from babel.messages.extract import extract_from_file
    from babel.messages.pofile import read_po

    import xltool.mail

    root = Path(xltool.mail.__file__).parent
    ids: set[str] = set()
    for path in root.glob("*.py"):
        ids.update(m for _l, m, _c, _x in extract_from_file("python", str(path), keywords={"_": None}))
    for path in (root / "templates").glob("*.j2"):
        ids.update(
            m
            for _l, m, _c, _x in extract_from_file(
                "jinja2.ext:babel_extract", str(path), keywords={"_": None},
                options={"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"},
            )
        )
    assert len(ids) > 50
    locale_dir = root.parent / "locale"
    for locale in ("zh_CN", "en"):
        translated = {}
        for po in sorted((locale_dir / locale / "LC_MESSAGES").glob("*.po")):  # merged at load (i18n.py)
            with po.open("rb") as fh:
                translated.update({m.id: m.string for m in read_po(fh, locale=locale) if m.id and m.string})
        missing = sorted(i for i in ids if not translated.get(i))
        assert not missing, (locale, missing)
        if locale == "en":
            assert all(translated[i] == i for i in ids)
        else:
            assert all(translated[i] != i for i in ids if any(c.isalpha() for c in i))
