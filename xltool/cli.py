"""The ``xltool`` command line: each command parses its options and calls one function."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from xltool.cli_i18n import install as _install_cli_i18n
from xltool.console import tolerant_streams
from xltool.i18n import _
from xltool.usererrors import describe, os_error_message, validation_message

tolerant_streams()  # a GBK or ASCII console shows "?" for what it cannot, never a traceback
_install_cli_i18n()
app = typer.Typer(
    help=_("xltool: the budget performance self-evaluation workbook — template, check, mail, audit."),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
# Findings tables are wide; a pipe or CI log gets 160 columns instead of rich's 80, unless
# COLUMNS says how wide the reader's window is.
console = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() or os.environ.get("COLUMNS") else 160)

def _show_version(value: bool) -> None:
    if value:
        from xltool import __version__

        sys.stdout.write(f"xltool {__version__}\n")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help=_("Show xltool's version and exit"))] = False,
) -> None:
    pass


YEARS = range(2015, 2101)  # self-evaluations exist from 2015 on; anything else is a typing error


def fail(message: str) -> NoReturn:
    """One Chinese sentence on stderr and exit code 2: the user's input cannot be used."""
    err_console.print(f"[red]{escape(message)}[/]")
    raise typer.Exit(2)


def check_year(year: int) -> int:
    if year not in YEARS:
        fail(_("The year {year} is out of range: enter a year from {first} to {last}.").format(
            year=year, first=YEARS[0], last=YEARS[-1]))
    return year


def check_suffix(path: Optional[Path], option: str, suffix: str = ".xlsx") -> None:
    """An output file: its name ends in *suffix* and it is not a folder."""
    if path is not None and path.suffix.lower() != suffix:
        fail(_("{option} {path}: the file name must end in {suffix}.").format(option=option, path=path, suffix=suffix))
    if path is not None and path.is_dir():
        fail(_("{path} is a folder, a file is needed.").format(path=path))


def check_choice(value: str, option: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        fail(_("{option} {value} is not available: use {choices}.").format(
            option=option, value=value, choices=" / ".join(choices)))
    return value


def check_exists(path: Optional[Path], option: str) -> None:
    if path is not None and not path.exists():
        fail(_("{option}: {path} does not exist.").format(option=option, path=path))


def user_errors(fn):
    """Errors a user causes end as one Chinese sentence and exit 2, never as a traceback."""
    import functools

    @functools.wraps(fn)
    def run(*args, **kwargs):
        from pydantic import ValidationError

        from xltool.audit.roster import RosterError

        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except RosterError as exc:
            fail(str(exc))
        except OSError as exc:
            fail(os_error_message(exc))
        except ValidationError as exc:
            fail(validation_message(exc))
        except UnicodeDecodeError:
            fail(_("A file could not be decoded: save it as UTF-8 (or GBK for csv) and try again."))

    return run


def _mount() -> None:
    from xltool.mail.cli import mail_app

    app.add_typer(mail_app, name="mail", help=_("Mail: test the settings, send or list the outbox"))
    from xltool.form.cli import forms_app

    app.add_typer(forms_app, name="forms", help=_("Form packs: list them, or check a pack file"))
    try:
        from xltool.audit.cli import register as register_audit

        register_audit(app)
    except ImportError:  # the audit package is optional at import time
        pass
    from xltool.word.cli import register as register_word

    register_word(app)
    try:
        from xltool.web.cli import register as register_web

        register_web(app)
    except ImportError:  # the web pages need fastapi, uvicorn and python-multipart
        pass
    try:
        from xltool.addin.cli import addin_app

        app.add_typer(addin_app, name="addin", help=_("The Excel add-in (xlwings): serve or set up"))
    except ImportError:
        pass


def _scoring(path: Optional[Path], form_id: str | None = None):
    from xltool.form.scoring import load_scoring

    try:
        if form_id:  # keys the file leaves out keep the form pack's own rule set
            from xltool.form.selfeval import default_scoring

            return load_scoring(path, default_scoring(form_id))
        return load_scoring(path)
    except (OSError, ValueError) as exc:  # pydantic's and tomllib's errors are ValueErrors
        err_console.print(f"[red]{escape(_('The rules configuration {path} is invalid: {error}').format(path=path, error=describe(exc)))}[/]")
        raise typer.Exit(2) from None


@app.command("make-template", help=_("Write the locked self-evaluation template for a year (one per unit with --roster)."))
def make_template(
    year: Annotated[int, typer.Option("--year", "-y", help=_("The year evaluated, e.g. 2023"))],
    out: Annotated[Path, typer.Option("--out", "-o", help=_("Output .xlsx file (a folder with --roster)"))],
    unit: Annotated[Optional[str], typer.Option("--unit", help=_("Unit name, filled and locked"))] = None,
    unit_code: Annotated[Optional[str], typer.Option("--unit-code", help=_("Unit code, filled and locked"))] = None,
    email: Annotated[Optional[str], typer.Option("--email", help=_("The unit's e-mail address, filled and locked"))] = None,
    prefill: Annotated[Optional[Path], typer.Option("--prefill", help=_("YAML/JSON data file to prefill inputs by field id"))] = None,
    password: Annotated[Optional[str], typer.Option("--password", help=_("Sheet protection password (default: $XLTOOL_PASSWORD or xltool)"))] = None,
    rules_config: Annotated[Optional[Path], typer.Option("--rules-config", help=_("Scoring configuration TOML (weights, methods)"))] = None,
    roster: Annotated[Optional[Path], typer.Option("--roster", help=_("Roster of units (xlsx/csv): one template per unit"))] = None,
    previous: Annotated[Optional[Path], typer.Option("--previous", help=_("Last year's audit folder: prefill last year's final figures"))] = None,
    form: Annotated[Optional[str], typer.Option("--form", help=_("Form pack: a pack id (xltool forms) or a pack file .toml"))] = None,
) -> None:
    from xltool.form.cli import resolve_form
    from xltool.template.fill import FillError, fill_workbook, load_data
    from xltool.template.writer import write_template

    check_year(year)
    check_exists(roster, "--roster")
    check_exists(prefill, "--prefill")
    check_exists(previous, "--previous")
    check_exists(rules_config, "--rules-config")
    if roster is None:
        check_suffix(out, "--out")
    elif out.suffix.lower() == ".xlsx" or (out.exists() and not out.is_dir()):
        fail(_("With --roster, --out names a folder (one template per unit), not {out}.").format(out=out))
    form_id = resolve_form(form)
    cfg = _scoring(rules_config, form_id) if rules_config or not form_id else None
    if roster is not None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from xltool.audit.distribute import write_unit_templates

        from xltool.form.registry import is_registered

        if form_id and not is_registered(form_id):
            err_console.print(f"[red]{escape(_('--roster needs a registered form pack (xltool forms); put the pack file in the folder named by XLTOOL_FORMS_DIR.'))}[/]")
            raise typer.Exit(2)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=err_console, transient=True) as bar:
            task = bar.add_task(_("Writing unit templates"), total=None)
            written = write_unit_templates(year, roster, out, cfg=cfg, password=password, previous=previous,
                                           form_id=form_id,
                                           progress=lambda done, total: bar.update(task, completed=done, total=total))
        console.print(_("Wrote {n} unit templates to {out}.").format(n=len(written), out=out.resolve()))
        return
    try:
        data = load_data(prefill) if prefill else None
        if data is None:
            write_template(out, year, cfg=cfg, unit_name=unit or "", unit_code=unit_code or "",
                           unit_email=email or "", password=password, form_id=form_id)
        else:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                blank = write_template(Path(tmp) / "blank.xlsx", year, cfg=cfg, unit_name=unit or "",
                                       unit_code=unit_code or "", unit_email=email or "", password=password,
                                       form_id=form_id)
                fill_workbook(blank, data, out)
    except FillError as exc:
        _print_fill_error(exc)
        raise typer.Exit(2) from None
    console.print(_("Template written: {out}").format(out=out.resolve()))


def _print_fill_error(exc) -> None:
    err_console.print(f"[red]{escape(_('Nothing was written. Problems in the data:'))}[/]")
    for problem in exc.problems:
        err_console.print(f"  · {escape(problem)}")


@app.command("fields", help=_("List the form's fields: id, sheet, cell, label, type, unit."))
def fields(
    year: Annotated[int, typer.Option("--year", "-y", help=_("The year evaluated"))] = 2023,
    fmt: Annotated[str, typer.Option("--format", "-f", help=_("table or json"))] = "table",
    inputs_only: Annotated[bool, typer.Option("--inputs", help=_("Only the cells a unit fills in"))] = False,
    form_name: Annotated[Optional[str], typer.Option("--form", help=_("Form pack: a pack id (xltool forms) or a pack file .toml"))] = None,
) -> None:
    from xltool.form.cli import resolve_form
    from xltool.form.labels import kind_label
    from xltool.form.selfeval import build_form

    check_year(year)
    check_choice(fmt, "--format", ("table", "json"))
    form = build_form(year, None, resolve_form(form_name))
    rows = [f for f in form.fields if f.is_input or not inputs_only]
    if fmt == "json":
        data = [{"id": f.id, "sheet": form.sheet_title(f.sheet), "cell": f.cell, "label": f.label,
                 "type": f.kind.value, "role": f.role.value, "unit": f.unit, "required": f.required,
                 "choices": list(f.choices), "concept": f.concept,
                 "formula": f.formula.to_excel(lambda i: i) if f.formula is not None else None} for f in rows]
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title=_("Fields of the {year} form ({n})").format(year=year, n=len(rows)))
    if console.width < 120:  # a narrow window: id, where, label; the id is never cut
        for head, kw in ((_("Field id"), {"no_wrap": True}), (_("Cell"), {"no_wrap": True}),
                         (_("Label"), {"overflow": "fold"})):
            table.add_column(head, **kw)
        for f in rows:
            table.add_row(f.id, f"{form.sheet_title(f.sheet)}!{f.cell}", f.label)
        console.print(table)
        return
    # The id is what a data file uses: never cut; the label folds instead.
    for head, kw in ((_("Field id"), {"no_wrap": True}), (_("Sheet"), {"no_wrap": True}), (_("Cell"), {"no_wrap": True}),
                     (_("Label"), {"overflow": "fold"}), (_("Type"), {"overflow": "fold"}), (_("Unit"), {})):
        table.add_column(head, **kw)
    for f in rows:
        table.add_row(f.id, form.sheet_title(f.sheet), f.cell, f.label, kind_label(f), f.unit)
    console.print(table)


@app.command("fill", help=_("Fill a template's input cells by field id from a YAML/JSON file."))
def fill(
    template: Annotated[Path, typer.Argument(help=_("The template .xlsx"))],
    data: Annotated[Path, typer.Argument(help=_("YAML or JSON file: field id → value"))],
    out: Annotated[Path, typer.Option("--out", "-o", help=_("Output .xlsx file"))],
) -> None:
    from xltool.read.safety import UnreadableWorkbook
    from xltool.template.fill import FillError, fill_workbook, load_data

    check_exists(template, _("The template"))
    check_exists(data, _("The data file"))
    check_suffix(out, "--out")
    try:
        fill_workbook(template, load_data(data), out)
    except FillError as exc:
        _print_fill_error(exc)
        raise typer.Exit(2) from None
    except UnreadableWorkbook as exc:
        fail(str(exc))
    console.print(_("Filled workbook written: {out}").format(out=out.resolve()))


@app.command("check-workbook", help=_("Check returned workbooks and list every discrepancy (exit 0 clean, 1 findings, 2 unreadable)."))
def check_workbook(
    files: Annotated[list[Path], typer.Argument(help=_("Returned .xlsx workbooks"))],
    fmt: Annotated[str, typer.Option("--format", "-f", help=_("table or json"))] = "table",
    xlsx: Annotated[Optional[Path], typer.Option("--xlsx", help=_("Write the 问题清单 workbook here"))] = None,
    annotate_out: Annotated[Optional[Path], typer.Option("--annotate", help=_("Write an annotated copy here"))] = None,
    rules_config: Annotated[Optional[Path], typer.Option("--rules-config", help=_("Scoring configuration TOML overriding the workbook's"))] = None,
    email: Annotated[bool, typer.Option("--email", help=_("E-mail the findings to the unit's 填表人"))] = False,
    to: Annotated[Optional[str], typer.Option("--to", help=_("Recipient instead of the workbook's e-mail address"))] = None,
    cc: Annotated[Optional[str], typer.Option("--cc", help=_("Additional copy recipient"))] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=_("Show what would be sent; send and write nothing"))] = False,
    resend: Annotated[bool, typer.Option("--resend", help=_("Send even if the same findings were sent before"))] = False,
    mail_config: Annotated[Optional[Path], typer.Option("--config", help=_("Mail configuration TOML (default ./xltool.toml)"))] = None,
) -> None:
    from xltool.check.run import check_files

    check_choice(fmt, "--format", ("table", "json"))
    check_exists(rules_config, "--rules-config")
    for option, path in (("--xlsx", xlsx), ("--annotate", annotate_out)):
        if path is None:
            continue
        if len(files) > 1 and path.suffix:
            fail(_("{option} {path}: with several workbooks give a folder; each workbook gets its own file there.").format(
                option=option, path=path))
        if len(files) == 1 and not path.is_dir():
            check_suffix(path, option)
    _refuse_overwriting(files, xlsx, annotate_out)
    cfg = _scoring(rules_config) if rules_config else None
    output = check_files(
        files, cfg=cfg, fmt=fmt, xlsx=xlsx, annotate_out=annotate_out, console=console, err_console=err_console,
        email=email, to=to, cc=cc, dry_run=dry_run, resend=resend, mail_config=mail_config,
    )
    raise typer.Exit(output.exit_code)


def _refuse_overwriting(files: list[Path], *outputs: Optional[Path]) -> None:
    """An output path that names a workbook being checked (or another output) is a usage error."""
    inputs = {Path(f).resolve() for f in files}
    seen: set[Path] = set()
    for out in outputs:
        if out is None or out.is_dir():
            continue
        target = out.resolve()
        if target in inputs or target in seen:
            err_console.print(f"[red]{escape(_('The output {out} would overwrite a workbook being checked or another output; choose another file name.').format(out=out))}[/]")
            raise typer.Exit(2)
        seen.add(target)


@app.command("rules", help=_("List the rule catalogue, or show one rule's documentation."))
def rules(
    code: Annotated[Optional[str], typer.Argument(help=_("A rule code, e.g. XT301"))] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help=_("table, json or markdown"))] = "table",
) -> None:
    from xltool.check.docs import rule_docs, rules_table

    check_choice(fmt, "--format", ("table", "json", "markdown"))
    if code:
        from xltool.check.catalogue import RULES

        rule = RULES.get(code.upper())
        if rule is None:
            err_console.print(f"[red]{escape(_('No rule {code}.').format(code=code))}[/]")
            raise typer.Exit(2)
        if fmt == "markdown":
            sys.stdout.write(rule_docs([rule]) + "\n")
        else:
            from rich.markdown import Markdown

            console.print(Markdown(rule_docs([rule])))
        return
    if fmt == "json":
        from xltool.check.docs import rules_json

        sys.stdout.write(rules_json() + "\n")
    elif fmt == "markdown":
        sys.stdout.write(rule_docs() + "\n")
    else:
        console.print(rules_table(console.width))


@app.command("schema", help=_("Print the JSON schema of check-workbook --format json."))
def schema() -> None:
    from xltool.report.model import CheckOutput

    sys.stdout.write(json.dumps(CheckOutput.model_json_schema(), ensure_ascii=False, indent=2) + "\n")


_mount()


def _guard(typer_app: typer.Typer) -> None:
    for command in typer_app.registered_commands:
        if command.callback is not None and not getattr(command.callback, "__wrapped__", None):
            command.callback = user_errors(command.callback)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _guard(group.typer_instance)


_guard(app)


def main() -> None:  # pragma: no cover - console entry point
    app()
