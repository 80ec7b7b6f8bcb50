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
    """List the shipped and registered form packs, every version; say why a bureau's file is left out."""
    if ctx.invoked_subcommand is not None:
        return
    from xltool.form.pack import PackError
    from xltool.form.registry import ENV_DIR, broken, bureau_dir, entries, load_file

    table = Table(title=_("Form packs"))
    for head in (_("Pack id"), _("Pack version"), _("Pack name"), _("Pack extends"), _("Pack source")):
        table.add_column(head)
    invalid: list[tuple[object, PackError]] = []
    for entry in entries():
        try:
            pack = load_file(entry.path)
        except PackError as exc:  # its header was fine, its body is not: listed below, left out
            invalid.append((entry.path, exc))
            continue
        table.add_row(pack.id, pack.version, pack.name, pack.extends or "",
                      _("shipped") if entry.shipped else str(entry.path))
    console.print(table)
    if bureau_dir() is None:
        console.print(_("Register your own packs by putting them in a folder named by {env}.").format(env=ENV_DIR))
    for path, problems in [*((b.path, list(b.problems)) for b in broken()), *((p, e.problems) for p, e in invalid)]:
        err_console.print(f"[red]{escape(_('{path} is not a valid pack and is ignored:').format(path=path))}[/]")
        for problem in problems[:10]:
            err_console.print(f"  · {escape(str(problem))}")
        if len(problems) > 10:
            err_console.print(f"  · {escape(_('… and {n} more').format(n=len(problems) - 10))}")


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
    if pack.extends:
        console.print(_("It extends {base}: everything it does not change is that pack's.").format(base=pack.extends))
