"""Findings as a rich table in the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from xltool.check.finding import Finding, Severity, WorkbookReport
from xltool.i18n import _


def cells_text(finding: Finding, limit: int = 3) -> str:
    refs = [f"{c.sheet}!{c.cell}" for c in finding.cells[:limit]]
    more = len(finding.cells) - limit
    return "、".join(refs) + (f" …(+{more})" if more > 0 else "")


def print_report(report: WorkbookReport, console: Console) -> None:
    title = _("{unit} {year} — {file}").format(unit=report.unit or _("(unit not filled)"), year=report.year or "",
                                                 file=report.path)
    if not report.findings:
        console.print(f"[bold green]✓ {title}：{_('no findings, the workbook passes the review')}[/]")
        return
    table = Table(title=title, show_lines=True, expand=True)
    table.add_column(_("Rule"), no_wrap=True)
    table.add_column(_("Severity"), no_wrap=True)
    # Chinese has no spaces to break at: fold long text instead of cutting it off.
    table.add_column(_("Cells"), overflow="fold", ratio=1)
    table.add_column(_("Problem"), overflow="fold", ratio=3)
    table.add_column(_("Difference"), justify="right", no_wrap=True)
    table.add_column(_("What to do"), overflow="fold", ratio=2)
    for f in report.findings:
        style = "red" if f.severity is Severity.ERROR else "yellow"
        problem = f.message + ("\n" + "\n".join(f"· {a}" for a in f.attribution) if f.attribution else "")
        table.add_row(f.code, f"[{style}]{f.severity.label}[/]", cells_text(f), problem, f.difference_text, f.fix)
    console.print(table)
    console.print(_("Must fix: {errors}; needs explanation: {warnings}.").format(
        errors=report.errors, warnings=report.warnings))
