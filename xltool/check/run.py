"""check-workbook for one or more files: read, check, report, optionally e-mail."""

from __future__ import annotations

import tempfile
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from xltool.check.checker import check_path
from xltool.read.safety import UnreadableWorkbook
from xltool.report.model import CheckOutput, Unreadable


def _target(base: Path | None, source: Path, many: bool, suffix: str) -> Path | None:
    """With several inputs, an output path names a folder holding one file per input."""
    if base is None:
        return None
    if many or base.is_dir():
        return base / f"{source.stem}{suffix}.xlsx"
    return base


def check_files(files, *, cfg=None, fmt="table", xlsx=None, annotate_out=None, console: Console | None = None,
                err_console: Console | None = None, email=False, to=None, cc=None, dry_run=False, resend=False,
                mail_config=None, form: str | None = None) -> CheckOutput:
    """*form*: the form pack a Word report is read against (a workbook names its own)."""
    from xltool.report.terminal import print_report

    console = console or Console()
    err_console = err_console or Console(stderr=True)
    output = CheckOutput()
    many = len(files) > 1
    checked = []
    for path in map(Path, files):
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
            if report.unplaced:
                from xltool.word.cli import print_unplaced

                print_unplaced(report, console)
        list_path = _target(xlsx, path, many, "_问题清单")
        annotated_path = _target(annotate_out, path, many, "_审核标注")
        if list_path:
            from xltool.report.xlsx_list import write_issue_list

            write_issue_list(report, list_path)
        if annotated_path and path.suffix.lower() != ".docx":
            from xltool.report.annotate import annotate

            annotate(path, report, annotated_path)
        if email:
            _email(report, path, list_path, annotated_path, to=to, cc=cc, dry_run=dry_run, resend=resend,
                   mail_config=mail_config, console=err_console if fmt == "json" else console)
    if fmt == "json":
        console.print_json(output.model_dump_json()) if console.is_terminal else print(output.model_dump_json(indent=2))
    return output


def _email(report, path: Path, list_path, annotated_path, *, to, cc, dry_run, resend, mail_config, console) -> None:
    from xltool.mail.cli import deliver_and_print
    from xltool.mail.compose import report_attachments
    from xltool.report.annotate import annotate
    from xltool.report.xlsx_list import write_issue_list

    unit = report.unit or path.stem
    with tempfile.TemporaryDirectory() as tmp:
        attachments = []
        if report.findings:
            lp = list_path or write_issue_list(report, Path(tmp) / f"问题清单_{unit}.xlsx")
            ap = annotated_path or (annotate(path, report, Path(tmp) / f"审核标注_{unit}.xlsx")
                                    if path.suffix.lower() != ".docx" else None)
            attachments = report_attachments(report, lp, ap)
        deliver_and_print(report, attachments, config=mail_config, to=to, cc=cc, dry_run=dry_run,
                          resend=resend, console=console)
