"""``xltool serve``: the web pages and API (registered on the main app by xltool.cli)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xltool.i18n import _
from xltool.netaddr import is_loopback


def register(app: typer.Typer) -> None:
    app.command("serve", help=_("Serve the web pages: self-check for units (no login) and the audit desk for the "
                                "bureau (password), with the same JSON API under /api/."))(serve)


def serve(
    host: Annotated[str, typer.Option("--host", help=_("Address to listen on (default 127.0.0.1: this computer only)"))] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535, help=_("Port to listen on"))] = 8080,
    data: Annotated[Path, typer.Option("--data", help=_("Folder for received files, audits and settings (SQLite)"))] = Path("xltool-data"),
    set_password: Annotated[bool, typer.Option("--set-password", help=_("Set the audit desk's password (asked twice) and exit"))] = False,
) -> None:
    from rich.markup import escape

    from xltool.cli import console, err_console
    from xltool.web.config import ConfigError, load_config

    try:
        cfg = load_config(data)
    except (ConfigError, OSError) as exc:
        err_console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from None
    if set_password:
        from xltool.web.auth import set_password as store_password

        while True:  # asked twice, in Chinese (click's own confirmation prompt is English)
            password = typer.prompt(_("New password for the audit desk"), hide_input=True)
            if typer.prompt(_("Enter the same password again"), hide_input=True) == password:
                break
            err_console.print(f"[red]{escape(_('The two entries differ; enter the password again.'))}[/]")
        try:
            store_password(cfg, password)
        except ValueError as exc:
            err_console.print(f"[red]{escape(str(exc))}[/]")
            raise typer.Exit(2) from None
        console.print(escape(_("Password saved (argon2 hash) in {path}.").format(path=cfg.path)))
        return
    import os

    import uvicorn

    from xltool.web.app import create_app

    if cfg.mail_config is None and "XLTOOL_MAIL_OUTBOX" not in os.environ:
        os.environ["XLTOOL_MAIL_OUTBOX"] = str(cfg.data / "outbox")  # not the folder the server was started from

    if not cfg.password_hash:
        err_console.print(f"[yellow]{escape(_('No audit desk password yet: the desk stays locked until you run xltool serve --set-password.'))}[/]")
    if not is_loopback(host):
        err_console.print(f"[yellow]{escape(_('Listening on {host}: other computers can reach these pages. Use this only on the bureau intranet, preferably behind an HTTPS reverse proxy.').format(host=host))}[/]")
    console.print(escape(_("Self-check: http://{host}:{port}/   Audit desk: http://{host}:{port}/desk   API: http://{host}:{port}/api/openapi.json").format(
        host=host if ":" not in host else f"[{host}]", port=port)))
    # X-Forwarded-For is believed only from a reverse proxy on this computer (rate limits per unit PC).
    uvicorn.run(create_app(cfg), host=host, port=port, log_level="warning", proxy_headers=True,
                forwarded_allow_ips="127.0.0.1")
