"""Work done in the audit's worker processes. Everything returned is small and picklable.

``check_file`` reads and checks one workbook with exactly what ``check-workbook`` does
(``check_path``) and returns a compact identity header plus a JSON body (report and every
field's value); the workbook itself never leaves the worker. ``write_outputs`` writes one
unit's 问题清单 and annotated copy.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from datetime import date, datetime
from pathlib import Path

from xltool.form.scoring import ScoringConfig
from xltool.read.safety import Limits


def _plain(value: object) -> object:
    """A value as JSON can hold it: dates as ISO text."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def finding_keys(findings: list[dict]) -> list[dict]:
    """The compact form of findings kept per submission: key, severity and message."""
    return [{"key": f"{f['code']}:{f['instance']}", "severity": f["severity"], "message": f["message"]} for f in findings]


def output_names(source: str) -> tuple[str, str]:
    """File names of a unit's 问题清单 and annotated copy."""
    from xltool.i18n import _

    from xltool.safenames import file_name

    stem = Path(source.rsplit("!", 1)[-1].replace("\\", "/")).stem
    return file_name(_("Issue list"), ".xlsx"), file_name(_("Marked_{name}").format(name=stem), ".xlsx")


def output_stamp(sha256: str, report_json: str) -> str:
    """What a unit's output files depend on: the workbook, its findings, xltool and the language."""
    import hashlib

    from xltool import __version__
    from xltool.i18n import current_locale

    return hashlib.sha256("|".join((sha256, report_json, __version__, current_locale())).encode()).hexdigest()


def staging_key(source: str, sha256: str) -> str:
    import hashlib

    return hashlib.sha256(f"{source}|{sha256}".encode()).hexdigest()[:32]


STAMP_FILE = "stamp.txt"


def write_outputs(original: str, report_json: str, folder: str, source: str) -> list[str]:
    """Write the 问题清单 and the annotated copy of *original* into *folder*."""
    from xltool.audit.issuelist import write_issue_list_fast
    from xltool.audit.marking import annotate_fast
    from xltool.check.finding import WorkbookReport

    report = WorkbookReport.from_json(report_json)
    out = Path(folder)
    issues_name, annotated_name = output_names(source)
    issues = write_issue_list_fast(report, out / issues_name)
    if Path(original).suffix.lower() == ".docx":  # a Word report has no cells to mark
        return [str(issues)]
    annotated = annotate_fast(Path(original), report, out / annotated_name)
    return [str(issues), str(annotated)]


def write_outputs_unless_gone(original: str, report_json: str, folder: str, source: str) -> list[str] | str:
    """``write_outputs``, or the reason (Chinese) when *original* vanished after it was checked:
    the 问题清单 is kept, the annotated copy cannot be made, and the batch goes on."""
    try:
        return write_outputs(original, report_json, folder, source)
    except OSError:
        if Path(original).exists():
            raise  # the output side failed: the caller reports that (disk full, read-only, ...)
        from xltool.i18n import _

        name = source.rsplit("!", 1)[-1].replace("\\", "/").rsplit("/", 1)[-1]
        return _("The file {name} was deleted or moved after it was checked, so no annotated copy was made; "
                 "put it back and run the audit again.").format(name=name)


def check_file(path: str, source: str, cfg_json: str | None, staging: str | None = None,
               limits: Limits | None = None) -> tuple[str, dict, str]:
    """(status, header, body) for one file: status "ok" or "unreadable".

    With *staging*, a workbook with findings also gets its 问题清单 and annotated copy written
    here, in parallel with the other checks, into staging/<key>/ with a stamp; the round moves
    them into place when the unit keeps this workbook and its findings did not change.
    """
    from xltool.check.checker import check_path
    from xltool.check.finding import WorkbookReport
    from xltool.read.safety import UnreadableWorkbook

    started = time.perf_counter()
    cfg = ScoringConfig.from_json(cfg_json) if cfg_json else None
    try:
        if Path(path).suffix.lower() == ".docx":
            from xltool.word.check import audit_result

            result, report = audit_result(Path(path), cfg)
        else:
            result, report = check_path(Path(path), cfg=cfg, limits=limits)
    except UnreadableWorkbook as exc:
        header = {"reason": str(exc.reason), "message": exc.message, "detail": getattr(exc, "detail", "")[:500],
                  "seconds": round(time.perf_counter() - started, 4)}
        return "unreadable", header, json.dumps(header, ensure_ascii=False)
    except Exception as exc:  # noqa: BLE001 - a bug must not stop the batch; it is reported per file
        from xltool.i18n import _

        message = _("The workbook could not be checked because of an internal error ({error}); please report it.")
        header = {"reason": "internal_error", "message": message.format(error=type(exc).__name__),
                  "detail": repr(exc)[:500], "seconds": round(time.perf_counter() - started, 4)}
        return "unreadable", header, json.dumps(header, ensure_ascii=False)
    report.path = source  # what the bureau knows the file by (not a temporary extraction path)
    dumped = report.to_dict()
    values = {k: _plain(v) for k, v in result.values.items() if v is not None and v != ""}
    header = {
        "unit": report.unit, "unit_code": report.unit_code, "year": report.year,
        "template_version": report.template_version, "email": report.contact_email,
        "contact": report.contact_name, "date": _plain(result.values.get("info_date")),
        "errors": report.errors, "warnings": report.warnings, "findings": finding_keys(dumped["findings"]),
        "sha256": report.sha256,  # of the bytes checked: the round compares it with the file it hashed
        "scoring": result.cfg.to_json(),
        "form": result.form.pack_ref,  # the form pack, by id@version
        "blank": bool(getattr(result, "unfilled", False)),  # a template returned with nothing typed in it
    }
    if staging and report.findings and not header["blank"]:  # a blank template gets no lists
        report_json = WorkbookReport.from_dict(dumped).to_json()  # exactly as the round reloads it
        folder = Path(staging) / staging_key(source, report.sha256)
        # What the round compares its outputs with, unless it adds findings (saves it reading the report back).
        header["stamp"], header["stamp_source"] = output_stamp(report.sha256, report_json), source
        try:
            write_outputs(path, report_json, str(folder), source)
            (folder / STAMP_FILE).write_text(header["stamp"], encoding="utf-8")
        except Exception:  # noqa: BLE001 - the round writes them itself then
            pass
    header["seconds"] = round(time.perf_counter() - started, 4)
    body = {"report": dumped, "values": values}
    if getattr(result, "where", None) is not None:  # a Word report: where each figure was read
        header["kind"], body["where"] = "report", result.where
    return "ok", header, json.dumps(body, ensure_ascii=False)


def check_files(tasks: list[tuple]) -> list[tuple[str, dict, str]]:
    """``check_file`` for a few files at once: a quarter of the round trips between processes."""
    return [check_file(*task) for task in tasks]


def init_worker(parent_pid: int, warm: tuple[str, str | None] | None = None) -> None:
    """Pool initializer: leave Ctrl-C to the parent, exit if the parent dies, resolve packs once.

    With *warm* (a workbook's path and the scoring settings), warm up on it (``warm_up``) while
    the parent is still hashing the inputs (when the workers are not forked from a parent that
    warmed up itself).
    """
    from xltool.form.registry import pin

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pin()  # the pool lives for one round: each form pack resolved once, not per workbook

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="xltool-audit-parent-watch", daemon=True).start()
    if warm is not None:
        warm_up(*warm)


def warm_up(path: str, cfg_json: str | None) -> None:
    """Check the workbook *path* once and forget the result: the checks are loaded, the form is
    built and its rules compiled (the first check compiles them all); and make the issue list's
    prototype. A failed warm-up only means a cold start, never a broken pool."""
    try:
        check_file(path, path, cfg_json)
        from xltool.audit.issuelist import _prototype

        _prototype()
    except Exception:  # noqa: BLE001
        pass
