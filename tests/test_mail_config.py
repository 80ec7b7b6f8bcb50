"""Mail settings: TOML [mail] table, XLTOOL_MAIL_* environment, password rules, CLI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xltool.check.finding import Finding, Severity, WorkbookReport
from xltool.mail import MailConfigError, MailSettings, Security, deliver_report, load_settings
from xltool.cli.mail import mail_app
from xltool.mail.show import deliver_and_print

SECRET = "Pa55-w0rd-in-file"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.upper().startswith("XLTOOL_MAIL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XLTOOL_LANG", "zh_CN")
    monkeypatch.chdir(tmp_path)


def write_config(folder: Path, body: str, name: str = "xltool.toml") -> Path:
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return path


def test_toml_values_and_relative_paths(tmp_path):
    config_dir = tmp_path / "conf"
    config_dir.mkdir()
    path = write_config(config_dir, """
[other_section]
unrelated = 1

[mail]
host = "smtp.czj.example.cn"
security = "SSL"
user = "jxg@czj.example.cn"
sender_name = "芦淞区财政局绩效股"
reviewer = "reviewer@czj.example.cn"
outbox = "发件箱"
ca_file = "ca.pem"
retries = 5
backoff = 0.5
""")
    settings = load_settings(path)
    assert settings.host == "smtp.czj.example.cn"
    assert settings.security is Security.SSL and settings.effective_port == 465
    assert settings.outbox == config_dir / "发件箱"
    assert settings.ca_file == config_dir / "ca.pem"
    assert settings.retries == 5 and settings.backoff == 0.5
    assert settings.from_address() == "jxg@czj.example.cn"  # user is an address
    assert settings.password is None


def test_default_config_file_in_current_folder_and_env_override(tmp_path, monkeypatch):
    write_config(tmp_path, '[mail]\nhost = "smtp.a.example.cn"\nport = 2525\n')
    monkeypatch.setenv("XLTOOL_MAIL_PORT", "587")
    monkeypatch.setenv("XLTOOL_MAIL_SECURITY", "starttls")
    settings = load_settings()
    assert settings.host == "smtp.a.example.cn" and settings.port == 587
    assert settings.security is Security.STARTTLS


def test_no_config_file_means_outbox_only(tmp_path):
    settings = load_settings()
    assert settings.host is None and not settings.sends
    assert settings.outbox == Path("outbox")
    assert Security.STARTTLS.default_port == 587 and Security.NONE.default_port == 25


def test_explicit_missing_config_is_an_error(tmp_path):
    with pytest.raises(MailConfigError) as excinfo:
        load_settings(tmp_path / "missing.toml")
    assert "找不到配置文件" in str(excinfo.value)


@pytest.mark.parametrize("key", ["password", "PASSWORD", "passwd"])
def test_password_in_toml_is_refused_without_echoing_it(tmp_path, key):
    path = write_config(tmp_path, f'[mail]\nhost = "smtp.a.example.cn"\n{key} = "{SECRET}"\n')
    with pytest.raises(MailConfigError) as excinfo:
        load_settings(path)
    text = str(excinfo.value)
    assert "密码不能写在配置文件" in text and "XLTOOL_MAIL_PASSWORD" in text and key in text
    assert SECRET not in text


def test_password_from_environment_is_secret(tmp_path, monkeypatch):
    write_config(tmp_path, '[mail]\nhost = "smtp.a.example.cn"\nuser = "jxg"\nsender = "jxg@a.example.cn"\n')
    monkeypatch.setenv("XLTOOL_MAIL_PASSWORD", SECRET)
    settings = load_settings()
    assert settings.password.get_secret_value() == SECRET
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert SECRET not in text
    settings.check_can_send()  # complete


def test_unknown_and_invalid_settings(tmp_path):
    path = write_config(tmp_path, '[mail]\nhots = "x"\n')
    with pytest.raises(MailConfigError) as excinfo:
        load_settings(path)
    assert "hots" in str(excinfo.value) and "host" in str(excinfo.value)
    path = write_config(tmp_path, '[mail]\nsecurity = "tls13"\n', name="b.toml")
    with pytest.raises(MailConfigError) as excinfo:
        load_settings(path)
    assert "邮件设置无效" in str(excinfo.value) and "security" in str(excinfo.value)
    path = write_config(tmp_path, 'mail = "x"\n', name="c.toml")
    with pytest.raises(MailConfigError):
        load_settings(path)
    path = write_config(tmp_path, '[mail\n', name="d.toml")
    with pytest.raises(MailConfigError) as excinfo:
        load_settings(path)
    assert "无法读取配置文件" in str(excinfo.value)


def test_check_can_send_explains_what_is_missing(tmp_path):
    with pytest.raises(MailConfigError, match="XLTOOL_MAIL_PASSWORD"):
        MailSettings(host="smtp.a.example.cn", user="jxg", sender="a@a.example.cn").check_can_send()
    with pytest.raises(MailConfigError, match="sender"):
        MailSettings(host="smtp.a.example.cn").check_can_send()
    with pytest.raises(MailConfigError, match="未加密"):
        MailSettings(host="smtp.a.example.cn", security="none", user="jxg", password="x",
                     sender="a@a.example.cn").check_can_send()
    with pytest.raises(MailConfigError, match="CA"):
        MailSettings(host="smtp.a.example.cn", sender="a@a.example.cn", ca_file=tmp_path / "none.pem").check_can_send()
    # Loopback relay without TLS may log in (a local relay such as a mail proxy).
    MailSettings(host="127.0.0.1", security="none", user="jxg", password="x", sender="a@a.example.cn").check_can_send()


def _report(tmp_path) -> WorkbookReport:
    return WorkbookReport(
        path=str(tmp_path / "wb.xlsx"), sha256="cd" * 32, unit="某单位", year=2024,
        contact_email="unit@unit.example.cn",
        findings=[Finding(code="XT101", severity=Severity.ERROR, message="合计不符", fix="请修改", instance="A")],
    )


def test_cli_list_and_test_in_outbox_mode(tmp_path):
    runner = CliRunner()
    empty = runner.invoke(mail_app, ["list"])
    assert empty.exit_code == 0 and "发件箱为空" in empty.output

    write_config(tmp_path, '[mail]\nreviewer = "reviewer@czj.example.cn"\n')
    sent = runner.invoke(mail_app, ["test"], env={"COLUMNS": "200"})
    assert sent.exit_code == 0, sent.output
    assert "已写入发件箱" in sent.output and "reviewer@czj.example.cn" in sent.output

    listing = runner.invoke(mail_app, ["list", "--status", "pending"], env={"COLUMNS": "200"})
    assert listing.exit_code == 0 and "待发送" in listing.output

    flushed = runner.invoke(mail_app, ["flush"])
    assert flushed.exit_code == 2 and "未配置 SMTP 服务器" in flushed.output

    bad = runner.invoke(mail_app, ["test", "--to", "not-an-address"])
    assert bad.exit_code == 2 and "邮箱地址无效" in bad.output

    help_text = runner.invoke(mail_app, ["--help"])
    assert "发件箱" in help_text.output


def test_deliver_and_print_dry_run(tmp_path):
    from rich.console import Console

    console = Console(record=True, width=200)
    result = deliver_and_print(_report(tmp_path), [], dry_run=True, console=console, to="x@unit.example.cn")
    output = console.export_text()
    assert result.status.value == "dry_run"
    assert "试运行" in output and "x@unit.example.cn" in output and "必须修改 1 项" in output
    assert not (tmp_path / "outbox").exists()


def test_deliver_and_print_reports_mail_errors(tmp_path):
    import typer
    from rich.console import Console

    console = Console(record=True, width=200)
    report = _report(tmp_path).replace(**{"contact_email": "bad address"})
    with pytest.raises(typer.Exit) as excinfo:
        deliver_and_print(report, [], console=console)
    assert excinfo.value.exit_code == 2
    assert "邮箱地址无效" in console.export_text()


def test_deliver_report_with_loaded_settings(tmp_path):
    write_config(tmp_path, '[mail]\noutbox = "ob"\n')
    result = deliver_report(_report(tmp_path), [], load_settings())
    assert result.outbox_path.parent == tmp_path / "ob"
