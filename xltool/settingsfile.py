"""One table of an xltool.toml settings file, read the same way for every service.

Mail ([mail]) and intake ([intake]) keep their passwords out of the file and refuse keys
they do not know, so a typing slip is named instead of silently ignored.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from xltool.i18n import _


def read_settings_table(path: Path, *, table: str, known: Iterable[str], secret_keys: Iterable[str],
                        path_keys: Iterable[str], password_env: str, error: type[Exception]) -> dict[str, Any]:
    """The ``[table]`` of *path* as a dict, relative paths made relative to the file's folder.

    Raises *error* with a Chinese sentence: unreadable TOML, a table that is not one, a
    password written in the file (its key named, never its value), an unknown key.
    """
    try:
        with path.open("rb") as fh:
            document = tomllib.load(fh)
    except (tomllib.TOMLDecodeError, OSError) as exc:
        from xltool.usererrors import describe

        raise error(_("Cannot read {path}: {error}").format(path=path, error=describe(exc))) from exc
    values = document.get(table, {})
    if not isinstance(values, dict):
        raise error(_("[{table}] in {path} must be a table").format(table=table, path=path))
    secret_keys = set(secret_keys)
    secrets = sorted(k for k in values if k.lower() in secret_keys)
    if secrets:
        raise error(_("The password must not be written in {path} (key “{key}” in [{table}]); delete it and set "
                      "the environment variable {env} instead").format(path=path, key=secrets[0], table=table,
                                                                        env=password_env))
    known = set(known)
    unknown = sorted(k for k in values if k not in known)
    if unknown:
        raise error(_("Unknown settings in [{table}] of {path}: {keys}. Valid settings: {valid}").format(
            table=table, path=path, keys=", ".join(unknown), valid=", ".join(sorted(known))))
    data = dict(values)
    for key in path_keys:
        if isinstance(data.get(key), str) and data[key].strip():
            candidate = Path(data[key]).expanduser()
            data[key] = candidate if candidate.is_absolute() else path.parent / candidate
    return data


class ServerAddress:
    """The server of a settings table (``host``, ``port``, ``security`` with its default port):
    the port in use and how a message names the server. Mail's SMTP and intake's IMAP share it
    (their ``security`` enums know their default ports)."""

    @property
    def effective_port(self) -> int:
        return self.port or self.security.default_port

    @property
    def server_label(self) -> str:
        return f"{self.host}:{self.effective_port}" if self.host else ""
