"""Findings as a rich table in the terminal."""

from __future__ import annotations

import re

from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from xltool.check.finding import Finding, Severity, WorkbookReport
from xltool.i18n import _
from xltool.linebreak import break_lines
from xltool.plaintext import plain


def cells_text(finding: Finding, limit: int = 3) -> str:
    refs = [c.where or f"{c.sheet}!{c.cell}" for c in finding.cells[:limit]]
    more = len(finding.cells) - limit
    return "、".join(refs) + (f" …(+{more})" if more > 0 else "")


NARROW = 120  # below this width findings are listed one after another instead of as a table


def wrap(text: str, width: int, indent: str = "") -> list[str]:
    """Lines of at most *width* cells that never split a number (rich folds Chinese anywhere)."""
    return break_lines(text, width, cell_len, indent)


class Wrapped:
    """A table cell that wraps itself with ``break_lines`` at the width rich gives its column,
    so a number is never split and no line starts with ） (rich folds Chinese anywhere)."""

    def __init__(self, text: str, style: str = "") -> None:
        self.text, self.style = text, style

    def __rich_console__(self, console, options):
        for line in break_lines(self.text, max(1, options.max_width)):
            yield Text(line, style=self.style, no_wrap=True, overflow="crop")

    def __rich_measure__(self, console, options):
        from rich.measure import Measurement

        lines = self.text.split("\n") or [""]
        longest_token = max((cell_len(t) for t in re.findall(r"[-+−]?[0-9A-Za-z_.,:%!/]+|\S", self.text)), default=1)
        return Measurement(min(longest_token + 1, options.max_width), min(max(cell_len(l) for l in lines), options.max_width))


def _print_narrow(report: WorkbookReport, console: Console, title: str) -> None:
    width = max(20, console.width)
    console.print(Text(title, style="bold"))
    for n, f in enumerate(report.findings, start=1):
        style = "red" if f.severity is Severity.ERROR else "yellow"
        head = f"{n}. {f.code} {f.severity.label}  {cells_text(f)}"
        for line in wrap(head, width):
            console.print(Text(line, style=style), no_wrap=True, crop=False, soft_wrap=True)
        body = [f.message, *(f"· {a}" for a in f.attribution), *([f.confidence_text] if f.confidence_text else [])]
        if f.difference_text:
            body.append(_("Difference") + "：" + f.difference_text)
        if f.fix:
            body.append(_("What to do") + "：" + f.fix)
        for part in body:
            for line in wrap(part, width, indent="   "):
                console.print(Text(line), no_wrap=True, crop=False, soft_wrap=True)


def coverage_lines(report: WorkbookReport) -> list[str]:
    """What ran, in a few lines: the families checked, those checked in part or not at all and
    why, and what else was not judged. Empty when the report carries no coverage."""
    cov = report.coverage
    if cov is None:
        return []
    ran = [f.title for f in cov.families if f.status == "ran"]
    lines = [_("Checked: {families}").format(families="、".join(ran))] if ran else []
    for f in cov.families:
        if f.status == "partial":
            lines.append(_("Checked in part: {family} — {reasons}").format(family=f.title, reasons="；".join(f.reasons)))
    for f in cov.families:
        if f.status == "skipped":
            lines.append(_("Not checked: {family} — {reasons}").format(family=f.title, reasons="；".join(f.reasons)))
    off = [rule for f in cov.families for rule in f.off]
    if off:
        lines.append(_("Turned off in the settings: {rules}").format(rules="、".join(off)))
    absent = [code for f in cov.families if f.status != "skipped" for code in f.not_in_form]
    if absent:
        lines.append(_("Not applicable to this form (it has no figures for them): {rules}").format(
            rules="、".join(absent)))
    lines += [f"· {note}" for note in cov.notes]
    return lines


def coverage_line(report: WorkbookReport) -> str:
    """The coverage as one line (问题清单, mail)."""
    return "；".join(coverage_lines(report))


def print_coverage(report: WorkbookReport, console: Console) -> None:
    width = max(20, console.width)
    for line in coverage_lines(report):
        for part in wrap(line, width):
            console.print(Text(part, style="dim"), no_wrap=True, crop=False, soft_wrap=True)


def print_report(report: WorkbookReport, console: Console) -> None:
    title = _("{unit} {year} — {file}").format(unit=plain(report.unit) or _("(unit not filled)"), year=report.year or "",
                                                 file=plain(report.path, 400))
    if not report.findings:
        console.print(f"[bold green]✓ {escape(title)}：{_('no findings, the workbook passes the review')}[/]")
        print_coverage(report, console)
        return
    if console.width < NARROW:
        _print_narrow(report, console, title)
        console.print(_("Must fix: {errors}; needs explanation: {warnings}.").format(
            errors=report.errors, warnings=report.warnings))
        print_coverage(report, console)
        return
    table = Table(title=Text(title), show_lines=True, expand=True)
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
        if f.confidence_text:
            problem += "\n" + f.confidence_text
        table.add_row(f.code, f"[{style}]{f.severity.label}[/]", Wrapped(cells_text(f)), Wrapped(problem),
                      f.difference_text, Wrapped(f.fix))
    console.print(table)
    console.print(_("Must fix: {errors}; needs explanation: {warnings}.").format(
        errors=report.errors, warnings=report.warnings))
    print_coverage(report, console)


def print_unplaced(report, console) -> None:
    """Figures of a Word report that no field took: listed, never dropped."""
    if not report.unplaced:
        return
    console.print(f"[yellow]{escape(_('Figures not placed on any field ({n}):').format(n=len(report.unplaced)))}[/]")
    for line in report.unplaced:
        console.print(f"  · {escape(line)}")

