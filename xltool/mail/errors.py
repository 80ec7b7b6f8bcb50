"""Errors of the mail package. Every message is a translated, human sentence."""

from __future__ import annotations


class MailError(Exception):
    """Base class: something the user has to fix before mail can be sent."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class MailConfigError(MailError):
    """The mail settings (TOML file or environment) are unusable."""


class AddressError(MailError, ValueError):
    """An e-mail address does not parse or is unsafe to put in a header."""


class AttachmentError(MailError):
    """An attachment file is missing or unreadable."""
