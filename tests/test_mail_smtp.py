"""Mail delivery against a real SMTP server (aiosmtpd on 127.0.0.1), no mocks.

Covers plain SMTP, STARTTLS and implicit TLS verified against a throw-away CA made
with the openssl CLI, AUTH LOGIN/PLAIN, transient failures (refused connection,
451, timeout) with retry and flush, permanent ones (550, bad login, untrusted
certificate), deduplication and header injection.

With CI=true a test server that cannot start fails the tests instead of skipping them.
"""

from __future__ import annotations

import base64
import email
import io
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from email import policy
from pathlib import Path

import openpyxl
import pytest

from xltool.check.finding import CellRef, Finding, Severity, WorkbookReport
from xltool.mail import (
    AddressError,
    DeliveryStatus,
    MailSettings,
    MessageStatus,
    Outbox,
    deliver_report,
    flush,
    load_settings,
    report_attachments,
    send_test,
)

IN_CI = os.environ.get("CI", "").lower() == "true"
SENDER = "jxg@czj.example.cn"
REVIEWER = "reviewer@czj.example.cn"
UNIT_EMAIL = "zhangsan@unit.example.cn"
PASSWORD = "S3cret-Pa55-绩效"  # non-ASCII on purpose: it must survive AUTH and never leak
USER = "jxg"


def _unavailable(what: str, exc: BaseException | None = None) -> None:
    detail = f"{what}: {exc!r}" if exc else what
    if IN_CI:
        pytest.fail(f"SMTP test infrastructure unavailable in CI ({detail})")
    pytest.skip(f"SMTP test infrastructure unavailable ({detail})")


try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult
except ImportError as _import_error:  # pragma: no cover - depends on the environment
    Controller = None  # type: ignore[assignment]
    AuthResult = None  # type: ignore[assignment]
    _AIOSMTPD_ERROR: ImportError | None = _import_error
else:
    _AIOSMTPD_ERROR = None


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.upper().startswith("XLTOOL_MAIL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XLTOOL_LANG", "zh_CN")
    monkeypatch.chdir(tmp_path)


# -- the test server ---------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=policy.default)


@dataclass
class Recorder:
    """aiosmtpd handler: records accepted messages; scripted DATA replies and refused
    recipients simulate server trouble."""

    data_replies: list[str] = field(default_factory=list)
    reject_rcpt: dict[str, str] = field(default_factory=dict)
    messages: list[Received] = field(default_factory=list)
    data_calls: int = 0
    auth_mechanisms: list[str] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject_rcpt:
            return self.reject_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_calls += 1
        if self.data_replies:
            return self.data_replies.pop(0)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A running aiosmtpd Controller on 127.0.0.1 with its recorder."""

    def __init__(self, recorder: Recorder, port: int | None = None, **kwargs) -> None:
        if Controller is None:
            _unavailable("aiosmtpd is not installed", _AIOSMTPD_ERROR)
        self.recorder = recorder
        last: BaseException | None = None
        for _attempt in range(5):
            self.port = port or free_port()
            self.controller = Controller(recorder, hostname="127.0.0.1", port=self.port, ready_timeout=5, **kwargs)
            try:
                self.controller.start()
                return
            except Exception as exc:  # noqa: BLE001 - port taken by a race, retry
                last = exc
                if port:
                    break
        _unavailable("aiosmtpd controller did not start", last)

    @property
    def messages(self) -> list[Received]:
        return self.recorder.messages

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def start_server():
    servers: list[Server] = []

    def start(recorder: Recorder | None = None, port: int | None = None, **kwargs) -> Server:
        server = Server(recorder or Recorder(), port=port, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def smtp_server(start_server) -> Server:
    return start_server()


# -- certificates ----------------------------------------------------------------------------


@dataclass
class Pki:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.cert_file), str(self.key_file))
        return context


def _pki_with_openssl(folder: Path) -> str | None:
    """Make ca.pem, server.pem, server.key with the openssl CLI; an error text or None."""
    ext = folder / "server.ext"
    ext.write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid,issuer\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    commands = [
        ["openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
         "-subj", "/CN=xltool test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["openssl", "req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"],
        ["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext"],
    ]
    for command in commands:
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            return f"openssl failed: {' '.join(command[:3])}: {done.stderr.strip()}"
    return None


def _pki_with_cryptography(folder: Path) -> None:
    """The same files made with the cryptography package (when there is no openssl CLI)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xltool test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> Pki:
    """A CA and a server certificate for localhost / 127.0.0.1 (openssl CLI, else the
    cryptography package)."""
    folder = tmp_path_factory.mktemp("pki")
    problem = _pki_with_openssl(folder) if shutil.which("openssl") else "openssl CLI not found"
    if problem is not None:
        try:
            _pki_with_cryptography(folder)
        except ImportError:
            _unavailable(f"{problem}; the cryptography package is not installed either")
    return Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key")


# -- inputs -------------------------------------------------------------------------------


def make_xlsx(path: Path, title: str) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "问题清单"
    sheet["A1"] = title
    sheet["B2"] = 12.34
    workbook.save(path)
    return path


@pytest.fixture
def report(tmp_path) -> WorkbookReport:
    return WorkbookReport(
        path=str(tmp_path / "芦淞区机关事务服务中心2023自评.xlsx"),
        sha256="1f" * 32,
        unit="株洲市芦淞区机关事务服务中心",
        year=2023,
        contact_name="张三",
        contact_email=UNIT_EMAIL,
        findings=[
            Finding(
                code="XT101",
                severity=Severity.ERROR,
                message="三公经费合计与分项之和不等",
                fix="请核对公务接待费后修改合计数",
                cells=[
                    CellRef(sheet="附件2", cell="D12", label="三公经费", value=12.5),
                    CellRef(sheet="附件2", cell="D13", label="公务接待", value=15.5),
                ],
                expected=12.5,
                actual=15.5,
                difference=-3.0,
                instance="D12",
            ),
            Finding(
                code="XT305",
                severity=Severity.WARNING,
                message="预算执行率低于 90%",
                fix="请书面说明执行率偏低的原因",
                cells=[CellRef(sheet="附件3", cell="F5", label="执行率", value="85%")],
                instance="F5",
            ),
        ],
    )


@pytest.fixture
def attachments(tmp_path, report):
    issues = make_xlsx(tmp_path / "issues.xlsx", "问题清单")
    annotated = make_xlsx(tmp_path / "annotated.xlsx", "标注副本")
    return report_attachments(report, issues, annotated)


def settings_for(tmp_path: Path, port: int, **overrides) -> MailSettings:
    values = dict(
        host="127.0.0.1",
        port=port,
        security="none",
        sender=SENDER,
        sender_name="芦淞区财政局绩效股",
        reviewer=REVIEWER,
        outbox=tmp_path / "outbox",
        timeout=3,
        retries=2,
        backoff=0.01,
        helo_name="localhost",
    )
    values.update(overrides)
    return MailSettings(**values)


def outbox_states(settings: MailSettings):
    return Outbox(settings.outbox).list()


EXPECTED_SUBJECT = "【绩效自评审核】株洲市芦淞区机关事务服务中心 2023年度：必须修改 1 项，需要说明 1 项"
EXPECTED_NAMES = ["问题清单_株洲市芦淞区机关事务服务中心.xlsx", "审核标注_芦淞区机关事务服务中心2023自评.xlsx"]


# -- tests ----------------------------------------------------------------------------------


def test_plain_send_delivers_everything(tmp_path, smtp_server, report, attachments):
    settings = settings_for(tmp_path, smtp_server.port)
    result = deliver_report(report, attachments, settings)

    assert result.status is DeliveryStatus.SENT, result.message
    assert result.attempts == 1
    assert result.recipients == [UNIT_EMAIL, REVIEWER]
    assert len(smtp_server.messages) == 1
    received = smtp_server.messages[0]
    assert received.mail_from == SENDER
    assert received.rcpt_tos == [UNIT_EMAIL, REVIEWER]

    message = received.message
    assert message["Subject"] == EXPECTED_SUBJECT
    assert b"\xe3" not in received.data.split(b"\r\n\r\n", 1)[0]  # headers are pure ASCII (RFC 2047)
    assert [a.addr_spec for a in message["To"].addresses] == [UNIT_EMAIL]
    assert message["To"].addresses[0].display_name == "张三"
    assert [a.addr_spec for a in message["Cc"].addresses] == [REVIEWER]
    assert message["From"].addresses[0].display_name == "芦淞区财政局绩效股"
    assert message["Reply-To"].addresses[0].addr_spec == REVIEWER

    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for body in (plain, html):
        for expected in ("XT101", "XT305", "附件2!D12", "附件3!F5", "三公经费合计与分项之和不等",
                         "请核对公务接待费后修改合计数", "-3.00", "12.50", "必须修改", "需要说明"):
            assert expected in body, (expected, body[:300])
    assert "<table" in html

    parts = list(message.iter_attachments())
    assert [p.get_filename() for p in parts] == EXPECTED_NAMES
    assert [p.get_param("name") for p in parts] == EXPECTED_NAMES  # RFC 2047 fallback decodes too
    for part, title in zip(parts, ["问题清单", "标注副本"]):
        assert part.get_content_type() == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        workbook = openpyxl.load_workbook(io.BytesIO(part.get_payload(decode=True)))
        assert workbook.active["A1"].value == title

    (state,) = outbox_states(settings)
    assert state.status is MessageStatus.SENT and state.attempts == 1 and state.sent_at
    assert result.outbox_path == settings.outbox / f"{state.id}.eml"
    # What the server got is byte for byte what the outbox holds.
    assert result.outbox_path.read_bytes().rstrip(b"\r\n") == received.data.rstrip(b"\r\n")
    assert "已发送给" in result.message


def test_starttls_verifies_against_configured_ca(tmp_path, start_server, pki, report, attachments):
    server = start_server(tls_context=pki.server_context(), require_starttls=True)
    settings = settings_for(tmp_path, server.port, security="starttls", ca_file=pki.ca_file)
    result = deliver_report(report, attachments, settings)
    assert result.status is DeliveryStatus.SENT, result.message
    assert len(server.messages) == 1  # require_starttls: MAIL would be refused without TLS


def test_untrusted_certificate_is_a_permanent_failure(tmp_path, start_server, pki, report, attachments):
    server = start_server(tls_context=pki.server_context(), require_starttls=True)
    settings = settings_for(tmp_path, server.port, security="starttls")  # system CAs only
    result = deliver_report(report, attachments, settings)
    assert result.status is DeliveryStatus.FAILED
    assert result.permanent is True and result.attempts == 1
    assert "证书" in result.reason and "ca_file" in result.reason
    assert server.messages == []


def test_implicit_tls(tmp_path, start_server, pki, report, attachments):
    server = start_server(ssl_context=pki.server_context())
    settings = settings_for(tmp_path, server.port, security="ssl", ca_file=pki.ca_file)
    result = deliver_report(report, attachments, settings)
    assert result.status is DeliveryStatus.SENT, result.message
    assert len(server.messages) == 1


def _authenticator(recorder: Recorder):
    def authenticate(server, session, envelope, mechanism, auth_data):
        recorder.auth_mechanisms.append(mechanism)
        ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode("utf-8")
        return AuthResult(success=ok, handled=False)

    return authenticate


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_auth_with_password_from_environment(tmp_path, start_server, pki, report, attachments, monkeypatch, mechanism):
    recorder = Recorder()
    other = "PLAIN" if mechanism == "LOGIN" else "LOGIN"
    server = start_server(
        recorder,
        tls_context=pki.server_context(),
        require_starttls=True,
        authenticator=_authenticator(recorder),
        auth_required=True,
        auth_exclude_mechanism=[other],
    )
    config = tmp_path / "xltool.toml"
    config.write_text(
        "[mail]\n"
        f'host = "127.0.0.1"\nport = {server.port}\nsecurity = "starttls"\nuser = "{USER}"\n'
        f'sender = "{SENDER}"\nreviewer = "{REVIEWER}"\nca_file = "{pki.ca_file.as_posix()}"\n'
        'outbox = "outbox"\ntimeout = 3\nretries = 1\nbackoff = 0.01\nhelo_name = "localhost"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("XLTOOL_MAIL_PASSWORD", PASSWORD)
    settings = load_settings(config)
    assert settings.outbox == tmp_path / "outbox"

    result = deliver_report(report, attachments, settings)
    assert result.status is DeliveryStatus.SENT, result.message
    assert recorder.auth_mechanisms == [mechanism]
    assert len(server.messages) == 1

    # The password (plain, UTF-8 bytes, base64, AUTH PLAIN blob) is in no outbox file.
    secret_forms = [
        PASSWORD.encode("utf-8"),
        base64.b64encode(PASSWORD.encode("utf-8")),
        base64.b64encode(f"\0{USER}\0{PASSWORD}".encode("utf-8")),
    ]
    files = [p for p in settings.outbox.rglob("*") if p.is_file()]
    assert files
    for path in files:
        content = path.read_bytes()
        for secret in secret_forms:
            assert secret not in content, path
    assert PASSWORD not in repr(settings) and PASSWORD not in result.model_dump_json()


def test_wrong_password_is_permanent_and_not_retried(tmp_path, start_server, pki, report, attachments):
    recorder = Recorder()
    server = start_server(
        recorder,
        tls_context=pki.server_context(),
        require_starttls=True,
        authenticator=_authenticator(recorder),
        auth_required=True,
    )
    settings = settings_for(
        tmp_path, server.port, security="starttls", ca_file=pki.ca_file, user=USER, password="wrong", retries=3
    )
    result = deliver_report(report, attachments, settings)
    assert result.status is DeliveryStatus.FAILED and result.permanent is True
    assert result.attempts == 1
    # One connection: smtplib tries each offered mechanism once, then gives up.
    assert sorted(recorder.auth_mechanisms) == ["LOGIN", "PLAIN"]
    assert "登录邮件服务器失败" in result.reason and "wrong" not in result.reason
    assert flush(settings) == []  # permanent failures are not flushed


def test_refused_connection_is_kept_then_flushed_exactly_once(tmp_path, start_server, report, attachments):
    port = free_port()  # nothing listens here yet
    settings = settings_for(tmp_path, port, retries=2)
    result = deliver_report(report, attachments, settings)

    assert result.status is DeliveryStatus.FAILED
    assert result.permanent is False
    assert result.attempts == 3
    assert "连接被拒绝" in result.reason and "xltool mail flush" in result.message
    (state,) = outbox_states(settings)
    assert state.status is MessageStatus.FAILED and not state.permanent and state.retryable
    assert state.attempts == 3 and len(state.history) == 3
    assert "连接被拒绝" in state.reason
    assert (settings.outbox / f"{state.id}.eml").is_file()

    server = start_server(port=port)
    results = flush(settings)
    assert [r.status for r in results] == [DeliveryStatus.SENT]
    assert len(server.messages) == 1
    assert server.messages[0].message["Subject"] == EXPECTED_SUBJECT

    assert flush(settings) == []  # nothing left: not sent a second time
    assert len(server.messages) == 1
    (state,) = outbox_states(settings)
    assert state.status is MessageStatus.SENT and state.attempts == 4 and state.reason is None


def test_451_then_250_is_sent_exactly_once(tmp_path, start_server, report, attachments):
    server = start_server(Recorder(data_replies=["451 4.3.0 Temporary local problem, try again"]))
    settings = settings_for(tmp_path, server.port, retries=2)
    result = deliver_report(report, attachments, settings)
    assert result.status is DeliveryStatus.SENT, result.message
    assert result.attempts == 2
    assert server.recorder.data_calls == 2
    assert len(server.messages) == 1
    (state,) = outbox_states(settings)
    assert [h.ok for h in state.history] == [False, True]
    assert state.history[0].code == 451 and not state.history[0].permanent


def test_550_is_permanent_kept_with_reason_and_not_retried(tmp_path, start_server, report, attachments):
    recorder = Recorder(reject_rcpt={UNIT_EMAIL: "550 5.1.1 Mailbox does not exist"})
    server = start_server(recorder)
    settings = settings_for(tmp_path, server.port, reviewer=None, retries=3)
    result = deliver_report(report, attachments, settings)

    assert result.status is DeliveryStatus.FAILED and result.permanent is True
    assert result.attempts == 1
    assert "550" in result.reason and "Mailbox does not exist" in result.reason
    assert "不会自动重试" in result.message
    (state,) = outbox_states(settings)
    assert state.status is MessageStatus.FAILED and state.permanent and "550" in state.reason
    assert (settings.outbox / f"{state.id}.eml").is_file()
    assert flush(settings) == []
    assert recorder.data_calls == 0 and server.messages == []


def test_silent_server_times_out_as_transient(tmp_path, report, attachments):
    with socket.socket() as silent:  # accepts connections (backlog) and never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings = settings_for(tmp_path, silent.getsockname()[1], timeout=0.3, retries=1)
        started = time.monotonic()
        result = deliver_report(report, attachments, settings)
        elapsed = time.monotonic() - started
    assert result.status is DeliveryStatus.FAILED and result.permanent is False
    assert result.attempts == 2
    assert "秒内没有响应" in result.reason
    assert elapsed < 5
    (state,) = outbox_states(settings)
    assert state.retryable


def test_duplicate_refused_without_resend_allowed_with_resend(tmp_path, smtp_server, report, attachments):
    settings = settings_for(tmp_path, smtp_server.port)
    first = deliver_report(report, attachments, settings)
    assert first.status is DeliveryStatus.SENT

    second = deliver_report(report, attachments, settings)
    assert second.status is DeliveryStatus.DUPLICATE_REFUSED
    assert second.duplicate_of == first.message_id
    assert "--resend" in second.message
    assert len(smtp_server.messages) == 1

    third = deliver_report(report, attachments, settings, resend=True)
    assert third.status is DeliveryStatus.SENT
    assert len(smtp_server.messages) == 2

    ledger = json.loads((settings.outbox / "ledger.json").read_text(encoding="utf-8"))
    (entry,) = ledger.values()
    assert entry["message_id"] == third.message_id and entry["previous"] == [first.message_id]

    # Another recipient is not a duplicate.
    other = deliver_report(report, attachments, settings, to="lisi@unit.example.cn")
    assert other.status is DeliveryStatus.SENT
    assert len(smtp_server.messages) == 3


def test_header_injection_in_unit_name_adds_no_header(tmp_path, smtp_server, report, attachments):
    hostile = report.replace(
        **{"unit": "某单位\r\nBcc: evil@attacker.example.com", "contact_name": "张三\nCc: evil2@attacker.example.com"}
    )
    settings = settings_for(tmp_path, smtp_server.port)
    result = deliver_report(hostile, attachments, settings)
    assert result.status is DeliveryStatus.SENT, result.message
    (received,) = smtp_server.messages
    assert received.rcpt_tos == [UNIT_EMAIL, REVIEWER]
    header_block = received.data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    header_names = [line.split(":", 1)[0].lower() for line in header_block.splitlines() if line and not line[0].isspace()]
    assert "bcc" not in header_names
    assert header_names.count("cc") == 1 and header_names.count("to") == 1
    message = received.message
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    assert "evil@attacker.example.com" in message["Subject"]  # kept as harmless text
    assert [a.addr_spec for a in message["Cc"].addresses] == [REVIEWER]


def test_injected_address_is_rejected_before_anything_is_stored(tmp_path, smtp_server, report, attachments):
    hostile = report.replace(**{"contact_email": "zhangsan@unit.example.cn\r\nBcc: evil@attacker.example.com"})
    settings = settings_for(tmp_path, smtp_server.port)
    with pytest.raises(AddressError) as excinfo:
        deliver_report(hostile, attachments, settings)
    assert "邮箱地址无效" in str(excinfo.value) and "换行" in str(excinfo.value)
    assert not settings.outbox.exists() and smtp_server.messages == []


def test_send_test_message_and_cli(tmp_path, smtp_server, monkeypatch):
    from typer.testing import CliRunner

    from xltool.cli.mail import mail_app

    settings = settings_for(tmp_path, smtp_server.port)
    result = send_test(settings, "ops@czj.example.cn")
    assert result.status is DeliveryStatus.SENT
    assert smtp_server.messages[0].message["Subject"] == "【xltool】测试邮件"

    config = tmp_path / "xltool.toml"
    config.write_text(
        f'[mail]\nhost = "127.0.0.1"\nport = {smtp_server.port}\nsecurity = "none"\n'
        f'sender = "{SENDER}"\nreviewer = "{REVIEWER}"\nhelo_name = "localhost"\n',
        encoding="utf-8",
    )
    runner = CliRunner()
    outcome = runner.invoke(mail_app, ["test", "--config", str(config)])
    assert outcome.exit_code == 0, outcome.output
    assert len(smtp_server.messages) == 2
    assert smtp_server.messages[1].rcpt_tos == [REVIEWER]

    listing = runner.invoke(mail_app, ["list"], env={"COLUMNS": "200"})
    assert listing.exit_code == 0, listing.output
    assert "已发送" in listing.output

    flushed = runner.invoke(mail_app, ["flush"])
    assert flushed.exit_code == 0 and "没有待发送" in flushed.output


def test_outbox_written_without_host_is_flushed_later_with_the_configured_sender(tmp_path, smtp_server, report, attachments):
    offline = MailSettings(outbox=tmp_path / "outbox")  # nothing configured yet
    stored = deliver_report(report, attachments, offline)
    assert stored.status is DeliveryStatus.WRITTEN_TO_OUTBOX and stored.sender == "xltool@localhost"

    settings = settings_for(tmp_path, smtp_server.port)
    results = flush(settings)
    assert [r.status for r in results] == [DeliveryStatus.SENT]
    (received,) = smtp_server.messages
    assert received.mail_from == SENDER
    assert received.message["From"].addresses[0].addr_spec == SENDER
    assert received.message["Subject"] == EXPECTED_SUBJECT
    assert received.rcpt_tos == [UNIT_EMAIL]  # recipients fixed when the message was written
    assert flush(settings) == [] and len(smtp_server.messages) == 1
