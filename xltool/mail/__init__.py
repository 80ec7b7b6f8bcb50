"""E-mail the review result of a workbook to the unit that filled it.

Public API (the Typer sub-app lives in xltool.mail.cli, imported separately)::

    from xltool.mail import load_settings, deliver_report, flush, send_test
"""

from xltool.mail.addresses import clean_header_text, parse_address, parse_address_list
from xltool.mail.compose import (
    Attachment,
    compose_report_message,
    compose_test_message,
    dedupe_key,
    report_attachments,
    report_subject,
)
from xltool.mail.config import MailSettings, Security, load_settings
from xltool.mail.deliver import DeliveryResult, DeliveryStatus, deliver_report, flush, resolve_recipients, send_test
from xltool.mail.errors import AddressError, AttachmentError, MailConfigError, MailError
from xltool.mail.outbox import MessageState, MessageStatus, Outbox
from xltool.mail.smtp import SendFailure

__all__ = [
    "AddressError",
    "Attachment",
    "AttachmentError",
    "DeliveryResult",
    "DeliveryStatus",
    "MailConfigError",
    "MailError",
    "MailSettings",
    "MessageState",
    "MessageStatus",
    "Outbox",
    "Security",
    "SendFailure",
    "clean_header_text",
    "compose_report_message",
    "compose_test_message",
    "dedupe_key",
    "deliver_report",
    "flush",
    "load_settings",
    "parse_address",
    "parse_address_list",
    "report_attachments",
    "report_subject",
    "resolve_recipients",
    "send_test",
]
