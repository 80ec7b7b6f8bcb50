"""E-mail the review result of a workbook to the unit that filled it.

Public API (the Typer sub-app lives in xltool.mail.cli, imported separately)::

    from xltool.mail import load_settings, deliver_report, flush, send_test
"""

from importlib import import_module

# Imported lazily (PEP 562): the CLI starts without loading Jinja2, pydantic-settings
# and the e-mail stack unless a mail command or --email runs.
_WHERE = {
    "clean_header_text": "addresses", "parse_address": "addresses", "parse_address_list": "addresses",
    "Attachment": "compose", "compose_message": "compose", "compose_report_message": "compose", "compose_test_message": "compose",
    "dedupe_key": "compose", "report_attachments": "compose", "report_subject": "compose",
    "MailSettings": "config", "Security": "config", "load_settings": "config",
    "DeliveryResult": "deliver", "DeliveryStatus": "deliver", "deliver_message": "deliver", "deliver_report": "deliver", "flush": "deliver",
    "resolve_recipients": "deliver", "send_test": "deliver",
    "AddressError": "errors", "AttachmentError": "errors", "MailConfigError": "errors", "MailError": "errors",
    "MessageState": "outbox", "MessageStatus": "outbox", "Outbox": "outbox",
    "SendFailure": "smtp",
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(f"xltool.mail.{_WHERE[name]}"), name)
    raise AttributeError(name)


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
    "compose_message",
    "compose_report_message",
    "compose_test_message",
    "dedupe_key",
    "deliver_message",
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
