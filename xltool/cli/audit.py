"""``xltool audit``: the batch audit command."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from xltool.cli.common import check_exists, console, err_console, fail, scoring
from xltool.i18n import _


def audit(
    inputs: Annotated[list[Path], typer.Argument(help=_("Returned workbooks, folders (searched recursively) or zip archives"))],
    roster: Annotated[Optional[Path], typer.Option("--roster", help=_("Roster of units (xlsx/csv): 单位名称, 单位编码, 电子邮箱, 分管科室"))] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help=_("Output folder (default: ./audit)"))] = None,
    email: Annotated[bool, typer.Option("--email", help=_("E-mail each unit its own result (outbox, never twice)"))] = False,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help=_("Worker processes (default: one per CPU core)"))] = None,
    previous: Annotated[Optional[Path], typer.Option("--previous", help=_("Last year's audit folder: compare last year's final figures"))] = None,
    rules_config: Annotated[Optional[Path], typer.Option("--rules-config", help=_("Scoring configuration TOML overriding the workbooks'"))] = None,
    mail_config: Annotated[Optional[Path], typer.Option("--config", help=_("Mail configuration TOML (default ./xltool.toml)"))] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=_("With --email: show what would be sent; send nothing"))] = False,
    resend: Annotated[bool, typer.Option("--resend", help=_("With --email: send even if the same findings were sent before"))] = False,
    wait: Annotated[float, typer.Option("--wait", min=0, help=_("Seconds to wait while another audit writes the same output folder (default: refuse at once)"))] = 0.0,
) -> None:
    from rich.markup import escape

    from xltool.audit.lock import AuditLocked
    from xltool.audit.previous import PreviousError
    from xltool.audit.roster import RosterError
    from xltool.audit.run import AuditOptions, run_audit
    from xltool.audit.summary import summary_line

    missing = [p for p in inputs if not p.exists()]
    if missing:  # a mistyped folder is a usage error, not a round with one problem file and an empty summary
        fail(_("Nothing was audited: {paths} does not exist.").format(paths="、".join(str(p) for p in missing)))
    for option, path in (("--roster", roster), ("--previous", previous), ("--rules-config", rules_config)):
        check_exists(path, option)
    cfg = scoring(rules_config) if rules_config else None
    options = AuditOptions(inputs=list(inputs), out=out or Path("audit"), roster=roster, jobs=jobs, email=email,
                           previous=previous, cfg=cfg, mail_config=mail_config, dry_run=dry_run, resend=resend,
                           wait=wait)
    progress = RichProgress(err_console)
    try:
        outcome = run_audit(options, progress)
    except (RosterError, PreviousError, AuditLocked) as exc:
        progress.stop()
        err_console.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from None
    except (OSError, sqlite3.Error) as exc:  # the output folder: full, read-only, gone
        from xltool.audit.storage import write_error_kind, write_error_message

        progress.stop()
        if write_error_kind(exc) is None:
            raise
        err_console.print(f"[red]{escape(write_error_message(exc, options.out))}[/]")
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        progress.stop()
        err_console.print(f"[yellow]{escape(_('Interrupted. Every result so far is saved; run the same command again to resume.'))}[/]")
        raise typer.Exit(130) from None
    for problem in outcome.roster_problems:
        err_console.print(f"[yellow]· {escape(problem)}[/]")
    if outcome.mail_error:
        err_console.print(f"[red]{escape(outcome.mail_error)}[/]")
    if outcome.mail:
        console.print(escape(_("E-mail: {tally}").format(tally="，".join(f"{k} {v}" for k, v in sorted(outcome.mail.items())))))
    if outcome.mail_note:
        console.print(f"[yellow]{escape(outcome.mail_note)}[/]")
    if outcome.checked:
        rate = outcome.checked / outcome.seconds if outcome.seconds else 0.0
        console.print(escape(_("Checked {checked} files, reused {reused} unchanged results, in {seconds:.1f} s ({rate:.0f} files/s).").format(
            checked=outcome.checked, reused=outcome.reused, seconds=outcome.seconds, rate=rate)))
    else:
        console.print(escape(_("No file changed: reused {reused} results, in {seconds:.1f} s.").format(
            reused=outcome.reused, seconds=outcome.seconds)))
    for line in outputs_lines(outcome, Path(options.out)):
        console.print(escape(line))
    if not outcome.checked_files:
        err_console.print(f"[red]{escape(_('No file could be checked: see the reasons above and in the sheet 异常文件.'))}[/]"
                          if outcome.anomalies else
                          f"[red]{escape(_('Nothing was audited: the inputs hold no workbook.'))}[/]")
    elif outcome.unread_files:
        console.print(f"[yellow]{escape(_('{n} files could not be checked (unreadable, a PDF or picture, not the template): the sheet 异常文件 says why and what to do.').format(n=outcome.unread_files))}[/]")
    console.print(f"[bold]{escape(summary_line(outcome))}[/]")
    raise typer.Exit(outcome.exit_code)


def outputs_lines(outcome, out: Path) -> list[str]:
    """Where the results are: the folder, 审核汇总.xlsx, the CSV and units/ (what each holds)."""
    lines = [_("Results in {out}:").format(out=out.resolve())]
    summary, csv_file = outcome.outputs.get("summary"), outcome.outputs.get("csv")
    if summary is not None:
        lines.append("  " + _("{name}: summary by unit, findings, not submitted, problem files, changes, all data, "
                              "charts").format(name=summary.name))
    if csv_file is not None:
        lines.append("  " + _("{name}: every figure of every unit (opens in Excel)").format(name=csv_file.name))
    with_lists = sum(1 for u in outcome.units if u.outputs)
    lines.append("  " + (_("units/: the issue list and marked copy of {n} units with findings").format(n=with_lists)
                         if with_lists else _("units/: empty, no unit has findings")))
    return lines


class RichProgress:
    """A rich progress bar on stderr: files done, rate, time remaining."""

    def __init__(self, console) -> None:
        self.console = console
        self.bar = None
        self.task = None

    def phase(self, text: str) -> None:
        if self.bar is None and self.console.is_terminal:
            self.console.print(f"[dim]{text} …[/]")

    def start(self, total: int, done: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        if not self.console.is_terminal and not sys.stderr.isatty():
            return
        self.bar = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=self.console, transient=False,
            refresh_per_second=4,  # the bar shares the machine with the workers
        )
        self.bar.start()
        self.task = self.bar.add_task(_("Checking"), total=total, completed=done, rate="")
        self._started = None
        self._base = done

    def advance(self, n: int = 1) -> None:
        import time

        if self.bar is None:
            return
        now = time.perf_counter()
        if self._started is None:
            self._started, self._count = now, 0
        self._count += n
        elapsed = now - self._started
        rate = _("{rate:.0f} files/s").format(rate=self._count / elapsed) if elapsed > 0.2 else ""
        self.bar.update(self.task, advance=n, rate=rate)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
