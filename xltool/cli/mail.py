"""``xltool mail ...``: test the settings, flush and list the outbox."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from xltool.i18n import _
from xltool.mail.show import _STATUS_STYLE, fail_exit, print_delivery

# The e-mail stack (Jinja2, pydantic-settings, smtplib) is imported inside the commands
# so that `xltool` starts fast when no mail is sent.

mail_app = typer.Typer(
    name="mail",
    help=_("Send review results by e-mail and manage the outbox"),
    no_args_is_help=True,
    add_completion=False,
)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help=_("Configuration file (default: xltool.toml in the current folder)")),
]


@mail_app.command("test", help=_("Send a test message to check the mail settings"))
def test_command(
    to: Annotated[
        str | None, typer.Option("--to", help=_("Recipient address (default: the reviewer address)"))
    ] = None,
    config: ConfigOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help=_("Show what would be sent; write and send nothing"))
    ] = False,
) -> None:
    from xltool.mail.config import load_settings
    from xltool.mail.deliver import send_test
    from xltool.mail.errors import MailError

    console = Console()
    try:
        settings = load_settings(config)
        result = send_test(settings, to, dry_run=dry_run)
    except MailError as error:
        raise fail_exit(console, error) from None
    print_delivery(result, console)
    if not result.ok:
        raise typer.Exit(code=1)


@mail_app.command("flush", help=_("Send the messages waiting in the outbox"))
def flush_command(
    config: ConfigOption = None,
    include_permanent: Annotated[
        bool, typer.Option("--all", help=_("Also retry messages the server refused permanently"))
    ] = False,
) -> None:
    from xltool.mail.config import load_settings
    from xltool.mail.deliver import DeliveryStatus, flush
    from xltool.mail.errors import MailError

    console = Console()
    try:
        settings = load_settings(config)
        results = flush(settings, include_permanent=include_permanent)
    except MailError as error:
        raise fail_exit(console, error) from None
    if not results:
        console.print(_("Nothing to send in the outbox: {path}").format(path=escape(str(settings.outbox))))
        return
    for result in results:
        style = _STATUS_STYLE.get(result.status.value, "white")
        console.print(f"[{style}]{escape(result.message_id or '')}  {escape(result.message)}[/{style}]")
    sent = sum(r.status is DeliveryStatus.SENT for r in results)
    failed = sum(r.status is DeliveryStatus.FAILED for r in results)
    console.print(_("Sent: {sent}, failed: {failed}").format(sent=sent, failed=failed))
    if failed:
        raise typer.Exit(code=1)


@mail_app.command("list", help=_("List the messages in the outbox"))
def list_command(
    config: ConfigOption = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help=_("Only show messages with this status (pending, sent, failed)")),
    ] = None,
) -> None:
    from xltool.mail.config import load_settings
    from xltool.mail.errors import MailError
    from xltool.mail.outbox import MessageStatus, Outbox

    console = Console()
    try:
        settings = load_settings(config)
    except MailError as error:
        raise fail_exit(console, error) from None
    outbox = Outbox(settings.outbox)
    try:
        wanted = MessageStatus(status) if status else None
    except ValueError:
        console.print(f"[red]{escape(_('Unknown status {status}: use pending, sent or failed.').format(status=status))}[/red]")
        raise typer.Exit(code=2) from None
    states = outbox.list(wanted)
    if not states:
        console.print(_("The outbox is empty: {path}").format(path=escape(str(outbox.root))))
        return
    table = Table(title=escape(str(outbox.root)))
    table.add_column(_("Message ID"), no_wrap=True)
    table.add_column(_("Delivery status"), no_wrap=True)
    table.add_column(_("Send attempts"), justify="right")
    table.add_column(_("Mail recipients"), overflow="fold")
    table.add_column(_("Mail subject"), overflow="fold")
    table.add_column(_("Last updated"))
    table.add_column(_("Failure reason"), overflow="fold")
    for state in states:
        table.add_row(
            state.id,
            escape(state.status_label),
            str(state.attempts),
            escape(", ".join(state.recipients)),
            escape(state.subject),
            state.updated[:16].replace("T", " "),
            escape(state.reason or ""),
        )
    console.print(table)


__all__ = ["mail_app"]
