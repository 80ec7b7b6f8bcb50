"""check-workbook for one or more files: read, check, report, optionally e-mail."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from xltool.check.checker import check_path
from xltool.i18n import _
from xltool.read.safety import UnreadableWorkbook
from xltool.report.model import CheckOutput, Unreadable
from xltool.safenames import Names, inside

if TYPE_CHECKING:
    from rich.console import Console


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape  # rich only when something is printed

    return rich_escape(text)


def _target(base: Path | None, source: Path, many: bool, suffix: str, names: Names) -> Path | None:
    """With several inputs, an output path names a folder holding one file per input, named
    after the input file (made safe and unique, see xltool.safenames) and never outside it."""
    if base is None:
        return None
    if many or base.is_dir():
        return inside(base, names.take(source.stem, f"{suffix}.xlsx", fallback="workbook"))
    return base


def _same_folder(a: Path | None, b: Path | None) -> bool:
    return a is not None and b is not None and Path(a).resolve() == Path(b).resolve()


def _progress(paths: list[Path], console: Console):
    """The files one by one, with a progress bar when there are enough to wait for."""
    if len(paths) < 5 or not console.is_terminal:
        yield from paths
        return
    from rich.progress import track

    yield from track(paths, description=_("Checking workbooks"), console=console, transient=True)


def check_files(files, *, cfg=None, fmt="table", xlsx=None, annotate_out=None, console: Console | None = None,
                err_console: Console | None = None, email=False, to=None, cc=None, dry_run=False, resend=False,
                mail_config=None, form: str | None = None) -> CheckOutput:
    """*form*: the form pack a Word report is read against (a workbook names its own)."""
    from xltool.report.terminal import print_report, print_unplaced

    if console is None or err_console is None:
        from rich.console import Console

        console = console or Console()
        err_console = err_console or Console(stderr=True)
    output = CheckOutput()
    many = len(files) > 1
    checked = []
    names = {"list": Names(), "annotated": Names()}  # one set per output folder
    for path in _progress(list(map(Path, files)), err_console if fmt == "json" else console):
        try:
            if path.suffix.lower() == ".docx":  # a Word report (xltool.word): same rules, figures read from text
                from xltool.word.check import check_document

                result, _values, report = check_document(path, cfg=cfg, form=form)
            else:
                result, report = check_path(path, cfg=cfg)
        except UnreadableWorkbook as exc:
            output.unreadable.append(Unreadable(path=str(path), reason=str(exc.reason), message=exc.message))
            if fmt != "json":
                err_console.print(f"[red]✗ {escape(str(path))}：{escape(exc.message)}[/]")
            continue
        checked.append((path, result, report))
    if any(p.suffix.lower() == ".docx" for p, _r, _w in checked):
        from xltool.word.check import across

        across(checked)
    for path, _result, report in checked:
        output.workbooks.append(report)
        if fmt != "json":
            print_report(report, console)
            print_unplaced(report, console)
        list_path = _target(xlsx, path, many, "_问题清单", names["list"])
        annotated_path = _target(annotate_out, path, many, "_审核标注",
                                 names["list"] if _same_folder(xlsx, annotate_out) else names["annotated"])
        said = err_console if fmt == "json" else console  # JSON on stdout stays parseable
        if list_path:
            from xltool.report.xlsx_list import write_issue_list

            write_issue_list(report, list_path)
            said.print(escape(_("Issue list written: {path}").format(path=Path(list_path).resolve())))
        if annotated_path and path.suffix.lower() != ".docx":
            from xltool.report.annotate import annotate

            annotate(path, report, annotated_path)
            said.print(escape(_("Annotated copy written: {path}").format(path=Path(annotated_path).resolve())))
        if email:
            _email(report, path, list_path, annotated_path, to=to, cc=cc, dry_run=dry_run, resend=resend,
                   mail_config=mail_config, console=err_console if fmt == "json" else console)
    if fmt == "json":
        console.print_json(output.to_json()) if console.is_terminal else print(output.to_json(indent=2))
    return output


def _email(report, path: Path, list_path, annotated_path, *, to, cc, dry_run, resend, mail_config, console) -> None:
    import tempfile

    from xltool.mail.show import deliver_and_print
    from xltool.mail.compose import report_attachments
    from xltool.report.annotate import annotate
    from xltool.report.xlsx_list import write_issue_list

    with tempfile.TemporaryDirectory() as tmp:
        attachments = []
        if report.findings:
            # Files of our own naming in our own folder: the unit's name, which the workbook
            # supplies, only reaches the attachments' display names (made safe there).
            lp = list_path or write_issue_list(report, inside(tmp, "issues.xlsx"))
            ap = annotated_path or (annotate(path, report, inside(tmp, "marked.xlsx"))
                                    if path.suffix.lower() != ".docx" else None)
            attachments = report_attachments(report, lp, ap)
        deliver_and_print(report, attachments, config=mail_config, to=to, cc=cc, dry_run=dry_run,
                          resend=resend, console=console)
