"""The list of ``xltool`` commands as data: name, where the function lives, help.

Imports nothing heavy (no Typer): both the Typer application (``xltool.cli.registry``) and the
light entry (``xltool.cli.light``) read it.
"""

from __future__ import annotations

from typing import NamedTuple

from xltool.i18n import N_, _


class Command(NamedTuple):
    name: str
    target: str  # "module:attribute": a function (a command) or a typer.Typer (a group of commands)
    help: str  # English msgid, translated when shown
    exit_codes: bool = False  # the help ends with the checking commands' exit codes


COMMANDS: tuple[Command, ...] = (
    Command("make-template", "xltool.cli.template:make_template", N_("Write the locked self-evaluation template for a year (one per unit with --roster).")),
    Command("fields", "xltool.cli.template:fields", N_("List the form's fields: id, sheet, cell, label, type, unit.")),
    Command("fill", "xltool.cli.template:fill", N_("Fill a template's input cells by field id from a YAML/JSON file.")),
    Command("check-workbook", "xltool.cli.check:check_workbook", N_("Check returned workbooks and list every discrepancy."), True),
    Command("rules", "xltool.cli.rules:rules", N_("List the rule catalogue, or show one rule's documentation.")),
    Command("schema", "xltool.cli.rules:schema", N_("Print the JSON schema of check-workbook --format json.")),
    Command("audit", "xltool.cli.audit:audit", N_(
        "Audit returned workbooks in batch: files, folders and zip archives (every other file is listed with what to "
        "do); a summary workbook, consolidated data, per-unit issue lists, history of rounds, optional e-mail."), True),
    Command("intake", "xltool.cli.intake:intake", N_(
        "Answer returns that arrive by e-mail: read the bureau's mailbox over IMAP, audit every workbook with the "
        "same rules as xltool audit, reply to the unit's registered address, hold the rest for a person. "
        "--once: one pass; otherwise keep watching (IMAP IDLE or polling) until Ctrl-C or SIGTERM.")),
    Command("make-report", "xltool.cli.word:make_report_cmd", N_("Write the Word report (附件1 with 附件2 and 附件3) from a filled workbook.")),
    Command("check-report", "xltool.cli.word:check_report_cmd", N_("Check a Word report as it is."), True),
    Command("serve", "xltool.cli.web:serve", N_(
        "Serve the web pages: self-check for units (no login) and the audit desk for the bureau (password), with "
        "the same JSON API under /api/.")),
    Command("mail", "xltool.cli.mail:mail_app", N_("Mail: test the settings, send or list the outbox")),
    Command("forms", "xltool.cli.forms:forms_app", N_("Form packs: list them, or check a pack file")),
    Command("addin", "xltool.cli.addin:addin_app", N_("The Excel add-in (xlwings): serve or set up")),
)
_BY_NAME = {c.name: c for c in COMMANDS}


def help_text(entry: Command) -> str:
    if not entry.exit_codes:
        return _(entry.help)
    from xltool.exitcodes import exit_codes_help

    return _(entry.help) + " " + exit_codes_help()
