"""``xltool forms``: list the form packs; ``xltool forms check FILE.toml`` validates one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from xltool.check.packs import validate_file
from xltool.cli.common import console, err_console, print_pack_problems
from xltool.i18n import _

forms_app = typer.Typer(
    name="forms",
    help=_("Form packs: list them, or check a pack file"),
    invoke_without_command=True,
    add_completion=False,
)


@forms_app.callback()
def forms(ctx: typer.Context) -> None:
    """List the shipped and registered form packs."""
    if ctx.invoked_subcommand is not None:
        return
    from xltool.form.pack import PackError
    from xltool.form.registry import ENV_DIR, SHIPPED_DIR, available, bureau_dir, load_file

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

    try:
        pack, form = validate_file(path)
    except PackError as exc:
        print_pack_problems(path, exc)
        raise typer.Exit(2) from None
    console.print(_("The form pack {path} is valid: {id} v{version} “{name}”, {sheets} sheets, {fields} fields, "
                    "{formulas} formulas.").format(
        path=path, id=pack.id, version=pack.version, name=pack.name, sheets=len(form.sheets),
        fields=len(form.fields), formulas=len(form.formulas)))
