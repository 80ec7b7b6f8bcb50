"""``make-report`` and ``check-report``: the Word report written from a workbook, or checked as it is.

Parameters declared with ``xltool.cli.spec`` (an ordinary line runs without Typer); annotations
evaluated, as the light parser reads them.
"""

from pathlib import Path
from typing import Annotated, Optional

from xltool.cli import common
from xltool.cli.common import escape, refuse_overwriting, resolve_form, scoring
from xltool.cli.spec import Arg, Opt
from xltool.i18n import _


def make_report_cmd(
    workbook: Annotated[Path, Arg(_("The filled .xlsx workbook"))],
    out: Annotated[Path, Opt("--out", "-o", help=_("Output .docx file"))],
    template: Annotated[Optional[Path], Opt("--template", help=_("The bureau's report template (.docx with docxtpl tags)"))] = None,
    force: Annotated[bool, Opt("--force", help=_("Write the report even if the workbook has “must fix” findings (marked on the first page)"))] = False,
    rules_config: Annotated[Optional[Path], Opt("--rules-config", help=_("Scoring configuration TOML overriding the workbook's"))] = None,
) -> None:
    from xltool.read.safety import UnreadableWorkbook
    from xltool.word.writer import FormUnsupported, ReportRefused, TemplateRefused, make_report

    console, err_console = common.console, common.err_console

    if out.suffix.lower() != ".docx":
        err_console.print(f"[red]{escape(_('The report must be written to a .docx file: {out}').format(out=out))}[/]")
        raise SystemExit(2)
    sources = [workbook.resolve()] + ([template.resolve()] if template else [])
    if out.resolve() in sources:
        err_console.print(f"[red]{escape(_('The output {out} would overwrite an input; choose another file name.').format(out=out))}[/]")
        raise SystemExit(2)
    if template is not None and not template.is_file():
        err_console.print(f"[red]{escape(_('The report template {path} does not exist.').format(path=template))}[/]")
        raise SystemExit(2)
    cfg = None
    if rules_config:
        cfg = scoring(rules_config)
    try:
        written, errors = make_report(workbook, out, template=template, force=force, cfg=cfg)
    except (UnreadableWorkbook, FormUnsupported) as exc:
        err_console.print(f"[red]✗ {escape(str(workbook))}：{escape(exc.message)}[/]")
        raise SystemExit(2) from None
    except TemplateRefused as exc:
        err_console.print(f"[red]✗ {escape(str(template))}：{escape(exc.message)}[/]")
        raise SystemExit(2) from None
    except ReportRefused as exc:
        err_console.print(f"[red]{escape(exc.message)}[/]")
        raise SystemExit(1) from None
    except Exception as exc:  # noqa: BLE001 - a broken template must not end in a traceback
        if template is None:
            raise
        err_console.print(f"[red]{escape(_('The report template {path} could not be used ({error}); nothing was written.').format(path=template, error=f'{type(exc).__name__}: {exc}'[:300]))}[/]")
        raise SystemExit(2) from None
    console.print(_("Report written: {out}").format(out=written))
    if errors:
        console.print(f"[yellow]{escape(_('The workbook still has {n} “must fix” findings; the report says so on its first page.').format(n=errors))}[/]")


def check_report_cmd(
    files: Annotated[list[Path], Arg(_("Word reports (.docx)"))],
    fmt: Annotated[str, Opt("--format", "-f", help=_("table or json"))] = "table",
    xlsx: Annotated[Optional[Path], Opt("--xlsx", help=_("Write the 问题清单 workbook here"))] = None,
    rules_config: Annotated[Optional[Path], Opt("--rules-config", help=_("Scoring configuration TOML overriding the workbook's"))] = None,
    form_name: Annotated[Optional[str], Opt("--form", help=_("Form pack the report follows: a pack id (xltool forms) or a pack file .toml; beside a workbook, the workbook's pack"))] = None,
) -> None:
    from xltool.check.run import check_files

    console, err_console = common.console, common.err_console
    if fmt not in ("table", "json"):
        err_console.print(f"[red]{escape(_('Unknown format {fmt}: use table or json.').format(fmt=fmt))}[/]")
        raise SystemExit(2)
    refuse_overwriting(files, xlsx)
    form = resolve_form(form_name)
    cfg = scoring(rules_config, form) if rules_config else None
    output = check_files(files, cfg=cfg, fmt=fmt, xlsx=xlsx, console=console, err_console=err_console, form=form)
    raise SystemExit(output.exit_code)
