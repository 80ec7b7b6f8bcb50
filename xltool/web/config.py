"""The server's settings: a ``web.toml`` in the data folder, written by ``xltool serve --set-password``.

Only the password's argon2 hash and a random secret (signing the session cookie) are stored;
limits have defaults and may be set in the same file under ``[web]``.
"""

from __future__ import annotations

import secrets
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from xltool.atomic import write_bytes_atomic
from xltool.i18n import _

CONFIG_NAME = "web.toml"


@dataclass
class WebConfig:
    data: Path
    password_hash: str = ""
    secret: str = ""
    max_upload_bytes: int = 20 * 1024 * 1024  # one workbook, as the safety gate's default limit
    max_batch_bytes: int = 200 * 1024 * 1024  # one bureau upload (files or zip archives)
    max_batch_files: int = 500  # files in one bureau upload
    selfcheck_per_minute: int = 30  # self-checks per client address and minute
    selfcheck_keep_minutes: int = 30  # how long a self-check's result stays downloadable (memory only)
    audit_jobs: int = 1  # worker processes of an audit run from the desk
    extra: dict = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.data / CONFIG_NAME

    @property
    def mail_config(self) -> Path | None:
        """The mail settings ([mail] table) of the data folder's xltool.toml, if there is one."""
        path = self.data / "xltool.toml"
        return path if path.is_file() else None


_TUNABLE = {f.name for f in fields(WebConfig)} - {"data", "extra"}


class ConfigError(Exception):
    pass


def load_config(data: Path) -> WebConfig:
    """Read data/web.toml (if any); create a secret on first use so sessions survive restarts."""
    data = Path(data)
    data.mkdir(parents=True, exist_ok=True)
    cfg = WebConfig(data=data)
    if cfg.path.is_file():
        try:
            raw = tomllib.loads(cfg.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(_("The web settings {path} cannot be read: {error}").format(path=cfg.path, error=exc)) from None
        table = raw.get("web", {})
        for key, value in table.items():
            if key not in _TUNABLE:
                raise ConfigError(_("Unknown setting “{key}” in {path}.").format(key=key, path=cfg.path))
            expected = type(getattr(cfg, key))
            if not isinstance(value, expected) or isinstance(value, bool):
                raise ConfigError(_("The setting “{key}” in {path} has the wrong type.").format(key=key, path=cfg.path))
            setattr(cfg, key, value)
    if not cfg.secret:
        cfg.secret = secrets.token_urlsafe(32)
        save_config(cfg)
    return cfg


def save_config(cfg: WebConfig) -> Path:
    lines = ["# xltool serve settings (written by xltool serve --set-password; keep this file private)", "[web]"]
    for name in sorted(_TUNABLE):
        value = getattr(cfg, name)
        if isinstance(value, str):
            lines.append(f'{name} = "{value}"')  # hashes and tokens hold no quotes or backslashes
        else:
            lines.append(f"{name} = {value}")
    path = write_bytes_atomic(cfg.path, ("\n".join(lines) + "\n").encode("utf-8"))
    try:
        path.chmod(0o600)
    except OSError:
        pass
    return path
