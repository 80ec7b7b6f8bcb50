"""``xltool intake``: the mailbox answers the returns it receives."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Annotated, Optional

import typer

from xltool.i18n import _


def intake(
    once: Annotated[bool, typer.Option("--once", help=_("One pass over the mailbox, then exit"))] = False,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help=_("The audit's output folder and history (default: the out setting of the intake table, else ./邮件审核结果)"))] = None,
    roster: Annotated[Optional[Path], typer.Option("--roster", help=_("Roster of units (xlsx/csv): whose address may be answered"))] = None,
    rules_config: Annotated[Optional[Path], typer.Option("--rules-config", help=_("Scoring configuration TOML overriding the workbooks'"))] = None,
    config: Annotated[Optional[Path], typer.Option("--config", help=_("Configuration TOML with the intake and mail tables (default ./xltool.toml)"))] = None,
    held: Annotated[bool, typer.Option("--held", help=_("List the messages held for a person, then exit"))] = False,
) -> None:
    from rich.markup import escape

    from xltool.audit.lock import AuditLocked
    from xltool.audit.roster import RosterError
    from xltool.cli.common import check_exists, console, err_console, fail
    from xltool.intake.config import IntakeConfigError, load_intake_settings
    from xltool.intake.imap import ImapError, Mailbox
    from xltool.intake.process import Intake, IntakeBusy
    from xltool.mail.config import load_settings
    from xltool.mail.errors import MailError

    check_exists(config, "--config")
    check_exists(roster, "--roster")
    check_exists(rules_config, "--rules-config")
    try:
        settings = load_intake_settings(config, out=out, roster=roster, rules_config=rules_config)
    except IntakeConfigError as exc:
        fail(str(exc))
    if held:
        try:
            _list_held(settings, console)
        except sqlite3.Error as exc:
            fail(_("The ledger or the audit history cannot be used ({error}): check the disk and the folders {store} "
                   "and {out}.").format(error=type(exc).__name__, store=settings.store, out=settings.out))
        return
    try:
        settings.check_usable()
        mail = load_settings(config)
        if mail.sends:
            mail.check_can_send()
    except (IntakeConfigError, MailError) as exc:
        fail(str(exc))
    if settings.roster is not None and not Path(settings.roster).is_file():
        fail(_("The roster {path} does not exist.").format(path=settings.roster))
    if not mail.sends:
        err_console.print(f"[yellow]{escape(_('No SMTP server is set in [mail]: replies wait in the outbox {path} until “xltool mail flush”.').format(path=Path(mail.outbox).resolve()))}[/]")

    def show(report) -> None:
        _print_pass(report, settings, console, quiet=not once)

    def problem(text: str) -> None:
        err_console.print(f"[yellow]{escape(text)}[/]")

    try:
        with Intake(settings, mail) as robot:
            if once:
                with Mailbox(settings) as box:
                    show(robot.run(box))
                return
            from xltool.intake.watch import Stopper, watch

            stopper = Stopper()
            stopper.install()
            console.print(escape(_("Watching {folder} on {server}; Ctrl-C or SIGTERM stops.").format(
                folder=settings.folder, server=settings.server_label)))
            try:
                watch(robot, show, problem, stopper)
            finally:
                stopper.restore()
            console.print(escape(_("Stopped. Every message so far is recorded; the next start goes on from there.")))
    except (IntakeConfigError, IntakeBusy, RosterError, AuditLocked) as exc:
        fail(str(exc))
    except ImapError as exc:
        fail(exc.message)
    except MailError as exc:
        fail(exc.message)
    except sqlite3.Error as exc:
        fail(_("The ledger or the audit history cannot be used ({error}): check the disk and the folders {store} and "
               "{out}.").format(error=type(exc).__name__, store=settings.store, out=settings.out))
    except KeyboardInterrupt:
        err_console.print(f"[yellow]{escape(_('Interrupted. Everything done so far is recorded; run the same command again to go on.'))}[/]")
        raise typer.Exit(130) from None


def _status_label(status: str) -> str:
    from xltool.mail.deliver import DeliveryStatus
    from xltool.mail.outbox import MessageStatus

    for kind in (DeliveryStatus, MessageStatus):
        try:
            return kind(status).label
        except ValueError:
            continue
    return status


def _print_pass(report, settings, console, *, quiet: bool) -> None:
    from rich.markup import escape

    from xltool.audit.summary import summary_line

    if quiet and not (report.seen or report.answered or report.held or report.problems):
        return
    console.print(escape(_("{seen} new message(s): {answered} answered, {held} held for a person, {ignored} ignored "
                           "(auto-replies, bounces, lists).").format(
        seen=report.seen, answered=len(report.answered), held=len(report.held), ignored=len(report.ignored))))
    for row in report.answered:
        console.print(escape("  · " + _("answered") + f" {row.sender}：“{row.subject}”"))
    for row in report.held:
        line = "  · " + _("held") + f" {row.sender}：“{row.subject}” —— {row.reason}"
        console.print(f"[yellow]{escape(line)}[/]")
    if report.replies:
        console.print(escape(_("Replies: {tally}").format(
            tally="，".join(f"{_status_label(k)} {v}" for k, v in sorted(report.replies.items())))))
        if report.replies.get("failed"):
            console.print(f"[yellow]{escape(_('Replies that failed wait in the outbox; “xltool mail flush” sends them again.'))}[/]")
    if report.audit is not None:
        console.print(escape(_("Audit round {run}: {line} (in {out})").format(
            run=report.audit.run_id, line=summary_line(report.audit), out=Path(settings.out).resolve())))
    for problem in report.problems:
        console.print(f"[red]{escape(problem)}[/]")


def _list_held(settings, console) -> None:
    from rich.markup import escape
    from rich.table import Table

    from xltool.intake.ledger import LEDGER_NAME, Ledger

    path = Path(settings.store) / LEDGER_NAME
    if not path.is_file():
        console.print(escape(_("No message has been received yet ({path}).").format(path=path)))
        return
    with Ledger(path) as ledger:
        rows = ledger.held()
    if not rows:
        console.print(escape(_("No message is held.")))
        return
    table = Table(title=_("Messages held for a person ({n})").format(n=len(rows)))
    table.add_column(_("Sent"), no_wrap=True)
    table.add_column(_("Sender"), no_wrap=True)  # an address is copied from here: never folded
    table.add_column(_("Subject"), overflow="fold")
    table.add_column(_("Why it was held"), overflow="fold")
    for row in rows:
        table.add_row(escape(row.sent), escape(row.sender), escape(row.subject), escape(row.reason))
    console.print(table)
