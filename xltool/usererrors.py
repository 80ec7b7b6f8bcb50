"""Exceptions a user causes (paths, file formats, settings), described in one Chinese sentence.

Python, pydantic, the TOML/YAML parsers and the operating system explain themselves in English
(``[Errno 2] No such file or directory``, ``Input should be a valid number``); a finance user
reads the sentences built here instead.
"""

from __future__ import annotations

import errno

from xltool.i18n import _


def os_error_message(exc: OSError) -> str:
    """An OS error as a Chinese sentence (never ``[Errno 2] …``)."""
    path = exc.filename or ""
    if isinstance(exc, FileNotFoundError):
        return _("{path} does not exist.").format(path=path)
    if isinstance(exc, PermissionError):
        return _("No permission to read or write {path}.").format(path=path)
    if isinstance(exc, IsADirectoryError):
        return _("{path} is a folder, a file is needed.").format(path=path)
    if isinstance(exc, NotADirectoryError):
        return _("{path} is a file, a folder is needed.").format(path=path)
    if exc.errno == errno.ENOSPC:
        return _("The disk is full: nothing more could be written to {path}.").format(path=path)
    if exc.errno == errno.EADDRINUSE:
        return _("The port is already in use by another program: choose another port with --port.")
    return _("{path} could not be read or written (system error {code}).").format(path=path, code=exc.errno or "?")


def validation_message(exc) -> str:
    """A pydantic ValidationError: which settings are wrong, in Chinese."""
    where = "、".join(".".join(str(p) for p in e.get("loc", ())) or "?" for e in exc.errors()[:3])
    return _("Invalid setting {where}: check the value's type and range.").format(where=where or "?")


def describe(exc: BaseException) -> str:
    """The reason in Chinese, for ``… 无效：{error}`` sentences; English never passes through."""
    import json
    import tomllib

    import yaml
    from pydantic import ValidationError

    if isinstance(exc, OSError):
        return os_error_message(exc)
    if isinstance(exc, ValidationError):
        return validation_message(exc)
    if isinstance(exc, tomllib.TOMLDecodeError):
        line = getattr(exc, "lineno", None)
        return _("not valid TOML (line {line})").format(line=line) if line else _("not valid TOML")
    if isinstance(exc, json.JSONDecodeError):
        return _("not valid JSON (line {line})").format(line=exc.lineno)
    if isinstance(exc, yaml.YAMLError):
        mark = getattr(exc, "problem_mark", None)
        return _("not valid YAML (line {line})").format(line=mark.line + 1) if mark else _("not valid YAML")
    if isinstance(exc, UnicodeDecodeError):
        return _("not UTF-8 text")
    return _("the content is not valid")


def describe_network(exc: BaseException) -> str:
    """Why talking to a server failed, in Chinese (smtplib and ssl explain in English)."""
    import smtplib
    import socket
    import ssl

    if isinstance(exc, ssl.SSLCertVerificationError):
        return _("the certificate has expired, is self-signed or does not match the host name")
    if isinstance(exc, ssl.SSLError):
        return _("the encrypted handshake failed")
    if isinstance(exc, socket.gaierror):
        return _("the host name cannot be resolved")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return _("the server does not offer this extension")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return _("the server closed the connection")
    if isinstance(exc, OSError):
        return _("system error {code}").format(code=exc.errno or "?")
    return _("the server answered with an error")
