"""Mail results on the terminal: one delivery's recipients, subject, attachments and outcome.

Used by ``check-workbook --email`` and by the ``xltool mail`` commands.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from xltool.i18n import _

if TYPE_CHECKING:
    from xltool.check.finding import WorkbookReport
    from xltool.mail.compose import AttachmentLike
    from xltool.mail.config import MailSettings
    from xltool.mail.deliver import DeliveryResult
    from xltool.mail.errors import MailError

_STATUS_STYLE = {  # by DeliveryStatus value
    "sent": "green",
    "written_to_outbox": "cyan",
    "dry_run": "cyan",
    "duplicate_refused": "yellow",
    "failed": "red",
    "skipped": "yellow",
}


def format_size(size: int) -> str:
    if size < 1024:
        return _("{n} bytes").format(n=size)
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def print_delivery(result: DeliveryResult, console: Console | None = None) -> None:
    """Show one DeliveryResult: recipients, subject, attachments, outcome."""
    console = console or Console()
    style = _STATUS_STYLE.get(result.status.value, "white")
    table = Table(show_header=False, box=None, padding=(0, 1))
    table.add_column(style="bold")
    table.add_column()
    table.add_row(_("Delivery status"), f"[{style}]{escape(result.status.label)}[/{style}]")
    if result.sender:
        table.add_row(_("From (sender)"), escape(result.sender))
    table.add_row(_("To (recipients)"), escape(", ".join(result.to)))
    if result.cc:
        table.add_row(_("Cc (copy)"), escape(", ".join(result.cc)))
    table.add_row(_("Mail subject"), escape(result.subject))
    for index, attachment in enumerate(result.attachments):
        table.add_row(
            _("Mail attachments") if index == 0 else "",
            escape(f"{attachment.filename}  ({format_size(attachment.size)})"),
        )
    if result.size:
        table.add_row(_("Message size"), format_size(result.size))
    if result.outbox_path:
        table.add_row(_("Outbox file"), escape(str(result.outbox_path)))
    console.print(table)
    console.print(f"[{style}]{escape(result.message)}[/{style}]")


def fail_exit(console: Console, error: MailError) -> typer.Exit:
    console.print(f"[red]{escape(error.message)}[/red]")
    return typer.Exit(code=2)


def deliver_and_print(
    report: WorkbookReport,
    attachments: Sequence[AttachmentLike],
    *,
    config: Path | None = None,
    to: str | None = None,
    cc: str | None = None,
    dry_run: bool = False,
    resend: bool = False,
    console: Console | None = None,
    settings: MailSettings | None = None,
) -> DeliveryResult:
    """For ``check-workbook --email``: load settings, deliver, print the outcome.

    Returns the DeliveryResult (check ``result.ok`` for the exit code); a MailError
    (bad address, bad settings, missing attachment) is printed and raises
    ``typer.Exit(2)``.
    """
    from xltool.mail.config import load_settings
    from xltool.mail.deliver import deliver_report
    from xltool.mail.errors import MailError

    console = console or Console()
    try:
        settings = settings or load_settings(config)
        result = deliver_report(report, attachments, settings, to=to, cc=cc, dry_run=dry_run, resend=resend)
    except MailError as error:
        raise fail_exit(console, error) from None
    print_delivery(result, console)
    return result


__all__ = ["deliver_and_print", "fail_exit", "format_size", "print_delivery"]
