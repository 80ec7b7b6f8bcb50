"""Recipients taken from a workbook: at most a few (default 3), only valid ones; the rest reported.

Attack (docs/security.md): A16 a unit's 电子邮箱 cell with 500 addresses, so the bureau's
findings and the unit's workbook would go to all of them.
"""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest

from secsupport import EXAMPLE
from helpers import edit_inputs, form_2023, zh_locale  # noqa: F401

from xltool.check.checker import check_path
from xltool.mail.config import MailSettings
from xltool.mail.deliver import deliver_report
from xltool.mail.errors import AddressError

MANY = "；".join(f"person{n}@unit{n}.example.cn" for n in range(500))


def _to(result) -> list[str]:
    message = email.message_from_bytes(Path(result.outbox_path).read_bytes(), policy=policy.default)
    return [a.addr_spec for a in message["To"].addresses]


@pytest.fixture(scope="module")
def report():
    return check_path(EXAMPLE)[1]


def test_five_hundred_addresses_in_the_workbook_become_three(tmp_path, report):
    hostile = report.replace(**{"contact_email": MANY})
    result = deliver_report(hostile, [], MailSettings(outbox=tmp_path / "outbox"))
    assert _to(result) == ["person0@unit0.example.cn", "person1@unit1.example.cn", "person2@unit2.example.cn"]
    assert result.recipients == result.to and len(result.to) == 3
    assert len(result.dropped) == 497 and "person499@unit499.example.cn" in result.dropped
    assert "497" in result.message


def test_the_limit_is_a_setting(tmp_path, report):
    hostile = report.replace(**{"contact_email": MANY})
    result = deliver_report(hostile, [], MailSettings(outbox=tmp_path / "outbox", max_workbook_recipients=1))
    assert len(_to(result)) == 1 and len(result.dropped) == 499


def test_invalid_addresses_are_left_out_and_reported(tmp_path, report):
    hostile = report.replace(**{"contact_email": "not-an-address、张三@163.com；ok@unit.example.cn，b@-x.cn"})
    result = deliver_report(hostile, [], MailSettings(outbox=tmp_path / "outbox"))
    assert _to(result) == ["ok@unit.example.cn"]
    assert set(result.dropped) == {"not-an-address", "张三@163.com", "b@-x.cn"}
    assert all("邮箱地址无效" in why for why in result.dropped.values())


def test_a_line_break_still_refuses_the_whole_cell(tmp_path, report):
    hostile = report.replace(**{"contact_email": "a@b.cn\r\nBcc: evil@x.cn"})
    settings = MailSettings(outbox=tmp_path / "outbox")
    with pytest.raises(AddressError):
        deliver_report(hostile, [], settings)
    assert not settings.outbox.exists()


def test_the_batch_audit_mails_at_most_three_workbook_addresses(tmp_path, monkeypatch):
    """The desk's and ``xltool audit --email``'s path: no roster, so the address is the workbook's."""
    from xltool.audit.run import AuditOptions, run_audit

    inbox = tmp_path / "in"
    inbox.mkdir()
    edit_inputs(EXAMPLE, inbox / "many.xlsx", form_2023(), {"info_email": MANY})
    outbox = tmp_path / "outbox"
    config = tmp_path / "xltool.toml"
    config.write_text(f'[mail]\noutbox = "{outbox.as_posix()}"\n', encoding="utf-8")
    run_audit(AuditOptions(inputs=[inbox], out=tmp_path / "out", jobs=1, email=True, mail_config=config))
    messages = list(outbox.rglob("*.eml"))
    assert len(messages) == 1
    message = email.message_from_bytes(messages[0].read_bytes(), policy=policy.default)
    assert len(message["To"].addresses) == 3
