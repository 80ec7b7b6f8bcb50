"""SMTP delivery with retries and a clear verdict on each failure.

Transient (retried with exponential backoff): connection refused or reset, timeouts,
DNS hiccups, the server closing the connection, any 4xx reply.
Permanent (reported, not retried): 5xx replies, authentication failure, TLS
certificate or protocol errors, a server lacking STARTTLS/AUTH.

Once the server has accepted the DATA, the message counts as sent: errors while
saying QUIT are ignored, so a message is never sent twice because of them.
smtplib's debug output is never switched on (it would print the AUTH exchange).
"""

from __future__ import annotations

import base64
import logging
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from xltool.i18n import _
from xltool.usererrors import describe_network
from xltool.mail.config import MailSettings, Security
from xltool.mail.errors import MailConfigError
from xltool.mail.outbox import AttemptRecord, now_iso

log = logging.getLogger("xltool.mail")


class SendFailure(Exception):
    """One failed delivery attempt, classified. ``reason`` is a translated sentence."""

    def __init__(self, reason: str, *, permanent: bool, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.code = code

    @property
    def transient(self) -> bool:
        return not self.permanent


@dataclass
class SendOutcome:
    attempts: int
    refused: dict[str, str] = field(default_factory=dict)  # recipients refused while others were accepted


def _text(raw: bytes | str | None) -> str:
    if raw is None:
        return ""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    return " ".join(raw.split())


def _reply_failure(code: int, text: str) -> SendFailure:
    if 400 <= code < 500:
        return SendFailure(
            _("The mail server answered with a temporary error {code}: {text}").format(code=code, text=text),
            permanent=False,
            code=code,
        )
    return SendFailure(
        _("The mail server rejected the message with {code}: {text}").format(code=code, text=text),
        permanent=True,
        code=code,
    )


def classify(exc: BaseException, settings: MailSettings) -> SendFailure:
    """Turn any error of one attempt into a SendFailure (transient or permanent)."""
    server = settings.server_label
    if isinstance(exc, SendFailure):
        return exc
    if isinstance(exc, MailConfigError):
        return SendFailure(exc.message, permanent=True)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        code = exc.smtp_code
        if 400 <= code < 500:
            return _reply_failure(code, _text(exc.smtp_error))
        return SendFailure(
            _("Login to the mail server failed ({code} {text}); check user and XLTOOL_MAIL_PASSWORD").format(
                code=code, text=_text(exc.smtp_error)
            ),
            permanent=True,
            code=code,
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        details = "; ".join(f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in exc.recipients.items())
        codes = [code for code, _msg in exc.recipients.values()]
        transient = bool(codes) and all(400 <= c < 500 for c in codes)
        return SendFailure(
            _("The mail server refused the recipients: {details}").format(details=details),
            permanent=not transient,
            code=codes[0] if codes else None,
        )
    if isinstance(exc, smtplib.SMTPSenderRefused):
        code = exc.smtp_code
        return SendFailure(
            _("The mail server refused the sender address {sender}: {code} {text}").format(
                sender=exc.sender, code=code, text=_text(exc.smtp_error)
            ),
            permanent=not (400 <= code < 500),
            code=code,
        )
    if isinstance(exc, smtplib.SMTPResponseException):  # DATA, HELO, connect replies
        return _reply_failure(exc.smtp_code, _text(exc.smtp_error))
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        if "STARTTLS" in str(exc).upper():
            reason = _('The mail server {server} does not support STARTTLS; set security = "ssl" (port 465) or ask its administrator').format(server=server)
        else:
            reason = _("The mail server {server} does not offer login (AUTH): {error}").format(server=server, error=describe_network(exc))
        return SendFailure(reason, permanent=True)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        if "timed out" in str(exc).lower():
            return SendFailure(
                _("The mail server {server} did not answer within {timeout} s").format(server=server, timeout=settings.timeout),
                permanent=False,
            )
        return SendFailure(
            _("The mail server {server} closed the connection: {error}").format(server=server, error=describe_network(exc)),
            permanent=False,
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SendFailure(
            _("The mail server certificate could not be verified: {error}; set ca_file to the CA certificate of the mail server").format(
                error=describe_network(exc)
            ),
            permanent=True,
        )
    if isinstance(exc, ssl.SSLError):
        return SendFailure(
            _("Encrypted connection to {server} failed: {error} (check security and port)").format(server=server, error=describe_network(exc)),
            permanent=True,
        )
    if isinstance(exc, ConnectionRefusedError):
        return SendFailure(
            _("Could not connect to the mail server {server}: connection refused").format(server=server),
            permanent=False,
        )
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError
        return SendFailure(
            _("The mail server {server} did not answer within {timeout} s").format(server=server, timeout=settings.timeout),
            permanent=False,
        )
    if isinstance(exc, socket.gaierror):
        return SendFailure(
            _("Cannot find the mail server host {host}: {error}").format(host=settings.host, error=describe_network(exc)),
            permanent=False,
        )
    if isinstance(exc, OSError):
        return SendFailure(
            _("Network error talking to the mail server {server}: {error}").format(server=server, error=describe_network(exc)),
            permanent=False,
        )
    if isinstance(exc, smtplib.SMTPException):
        return SendFailure(
            _("The mail server {server} could not be used: {error}").format(server=server, error=describe_network(exc)),
            permanent=True,
        )
    raise exc


def login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """smtplib's login, plus UTF-8 credentials (RFC 4954), which smtplib cannot encode."""
    if (user + password).isascii():
        smtp.login(user, password)
        return
    smtp.ehlo_or_helo_if_needed()
    if not smtp.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    offered = smtp.esmtp_features["auth"].upper().split()

    def b64(text: str) -> str:
        return base64.b64encode(text.encode("utf-8")).decode("ascii")

    if "PLAIN" in offered:
        code, resp = smtp.docmd("AUTH", "PLAIN " + b64(f"\0{user}\0{password}"))
    elif "LOGIN" in offered:
        code, resp = smtp.docmd("AUTH", "LOGIN " + b64(user))
        if code == 334:
            code, resp = smtp.docmd(b64(password))
    else:
        raise smtplib.SMTPException("No suitable authentication method found.")
    if code not in (235, 503):
        raise smtplib.SMTPAuthenticationError(code, resp)


def connect(settings: MailSettings) -> smtplib.SMTP:
    """An open, (if configured) encrypted and logged-in SMTP connection."""
    settings.check_can_send()
    host, port, timeout = settings.host, settings.effective_port, settings.timeout
    helo = settings.helo_name
    if settings.security is Security.SSL:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            host, port, local_hostname=helo, timeout=timeout, context=settings.ssl_context()
        )
    else:
        smtp = smtplib.SMTP(host, port, local_hostname=helo, timeout=timeout)
    try:
        smtp.ehlo()
        if settings.security is Security.STARTTLS:
            smtp.starttls(context=settings.ssl_context())
            smtp.ehlo()
        if settings.user:
            assert settings.password is not None  # check_can_send
            login(smtp, settings.user, settings.password.get_secret_value())
    except BaseException:
        smtp.close()
        raise
    return smtp


def send_once(settings: MailSettings, sender: str, recipients: Sequence[str], data: bytes) -> dict[str, str]:
    """One attempt. Returns the recipients refused while others were accepted."""
    smtp = connect(settings)
    try:
        refused = smtp.sendmail(sender, list(recipients), data)
    except BaseException:
        smtp.close()
        raise
    # Accepted: from here on nothing may turn this into a failure.
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
    return {rcpt: f"{code} {_text(msg)}" for rcpt, (code, msg) in refused.items()}


def backoff_delay(settings: MailSettings, retry_number: int) -> float:
    """Seconds to wait before retry number *retry_number* (1, 2, ...)."""
    return min(settings.backoff * (2 ** (retry_number - 1)), settings.backoff_max)


def send_with_retries(
    settings: MailSettings,
    sender: str,
    recipients: Sequence[str],
    data: bytes,
    *,
    on_attempt: Callable[[AttemptRecord], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SendOutcome:
    """Up to ``1 + settings.retries`` attempts; raises the last SendFailure.

    *on_attempt* is called after every attempt (e.g. to persist the attempt count).
    """
    attempts = 0
    while True:
        attempts += 1
        try:
            refused = send_once(settings, sender, recipients, data)
        except Exception as exc:  # noqa: BLE001 - classified below, unknown ones re-raised
            failure = classify(exc, settings)
            log.info("attempt %d to %s failed: %s", attempts, settings.server_label, failure.reason)
            if on_attempt is not None:
                on_attempt(
                    AttemptRecord(at=now_iso(), ok=False, permanent=failure.permanent, code=failure.code, reason=failure.reason)
                )
            if failure.permanent or attempts > settings.retries:
                raise failure from None
            sleep(backoff_delay(settings, attempts))
            continue
        if on_attempt is not None:
            on_attempt(AttemptRecord(at=now_iso(), ok=True))
        return SendOutcome(attempts=attempts, refused=refused)
