"""The server's settings: a ``web.toml`` in the data folder, written by ``xltool serve --set-password``.

Only the password's argon2 hash and two random keys (one signs the session cookie, one derives
the units' submission codes) are stored; limits have defaults and may be set in the same file
under ``[web]``. A running server re-reads the password hash when the file changes, so
``--set-password`` takes effect without a restart.
"""

from __future__ import annotations

import os
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
    # Passwords (the login form, HTTP Basic on the API): failures per client address and in all,
    # within the window; argon2 verifications running at once (64 MiB each) and waiting beyond them.
    login_failures_per_client: int = 10
    login_failures_global: int = 100
    login_window_seconds: int = 300
    argon2_concurrency: int = 2
    argon2_queue: int = 16
    session_hours: int = 8
    secure_cookie: bool = False  # true behind HTTPS: the browser then never sends the session over plain HTTP
    # 报送 by units (no login): per round, per client address and in all; the pending area
    # (submissions without a valid submission code) is purged after pending_keep_hours.
    submit_key: str = ""
    submit_per_client: int = 20
    submit_client_mb: int = 100
    submit_per_unit: int = 10
    submit_round_files: int = 2000
    submit_round_mb: int = 4096
    pending_files: int = 200
    pending_mb: int = 500
    pending_keep_hours: int = 72
    pending_purge_seconds: int = 900  # how often the running server purges the pending area
    min_free_mb: int = 200  # nothing is stored when the data folder's disk would keep less than this
    # The HTTP server: a request's head must arrive within header_seconds; its body at
    # body_min_rate bytes per second after a grace of body_seconds; at most max_connections open.
    header_seconds: int = 10
    body_seconds: int = 20
    body_min_rate: int = 500
    keep_alive_seconds: int = 5
    max_connections: int = 800
    max_header_kb: int = 16
    extra: dict = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.data / CONFIG_NAME

    _stamp: tuple = field(default=(), repr=False, compare=False)

    def refresh(self) -> None:
        """Take the password hash from web.toml again if the file changed (``--set-password``
        while the server runs). An unreadable or vanished file locks the desk (no hash)."""
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = ("missing",)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        if stamp == ("missing",):
            self.password_hash = ""
            return
        try:
            table = tomllib.loads(self.path.read_text(encoding="utf-8")).get("web", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            self.password_hash = ""
            return
        value = table.get("password_hash", "")
        self.password_hash = value if isinstance(value, str) else ""

    @property
    def mail_config(self) -> Path | None:
        """The mail settings ([mail] table) of the data folder's xltool.toml, if there is one."""
        path = self.data / "xltool.toml"
        return path if path.is_file() else None


_TUNABLE = {f.name for f in fields(WebConfig)} - {"data", "extra", "_stamp"}


class ConfigError(Exception):
    pass


def load_config(data: Path) -> WebConfig:
    """Read data/web.toml (if any); create a secret on first use so sessions survive restarts."""
    data = Path(data)
    private_folder(data)
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
            if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
                raise ConfigError(_("The setting “{key}” in {path} has the wrong type.").format(key=key, path=cfg.path))
            setattr(cfg, key, value)
    if not cfg.secret or not cfg.submit_key:
        cfg.secret = cfg.secret or secrets.token_urlsafe(32)
        cfg.submit_key = cfg.submit_key or secrets.token_urlsafe(32)
        save_config(cfg)
    cfg.refresh()
    return cfg


def private_folder(path: Path) -> Path:
    """*path* as a folder only its owner may enter (0700): it holds units' files and the keys."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
            path.chmod(0o700)
    except (OSError, AttributeError):  # AttributeError: os.getuid on Windows
        pass
    return path


def save_config(cfg: WebConfig) -> Path:
    lines = ["# xltool serve settings (written by xltool serve --set-password; keep this file private)", "[web]"]
    for name in sorted(_TUNABLE):
        value = getattr(cfg, name)
        if isinstance(value, str):
            lines.append(f'{name} = "{value}"')  # hashes and tokens hold no quotes or backslashes
        elif isinstance(value, bool):
            lines.append(f"{name} = {'true' if value else 'false'}")
        else:
            lines.append(f"{name} = {value}")
    path = write_bytes_atomic(cfg.path, ("\n".join(lines) + "\n").encode("utf-8"))
    try:
        path.chmod(0o600)
    except OSError:
        pass
    return path
