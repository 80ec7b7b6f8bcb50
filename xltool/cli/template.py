"""``make-template``, ``fill`` and ``fields``: the template and its field catalogue."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from xltool.cli.common import (check_choice, check_exists, check_suffix, check_year, console, err_console, fail,
                               print_fill_error, resolve_form, scoring)
from xltool.i18n import _


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
    cfg = scoring(rules_config, form_id) if rules_config or not form_id else None
    if roster is not None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from xltool.audit.distribute import write_unit_templates

        from xltool.form.registry import is_registered

        if form_id and not is_registered(form_id):
            fail(_('--roster needs a registered form pack (xltool forms); put the pack file in the folder named by XLTOOL_FORMS_DIR.'))
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
        print_fill_error(exc)
        raise typer.Exit(2) from None
    console.print(_("Template written: {out}").format(out=out.resolve()))


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
        print_fill_error(exc)
        raise typer.Exit(2) from None
    except UnreadableWorkbook as exc:
        fail(str(exc))
    console.print(_("Filled workbook written: {out}").format(out=out.resolve()))


def fields(
    year: Annotated[int, typer.Option("--year", "-y", help=_("The year evaluated"))] = 2023,
    fmt: Annotated[str, typer.Option("--format", "-f", help=_("table or json"))] = "table",
    inputs_only: Annotated[bool, typer.Option("--inputs", help=_("Only the cells a unit fills in"))] = False,
    form_name: Annotated[Optional[str], typer.Option("--form", help=_("Form pack: a pack id (xltool forms) or a pack file .toml"))] = None,
) -> None:
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
