"""``xltool addin serve`` and ``xltool addin init``: the Excel add-in 检查本表."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from xltool.i18n import _
from xltool.netaddr import is_loopback

addin_app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode="rich")
console = Console()
err_console = Console(stderr=True)

DEFAULT_BASE_URL = "https://localhost:8000"
CLASSIC_BAS = """Attribute VB_Name = "XltoolCheck"
' xltool: check this workbook (classic xlwings add-in).
' Needs Python with xltool installed and the xlwings add-in (xlwings addin install),
' its Interpreter setting pointing to that Python. Assign XltoolCheck to a button.
Option Explicit

Sub XltoolCheck()
    RunPython "from xltool.addin.classic import check_caller; check_caller()"
End Sub
"""


def _error(message: str) -> None:
    err_console.print(f"[red]{escape(message)}[/]")


def _warn(message: str) -> None:
    err_console.print(f"[yellow]{escape(message)}[/]")


def _missing_extra(exc: ImportError) -> typer.Exit:
    _error(_("The add-in needs the optional packages: pip install 'xltool[addin]' ({error})").format(error=exc))
    return typer.Exit(2)


@addin_app.command("serve", help=_("Run the add-in server (manifest, task pane, check endpoint) on this PC."))
def serve(
    host: Annotated[str, typer.Option("--host", help=_("Address to listen on (default: this PC only)"))] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help=_("Port to listen on"))] = 8000,
    certfile: Annotated[Optional[Path], typer.Option("--certfile", help=_("TLS certificate (PEM); Excel loads add-ins over HTTPS only"))] = None,
    keyfile: Annotated[Optional[Path], typer.Option("--keyfile", help=_("TLS private key (PEM)"))] = None,
    base_url: Annotated[Optional[str], typer.Option("--base-url", help=_("Public address written into the manifest (default: as requested)"))] = None,
    rules_config: Annotated[Optional[Path], typer.Option("--rules-config", help=_("Scoring configuration TOML overriding the workbook's"))] = None,
) -> None:
    try:
        import uvicorn

        from xltool.addin.server import create_app
    except ImportError as exc:
        raise _missing_extra(exc) from None
    if (certfile is None) != (keyfile is None):
        _error(_("Give both --certfile and --keyfile, or neither."))
        raise typer.Exit(2)
    for option, path in (("--certfile", certfile), ("--keyfile", keyfile)):
        if path is not None and not path.is_file():
            _error(_("{option}: {path} does not exist.").format(option=option, path=path))
            raise typer.Exit(2)
    if certfile is not None:
        import ssl

        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(str(certfile), str(keyfile))
        except (ssl.SSLError, ValueError, OSError):
            _error(_("The certificate {certfile} and key {keyfile} cannot be used together (not PEM, or they do not "
                     "match).").format(certfile=certfile, keyfile=keyfile))
            raise typer.Exit(2) from None
    cfg = None
    if rules_config is not None:
        from xltool.form.scoring import load_scoring

        try:
            cfg = load_scoring(rules_config)
        except (OSError, ValueError) as exc:
            from xltool.usererrors import describe

            _error(_("The rules configuration {path} is invalid: {error}").format(path=rules_config, error=describe(exc)))
            raise typer.Exit(2) from None
    try:
        app = create_app(base_url=base_url, cfg=cfg)
    except ValueError as exc:
        _error(str(exc))
        raise typer.Exit(2) from None
    if not is_loopback(host):
        _warn(_("Listening on {host}: other computers can reach the server. It stores nothing, but keep it inside "
                "the bureau network and behind HTTPS.").format(host=host))
    if certfile is None:
        _warn(_("No certificate: Excel refuses add-ins over plain HTTP. Use --certfile/--keyfile (see docs/addin.md)."))
    scheme = "https" if certfile else "http"
    import socket

    # Bind before saying the server runs: a busy port is an error, not a message after 已启动.
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        import errno

        if exc.errno == errno.EADDRINUSE:
            _error(_("Port {port} on {host} is already in use by another program: choose another with --port.").format(
                port=port, host=host))
        else:
            _error(_("Cannot listen on {host}:{port}: check --host and --port.").format(host=host, port=port))
        raise typer.Exit(2) from None
    console.print(_("Add-in server on {url}; manifest at {url}/manifest.xml").format(url=f"{scheme}://{host}:{port}"))
    config = uvicorn.Config(app, host=host, port=port, ssl_certfile=str(certfile) if certfile else None,
                            ssl_keyfile=str(keyfile) if keyfile else None, log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])


@addin_app.command("init", help=_("Write the add-in manifest for a server address, the classic VBA module and setup notes."))
def init(
    directory: Annotated[Path, typer.Argument(help=_("Folder to write into (created if missing)"))],
    base_url: Annotated[str, typer.Option("--base-url", help=_("Address of the add-in server, e.g. https://localhost:8000"))] = DEFAULT_BASE_URL,
    addin_id: Annotated[Optional[str], typer.Option("--id", help=_("Add-in id (a GUID) if the bureau deploys its own build"))] = None,
    force: Annotated[bool, typer.Option("--force", help=_("Overwrite existing files"))] = False,
) -> None:
    written = write_setup(directory, base_url, addin_id=addin_id, force=force)
    for path in written:
        console.print(_("Written: {path}").format(path=path))


def write_setup(directory: Path, base_url: str, *, addin_id: str | None = None, force: bool = False) -> list[Path]:
    import uuid

    try:
        from xltool.addin.server import ADDIN_ID, normalise_base_url, render_manifest, setup_notes
    except ImportError as exc:
        raise _missing_extra(exc) from None
    try:
        base = normalise_base_url(base_url)
    except ValueError as exc:
        _error(str(exc))
        raise typer.Exit(2) from None
    try:
        addin_id = str(uuid.UUID(addin_id)) if addin_id is not None else None
    except ValueError:
        _error(_("The add-in id must be a GUID such as {example}.").format(example=ADDIN_ID))
        raise typer.Exit(2) from None
    files = {
        "manifest.xml": (render_manifest(base, addin_id or ADDIN_ID), "utf-8"),
        "README-addin.txt": (setup_notes(base), "utf-8"),
        "xltool_classic.bas": (CLASSIC_BAS.replace("\n", "\r\n"), "ascii"),
    }
    directory = Path(directory)
    existing = [name for name in files if (directory / name).exists()]
    if existing and not force:
        _error(_("Not overwriting {names}; use --force.").format(names=", ".join(existing)))
        raise typer.Exit(2)
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for name, (text, encoding) in files.items():
        path = directory / name
        path.write_bytes(text.encode(encoding))
        out.append(path)
    return out
