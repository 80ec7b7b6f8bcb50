"""``xltool forms``: list the form packs; ``xltool forms check FILE.toml`` validates one.

Mount with ``app.add_typer(forms_app, name="forms")``; ``resolve_form`` serves the
``--form NAME|FILE`` option of make-template.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from xltool.i18n import _

forms_app = typer.Typer(
    name="forms",
    help=_("Form packs: list them, or check a pack file"),
    invoke_without_command=True,
    add_completion=False,
)


def _consoles() -> tuple[Console, Console]:
    from xltool.cli import console, err_console

    return console, err_console


@forms_app.callback()
def forms(ctx: typer.Context) -> None:
    """List the shipped and registered form packs."""
    if ctx.invoked_subcommand is not None:
        return
    from xltool.form.pack import PackError
    from xltool.form.registry import ENV_DIR, SHIPPED_DIR, available, bureau_dir, load_file

    console, err_console = _consoles()
    table = Table(title=_("Form packs"))
    for head in (_("Pack id"), _("Pack version"), _("Pack name"), _("Pack source")):
        table.add_column(head)
    for entry in sorted(available().values(), key=lambda e: (not e.shipped, e.id != "example", e.id)):
        pack = load_file(entry.path)
        table.add_row(pack.id, pack.version, pack.name, _("shipped") if entry.shipped else str(entry.path))
    console.print(table)
    folder = bureau_dir()
    if folder is None:
        console.print(_("Register your own packs by putting them in a folder named by {env}.").format(env=ENV_DIR))
    for path in sorted((folder.glob("*.toml") if folder and folder.is_dir() else [])) + sorted(SHIPPED_DIR.glob("*.toml")):
        try:
            load_file(path)
        except PackError as exc:
            err_console.print(f"[red]{escape(_('{path} is not a valid pack and is ignored:').format(path=path))}[/]")
            for problem in exc.problems:
                err_console.print(f"  · {escape(str(problem))}")


@forms_app.command("check", help=_("Check a form pack file: fields, formulas, layout and rules (exit 0 valid, 2 not)."))
def check(path: Annotated[Path, typer.Argument(help=_("The pack file (.toml)"))]) -> None:
    from xltool.form.pack import PackError

    console, err_console = _consoles()
    try:
        pack, form = validate_file(path)
    except PackError as exc:
        err_console.print(f"[red]{escape(_('The form pack {path} has {n} problems:').format(path=path, n=len(exc.problems)))}[/]")
        for problem in exc.problems:
            err_console.print(f"  · {escape(str(problem))}")
        raise typer.Exit(2) from None
    console.print(_("The form pack {path} is valid: {id} v{version} “{name}”, {sheets} sheets, {fields} fields, "
                    "{formulas} formulas.").format(
        path=path, id=pack.id, version=pack.version, name=pack.name, sheets=len(form.sheets),
        fields=len(form.fields), formulas=len(form.formulas)))


def validate_file(path: Path):
    """Load *path* and lay it out with its rules: (pack, form), or PackError."""
    from xltool.form.layout import load
    from xltool.form.pack import PackError, Problem

    pack = load(Path(path))
    form = pack.trial
    problems = rule_problems(pack)
    if problems:
        raise PackError(str(path), [Problem(_("review rules"), None, p) for p in problems])
    return pack, form


def rule_problems(pack) -> list[str]:
    """Fields the review rules need that the pack lacks (the rules read figures by id)."""
    from xltool.check.instances import _checks_for_form

    try:
        _checks_for_form(pack.trial, pack.scoring)
    except KeyError as exc:
        return [_("the review rules need the field {id}, which this pack does not declare").format(id=exc.args[0])]
    return []


def resolve_form(value: str | None) -> str | None:
    """The pack id for ``--form NAME|FILE`` (None: the default form); exits 2 with the reason."""
    if not value:
        return None
    from xltool.form.pack import PackError
    from xltool.form.registry import FormClash, UnknownForm, get_pack, is_registered, use_file

    _console, err_console = _consoles()
    looks_like_file = value.endswith(".toml") or "/" in value or "\\" in value
    try:
        if looks_like_file:
            pack, _form = validate_file(Path(value))
            use_file(Path(value))
            if not is_registered(pack.id):
                err_console.print(escape(_(
                    "Note: the pack “{id}” is not registered; to check the returned workbooks put {path} in the "
                    "folder named by XLTOOL_FORMS_DIR."
                ).format(id=pack.id, path=value)))
            return pack.id
        return get_pack(value).id
    except PackError as exc:
        err_console.print(f"[red]{escape(_('The form pack {path} has {n} problems:').format(path=value, n=len(exc.problems)))}[/]")
        for problem in exc.problems:
            err_console.print(f"  · {escape(str(problem))}")
    except (UnknownForm, FormClash) as exc:
        err_console.print(f"[red]{escape(str(exc))}[/]")
    raise typer.Exit(2)
