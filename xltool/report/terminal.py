"""Findings as a table in the terminal.

rich draws it; on output that is not a terminal (no colours) ``xltool.report.plaintable`` lays
out the same text without importing rich, when it can be sure of it (a console with
``plain_width``, see ``xltool.console.PlainConsole``). The columns are declared once, below.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from xltool.check.finding import Finding, Severity, WorkbookReport
from xltool.console import cell_width
from xltool.i18n import N_, _
from xltool.linebreak import break_lines
from xltool.plaintext import plain
from xltool.report.plaintable import Column

if TYPE_CHECKING:
    from rich.console import Console


def cell_len(text: str) -> int:
    """Width in terminal cells, as rich counts it (rich itself only for unusual characters)."""
    width = cell_width(text)
    if width is None:
        from rich.cells import cell_len as rich_cell_len

        return rich_cell_len(text)
    return width


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


# The findings table's columns (English msgids, translated when shown). Chinese has no spaces to
# break at: long text is folded (Wrapped) instead of cut off.
COLUMNS = (
    Column(N_("Rule"), no_wrap=True),
    Column(N_("Severity"), no_wrap=True),
    Column(N_("Cells"), ratio=1),
    Column(N_("Problem"), ratio=3),
    Column(N_("Difference"), no_wrap=True, justify="right"),
    Column(N_("What to do"), ratio=2),
)


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
        from rich.text import Text

        for line in break_lines(self.text, max(1, options.max_width)):
            yield Text(line, style=self.style, no_wrap=True, overflow="crop")

    def __rich_measure__(self, console, options):
        from rich.measure import Measurement

        lines = self.text.split("\n") or [""]
        longest_token = max((cell_len(t) for t in re.findall(r"[-+−]?[0-9A-Za-z_.,:%!/]+|\S", self.text)), default=1)
        return Measurement(min(longest_token + 1, options.max_width), min(max(cell_len(l) for l in lines), options.max_width))


def _plain(console: Console, line: str, fits: bool = True) -> bool:
    """True when *line* can be written as it is on *console* (plain output, rich would show
    the same: known widths, no markup or emoji code; when *fits*, one line at its width)."""
    plain_width = getattr(console, "plain_width", None)
    width = plain_width() if plain_width is not None else None
    if width is None:
        return False
    from xltool.console import plain_markup

    if not fits:
        return cell_width(line) is not None
    return "\n" not in line and line == line.strip() and plain_markup(line) and cell_width(line) <= width


def _say(console: Console, line: str, style: str = "") -> None:
    """One line as it is (no markup, not wrapped): written plainly when the console can."""
    if _plain(console, line, fits=False):
        console.write_lines([line])
        return
    from rich.text import Text

    console.print(Text(line, style=style), no_wrap=True, crop=False, soft_wrap=True)


def _print_narrow(report: WorkbookReport, console: Console, title: str) -> None:
    width = max(20, console.width)
    if _plain(console, title, fits=False) and "\n" not in title and title == title.strip() \
            and cell_width(title) <= console.width:
        console.write_lines([title])  # rich: Text(title) fits on one line as it is
    else:
        from rich.text import Text

        console.print(Text(title, style="bold"))
    for n, f in enumerate(report.findings, start=1):
        style = "red" if f.severity is Severity.ERROR else "yellow"
        head = f"{n}. {f.code} {f.severity.label}  {cells_text(f)}"
        for line in wrap(head, width):
            _say(console, line, style)
        body = [f.message, *(f"· {a}" for a in f.attribution), *([f.confidence_text] if f.confidence_text else [])]
        if f.difference_text:
            body.append(_("Difference") + "：" + f.difference_text)
        if f.fix:
            body.append(_("What to do") + "：" + f.fix)
        for part in body:
            for line in wrap(part, width, indent="   "):
                _say(console, line)


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
            _say(console, part, "dim")


def print_report(report: WorkbookReport, console: Console) -> None:
    title = _("{unit} {year} — {file}").format(unit=plain(report.unit) or _("(unit not filled)"), year=report.year or "",
                                                 file=plain(report.path, 400))
    if not report.findings:
        line = f"✓ {title}：{_('no findings, the workbook passes the review')}"
        if _plain(console, line):  # what the markup below shows, without rich
            console.write_lines([line])
        else:
            console.print(f"[bold green]✓ {escape(title)}：{_('no findings, the workbook passes the review')}[/]")
        print_coverage(report, console)
        return
    if console.width < NARROW:
        _print_narrow(report, console, title)
        console.print(_("Must fix: {errors}; needs explanation: {warnings}.").format(
            errors=report.errors, warnings=report.warnings))
        print_coverage(report, console)
        return
    rows = []
    for f in report.findings:
        problem = f.message + ("\n" + "\n".join(f"· {a}" for a in f.attribution) if f.attribution else "")
        if f.confidence_text:
            problem += "\n" + f.confidence_text
        rows.append([(False, f.code), (False, f.severity.label), (True, cells_text(f)), (True, problem),
                     (False, f.difference_text), (True, f.fix)])
    columns = [Column(_(c.header), c.no_wrap, c.ratio, c.justify) for c in COLUMNS]
    plain_width = getattr(console, "plain_width", None)
    width = plain_width() if plain_width is not None else None
    if width is not None:
        from xltool.report.plaintable import render

        lines = render(title, columns, rows, width)
        if lines is not None:
            console.write_lines(lines)
            console.print(_("Must fix: {errors}; needs explanation: {warnings}.").format(
                errors=report.errors, warnings=report.warnings))
            print_coverage(report, console)
            return
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(title), show_lines=True, expand=True)
    for column in columns:
        table.add_column(column.header, no_wrap=column.no_wrap, ratio=column.ratio, justify=column.justify,
                         overflow="ellipsis" if column.no_wrap else "fold")
    for f, row in zip(report.findings, rows):
        style = "red" if f.severity is Severity.ERROR else "yellow"
        table.add_row(f.code, f"[{style}]{f.severity.label}[/]", Wrapped(row[2][1]), Wrapped(row[3][1]),
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

