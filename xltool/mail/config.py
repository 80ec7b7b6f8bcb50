"""Mail settings: the ``[mail]`` table of a TOML file, overridden by environment
variables ``XLTOOL_MAIL_*``.

The password is special: it is read only from the environment variable
``XLTOOL_MAIL_PASSWORD`` (or passed in code), held as a SecretStr, never written to
disk or logs, and a TOML file that contains one is refused.
"""

from __future__ import annotations

import os
import ssl
from contextvars import ContextVar
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from xltool.i18n import _
from xltool.settingsfile import ServerAddress
from xltool.mail.errors import MailConfigError

ENV_PREFIX = "XLTOOL_MAIL_"
PASSWORD_ENV = "XLTOOL_MAIL_PASSWORD"
DEFAULT_CONFIG_NAME = "xltool.toml"
TOML_TABLE = "mail"
# Keys refused in the TOML file: a secret must not sit in a file next to the workbooks.
_SECRET_KEYS = {"password", "passwd", "pass", "pwd", "secret", "smtp_password"}
# Settings whose relative paths are resolved against the TOML file's folder.
_PATH_KEYS = ("outbox", "ca_file")


class Security(str, Enum):
    SSL = "ssl"  # implicit TLS (SMTPS), usually port 465
    STARTTLS = "starttls"  # plain connection upgraded with STARTTLS, usually port 587
    NONE = "none"  # no encryption: only for a relay inside the bureau's network

    @property
    def default_port(self) -> int:
        return {Security.SSL: 465, Security.STARTTLS: 587, Security.NONE: 25}[self]


# The TOML layer of the settings currently being loaded (see load_settings).
_TOML_LAYER: ContextVar[dict[str, Any]] = ContextVar("xltool_mail_toml_layer", default={})


class _TomlLayerSource(PydanticBaseSettingsSource):
    """Values from the ``[mail]`` table, below the environment in priority."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


class MailSettings(ServerAddress, BaseSettings):
    """Everything needed to send mail. Without ``host``, messages stay in the outbox."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,
        extra="ignore",
        validate_default=True,
    )

    host: str | None = Field(default=None, description="SMTP server; empty: only write .eml files to the outbox")
    port: int | None = Field(default=None, ge=1, le=65535, description="default 465 (ssl), 587 (starttls), 25 (none)")
    security: Security = Field(default=Security.STARTTLS, description="ssl, starttls or none")
    user: str | None = Field(default=None, description="login name; the password comes from XLTOOL_MAIL_PASSWORD")
    password: SecretStr | None = Field(default=None, description="environment variable XLTOOL_MAIL_PASSWORD only")
    sender: str | None = Field(default=None, description="From address")
    sender_name: str | None = Field(default=None, description="display name of the From address, e.g. 财政局绩效股")
    reviewer: str | None = Field(default=None, description="the bureau's reviewer address, put in Cc and Reply-To")
    ca_file: Path | None = Field(default=None, description="PEM file of the CA that signed the server certificate")
    helo_name: str | None = Field(default=None, description="name sent in EHLO; default: this computer's name")
    timeout: float = Field(default=30.0, gt=0, description="seconds to wait for the server at each step")
    retries: int = Field(default=3, ge=0, le=20, description="extra attempts after a transient failure")
    backoff: float = Field(default=2.0, ge=0, description="seconds before the first retry; doubles each time")
    backoff_max: float = Field(default=60.0, ge=0, description="longest wait between two attempts")
    outbox: Path = Field(default=Path("outbox"), description="folder of .eml files, their state and the ledger")
    max_workbook_recipients: int = Field(
        default=3, ge=1, le=50, description="most addresses taken from a workbook's 电子邮箱 cell (the rest are reported)")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Code arguments > environment > TOML file > defaults. No .env file, no secrets dir.
        return (init_settings, env_settings, _TomlLayerSource(settings_cls, _TOML_LAYER.get()))

    @field_validator("host", "user", "sender", "sender_name", "reviewer", "helo_name", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("security", mode="before")
    @classmethod
    def _lower_security(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("password", mode="before")
    @classmethod
    def _blank_password_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value:
            return None
        if isinstance(value, SecretStr) and not value.get_secret_value():
            return None
        return value

    # -- derived values -------------------------------------------------------------

    @property
    def sends(self) -> bool:
        """True when an SMTP server is configured; otherwise mail only goes to the outbox."""
        return bool(self.host)

    @property
    def host_is_loopback(self) -> bool:
        from xltool.netaddr import is_loopback

        return bool(self.host) and is_loopback(self.host.lower())

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying client context; with ``ca_file``, only that CA is trusted. Made once per CA
        file (and its version): loading the system's CA store takes tens of milliseconds, which a
        mail per unit, or a reply per message of the mail intake, would pay every time."""
        if self.ca_file is not None:
            if not self.ca_file.is_file():
                raise MailConfigError(_("CA certificate file not found: {path}").format(path=self.ca_file))
            try:
                stat = self.ca_file.stat()
                return _verifying_context(str(self.ca_file), (stat.st_mtime_ns, stat.st_size))
            except (ssl.SSLError, OSError) as exc:
                raise MailConfigError(
                    _("Cannot load the CA certificate {path}: {error}").format(path=self.ca_file, error=exc)
                ) from exc
        # The system store, as OpenSSL finds it (the environment may point it elsewhere).
        return _verifying_context(None, (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")))

    def check_can_send(self) -> None:
        """Raise MailConfigError when the settings cannot work for sending (host set)."""
        if not self.host:
            raise MailConfigError(
                _("No SMTP server is configured (host); messages stay in the outbox {path}").format(
                    path=self.outbox
                )
            )
        if self.user and self.password is None:
            raise MailConfigError(
                _("user is set but the environment variable {env} is empty").format(env=PASSWORD_ENV)
            )
        if self.password is not None and not self.user:
            raise MailConfigError(_("{env} is set but user is not").format(env=PASSWORD_ENV))
        if not self.sender and not (self.user and "@" in self.user):
            raise MailConfigError(
                _("No sender address is configured: set sender in [mail] or {env}").format(env=ENV_PREFIX + "SENDER")
            )
        if self.user and self.security is Security.NONE and not self.host_is_loopback:
            raise MailConfigError(
                _(
                    "Refusing to send the password over an unencrypted connection to {server}; "
                    'set security = "starttls" or "ssl"'
                ).format(server=self.server_label)
            )
        self.ssl_context()  # fails early on a missing or broken ca_file

    def from_address(self) -> str | None:
        """The configured From address, falling back to a user name that is an address."""
        if self.sender:
            return self.sender
        if self.user and "@" in self.user:
            return self.user
        return None

    def __repr_args__(self):  # never show even the masked password in reprs of nested data
        for key, value in super().__repr_args__():
            if key != "password":
                yield key, value


@lru_cache(maxsize=8)
def _verifying_context(cafile: str | None, version: tuple) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)


def default_config_path() -> Path:
    return Path.cwd() / DEFAULT_CONFIG_NAME


def _read_mail_table(path: Path) -> dict[str, Any]:
    from xltool.settingsfile import read_settings_table

    return read_settings_table(path, table=TOML_TABLE, known=set(MailSettings.model_fields) - {"password"},
                               secret_keys=_SECRET_KEYS, path_keys=_PATH_KEYS, password_env=PASSWORD_ENV,
                               error=MailConfigError)


def _describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ())) or "mail"
        parts.append(f"{where}: {error.get('msg', '')}")
    return "; ".join(parts)


def load_settings(config_path: str | os.PathLike[str] | None = None, **overrides: Any) -> MailSettings:
    """Load settings from *config_path* (default ``./xltool.toml`` if it exists), the
    ``XLTOOL_MAIL_*`` environment and *overrides* (highest priority).

    Raises MailConfigError with a translated message: missing explicit file, bad TOML,
    a password in the file, unknown keys, invalid values.
    """
    if config_path is not None:
        path = Path(config_path).expanduser()
        if not path.is_file():
            raise MailConfigError(_("Configuration file not found: {path}").format(path=path))
        data = _read_mail_table(path)
    else:
        path = default_config_path()
        data = _read_mail_table(path) if path.is_file() else {}
    token = _TOML_LAYER.set(data)
    try:
        return MailSettings(**overrides)
    except ValidationError as exc:
        raise MailConfigError(
            _("Invalid mail settings: {details}").format(details=_describe_validation_error(exc))
        ) from None
    finally:
        _TOML_LAYER.reset(token)
