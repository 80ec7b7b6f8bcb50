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


def check_file(path: str, cfg_json: str | None) -> tuple[str, dict, str]:
    """(status, header, body) for one file: status "ok" or "unreadable"."""
    from xltool.check.checker import check_path
    from xltool.read.safety import UnreadableWorkbook

    started = time.perf_counter()
    cfg = ScoringConfig.model_validate_json(cfg_json) if cfg_json else None
    try:
        result, report = check_path(Path(path), cfg=cfg)
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
    findings = report.model_dump(mode="json")["findings"]
    values = {k: _plain(v) for k, v in result.values.items() if v is not None and v != ""}
    header = {
        "unit": report.unit, "unit_code": report.unit_code, "year": report.year,
        "template_version": report.template_version, "email": report.contact_email,
        "contact": report.contact_name, "date": _plain(result.values.get("info_date")),
        "errors": report.errors, "warnings": report.warnings, "findings": finding_keys(findings),
        "scoring": result.cfg.model_dump_json(), "seconds": round(time.perf_counter() - started, 4),
    }
    body = {"report": report.model_dump(mode="json"), "values": values}
    return "ok", header, json.dumps(body, ensure_ascii=False)


def write_outputs(original: str, report_json: str, folder: str, annotated_name: str) -> list[str]:
    """Write 问题清单.xlsx and the annotated copy of *original* into *folder*."""
    from xltool.audit.marking import annotate_fast
    from xltool.check.finding import WorkbookReport
    from xltool.i18n import _
    from xltool.report.xlsx_list import write_issue_list

    report = WorkbookReport.model_validate_json(report_json)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    issues = write_issue_list(report, out / (_("Issue list") + ".xlsx"))
    annotated = annotate_fast(Path(original), report, out / annotated_name)
    return [str(issues), str(annotated)]


def init_worker(parent_pid: int) -> None:
    """Pool initializer: leave Ctrl-C to the parent, and exit if the parent dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="xltool-audit-parent-watch", daemon=True).start()
