"""``xltool serve``: the web pages and API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xltool.cli.common import console, err_console
from xltool.i18n import _
from xltool.netaddr import is_loopback


def serve(
    host: Annotated[str, typer.Option("--host", help=_("Address to listen on (default 127.0.0.1: this computer only)"))] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535, help=_("Port to listen on"))] = 8080,
    data: Annotated[Path, typer.Option("--data", help=_("Folder for received files, audits and settings (SQLite)"))] = Path("xltool-data"),
    set_password: Annotated[bool, typer.Option("--set-password", help=_("Set the audit desk's password (asked twice) and exit"))] = False,
) -> None:
    from rich.markup import escape

    from xltool.web.config import ConfigError, load_config

    try:
        cfg = load_config(data)
    except (ConfigError, OSError) as exc:
        err_console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from None
    if set_password:
        import sqlite3

        from xltool.web.auth import set_password as store_password

        while True:  # asked twice, in Chinese (click's own confirmation prompt is English)
            password = typer.prompt(_("New password for the audit desk"), hide_input=True)
            if typer.prompt(_("Enter the same password again"), hide_input=True) == password:
                break
            err_console.print(f"[red]{escape(_('The two entries differ; enter the password again.'))}[/]")
        try:
            store_password(cfg, password)  # also ends every desk session opened with the old password
        except ValueError as exc:
            err_console.print(f"[red]{escape(str(exc))}[/]")
            raise typer.Exit(2) from None
        except (OSError, sqlite3.Error) as exc:
            err_console.print(f"[red]{escape(_('The data folder {path} cannot be used: {error}').format(path=cfg.data, error=exc))}[/]")
            raise typer.Exit(2) from None
        console.print(escape(_("Password saved (argon2 hash) in {path}.").format(path=cfg.path)))
        console.print(escape(_("Every desk session opened before has ended; log in again with the new password.")))
        return
    import os
    import sqlite3

    from xltool.web.app import create_app
    from xltool.web.server import run

    if cfg.mail_config is None and "XLTOOL_MAIL_OUTBOX" not in os.environ:
        os.environ["XLTOOL_MAIL_OUTBOX"] = str(cfg.data / "outbox")  # not the folder the server was started from

    try:
        web_app = create_app(cfg)
    except (OSError, sqlite3.Error) as exc:  # a read-only or full data folder at start: say so, no traceback
        err_console.print(f"[red]{escape(_('The data folder {path} cannot be used: {error}').format(path=cfg.data, error=exc))}[/]")
        raise typer.Exit(2) from None
    if not cfg.password_hash:
        err_console.print(f"[yellow]{escape(_('No audit desk password yet: the desk stays locked until you run xltool serve --set-password.'))}[/]")
    if not is_loopback(host):
        err_console.print(f"[yellow]{escape(_('Listening on {host}: other computers can reach these pages. Use this only on the bureau intranet, preferably behind an HTTPS reverse proxy.').format(host=host))}[/]")
    console.print(escape(_("Self-check: http://{host}:{port}/   Audit desk: http://{host}:{port}/desk   API: http://{host}:{port}/api/openapi.json").format(
        host=host if ":" not in host else f"[{host}]", port=port)))
    run(web_app, cfg, host, port)
