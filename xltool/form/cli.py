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
    """List the shipped and registered form packs, every version; say why a bureau's file is left out."""
    if ctx.invoked_subcommand is not None:
        return
    from xltool.form.pack import PackError
    from xltool.form.registry import ENV_DIR, broken, bureau_dir, entries, load_file

    console, err_console = _consoles()
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
    if pack.extends:
        console.print(_("It extends {base}: everything it does not change is that pack's.").format(base=pack.extends))


def validate_file(path: Path):
    """Load *path* (its base, if it extends one, from the registered packs) and lay it out with
    its rules: (pack, form), or PackError."""
    from xltool.form.pack import PackError, Problem
    from xltool.form.registry import load_file

    pack = load_file(Path(path), check_layout=True)
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
    """The pack for ``--form NAME|NAME@VERSION|FILE`` as ``id@version`` (None: the default form);
    exits 2 with the reason."""
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
            if not is_registered(pack.ref):
                err_console.print(escape(_(
                    "Note: the pack “{id}” is not registered; to check the returned workbooks put {path} in the "
                    "folder named by XLTOOL_FORMS_DIR."
                ).format(id=pack.ref, path=value)))
            return pack.ref
        return get_pack(value[:120]).ref
    except PackError as exc:
        err_console.print(f"[red]{escape(_('The form pack {path} has {n} problems:').format(path=value, n=len(exc.problems)))}[/]")
        for problem in exc.problems:
            err_console.print(f"  · {escape(str(problem))}")
    except (UnknownForm, FormClash) as exc:
        err_console.print(f"[red]{escape(str(exc))}[/]")
    raise typer.Exit(2)
