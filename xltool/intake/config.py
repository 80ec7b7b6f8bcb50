"""Intake settings: the ``[intake]`` table of xltool.toml; the password only from ``XLTOOL_IMAP_PASSWORD``.

Relative paths (``out``, ``store``, ``roster``, ``desk``, ``ca_file``) are taken from the
folder of the TOML file, so a service started from any folder finds the same files.
"""

from __future__ import annotations

import os
import ssl
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from xltool.i18n import _
from xltool.settingsfile import ServerAddress

PASSWORD_ENV = "XLTOOL_IMAP_PASSWORD"
TOML_TABLE = "intake"
DEFAULT_CONFIG_NAME = "xltool.toml"
_SECRET_KEYS = {"password", "passwd", "pass", "pwd", "secret", "imap_password", "authcode", "auth_code"}
_PATH_KEYS = ("out", "store", "roster", "desk", "ca_file", "rules_config")


class IntakeConfigError(Exception):
    """Settings that cannot work; the message is a translated sentence."""


class Security(str, Enum):
    SSL = "ssl"  # IMAP over TLS from the first byte, port 993 (what 政务邮箱 and 163/QQ offer)
    STARTTLS = "starttls"  # plain IMAP upgraded with STARTTLS, port 143
    NONE = "none"  # no encryption: only for a server on this computer or inside the bureau's network

    @property
    def default_port(self) -> int:
        return 993 if self is Security.SSL else 143


class IntakeSettings(ServerAddress, BaseModel):
    """Where the mail comes from, where it goes, and the bounds of the robot."""

    model_config = ConfigDict(extra="forbid")

    host: str | None = Field(default=None, description="IMAP server")
    port: int | None = Field(default=None, ge=1, le=65535, description="default 993 (ssl), 143 (starttls, none)")
    security: Security = Security.SSL
    user: str | None = None
    password: SecretStr | None = Field(default=None, exclude=True)
    folder: str = "INBOX"
    processed_folder: str = Field(default="已处理", description="answered and ignored mail goes here; empty: stays")
    held_folder: str = Field(default="待处理", description="held mail goes here; empty: stays, flagged")
    out: Path = Field(default=Path("邮件审核结果"), description="the audit's output folder and history")
    store: Path = Field(default=Path("邮件收件"), description="the ledger and the attachments received")
    roster: Path | None = None
    rules_config: Path | None = Field(default=None, description="the bureau's rule settings (as audit's --rules-config)")
    desk: Path | None = Field(default=None, description="xltool serve's data folder: mail files shown on the desk")
    ca_file: Path | None = None
    timeout: float = Field(default=60.0, gt=0)
    poll_interval: float = Field(default=60.0, ge=1, description="seconds between looks when the server has no IDLE")
    idle_timeout: float = Field(default=1500.0, ge=1, le=1740, description="IDLE is renewed before 29 minutes")
    max_message_mb: float = Field(default=25.0, gt=0, description="larger messages are not downloaded")
    max_attachments: int = Field(default=20, ge=1, le=1000)
    replies_per_hour: int = Field(default=5, ge=1, le=1000, description="per sender")
    trust_workbook_email: bool = Field(default=False, description="the 填表人 e-mail counts when the roster names none")
    jobs: int | None = Field(default=None, ge=1, le=64)

    @field_validator("host", "user", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("security", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("folder", "processed_folder", "held_folder")
    @classmethod
    def _folder_name(cls, value: str) -> str:
        value = value.strip()
        if any(ord(ch) < 32 or ch in '"\\' for ch in value):
            raise ValueError("folder names hold no quotes, backslashes or control characters")
        return value

    @property
    def max_message_bytes(self) -> int:
        return int(self.max_message_mb * 1024 * 1024)

    def host_is_local(self) -> bool:
        from xltool.netaddr import is_loopback

        return bool(self.host) and is_loopback(self.host.lower())

    def scoring(self):
        """The bureau's rule settings (``rules_config``), or None for each workbook's own form pack's;
        one Chinese sentence when the file cannot be used."""
        if self.rules_config is None:
            return None
        from xltool.form.scoring import load_scoring
        from xltool.usererrors import describe

        try:
            return load_scoring(self.rules_config)
        except (OSError, ValueError) as exc:  # pydantic's and tomllib's errors are ValueErrors
            raise IntakeConfigError(_("The rules configuration {path} is invalid: {error}").format(
                path=self.rules_config, error=describe(exc))) from None

    def ssl_context(self) -> ssl.SSLContext:
        if self.ca_file is not None:
            if not self.ca_file.is_file():
                raise IntakeConfigError(_("CA certificate file not found: {path}").format(path=self.ca_file))
            try:
                return ssl.create_default_context(cafile=str(self.ca_file))
            except (ssl.SSLError, OSError) as exc:
                raise IntakeConfigError(_("Cannot load the CA certificate {path}: {error}").format(
                    path=self.ca_file, error=exc)) from exc
        return ssl.create_default_context()

    def check_usable(self) -> None:
        """Raise IntakeConfigError when the settings cannot work (before any connection)."""
        if not self.host:
            raise IntakeConfigError(_("No IMAP server is set: write host = \"…\" under [intake] in xltool.toml."))
        if not self.user:
            raise IntakeConfigError(_("No mailbox user is set: write user = \"…\" under [intake] in xltool.toml."))
        if self.password is None:
            raise IntakeConfigError(_("The mailbox password (or authorisation code) is missing: set the environment "
                                      "variable {env}.").format(env=PASSWORD_ENV))
        if self.security is Security.NONE and not self.host_is_local():
            raise IntakeConfigError(_("Refusing to send the mailbox password unencrypted to {server}; set security = "
                                      "\"ssl\" or \"starttls\".").format(server=self.server_label))
        for name in (self.processed_folder, self.held_folder):
            if name and name.upper() == self.folder.upper():
                raise IntakeConfigError(_("The folder {name} is the folder being read; name another folder for "
                                          "processed or held mail.").format(name=name))
        self.ssl_context()


def _read_table(path: Path) -> dict[str, Any]:
    from xltool.settingsfile import read_settings_table

    return read_settings_table(path, table=TOML_TABLE, known=set(IntakeSettings.model_fields) - {"password"},
                               secret_keys=_SECRET_KEYS, path_keys=_PATH_KEYS, password_env=PASSWORD_ENV,
                               error=IntakeConfigError)


def load_intake_settings(config_path: str | os.PathLike[str] | None = None, **overrides: Any) -> IntakeSettings:
    """``[intake]`` of *config_path* (default ./xltool.toml when present), the password from the
    environment, *overrides* (command-line options, not None) on top."""
    if config_path is not None:
        path = Path(config_path).expanduser()
        if not path.is_file():
            raise IntakeConfigError(_("Configuration file not found: {path}").format(path=path))
        data = _read_table(path)
    else:
        path = Path.cwd() / DEFAULT_CONFIG_NAME
        data = _read_table(path) if path.is_file() else {}
    data.update({k: v for k, v in overrides.items() if v is not None})
    password = os.environ.get(PASSWORD_ENV)
    if password:
        data["password"] = SecretStr(password)
    try:
        return IntakeSettings(**data)
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors())
        raise IntakeConfigError(_("Invalid intake settings: {details}").format(details=where)) from None
