"""A unit's report as the audit stores and sends it: JSON text, and back (the one place that
knows how a WorkbookReport is serialised)."""

from __future__ import annotations

from xltool.check.finding import WorkbookReport


def report_json(report: WorkbookReport) -> str:
    return report.to_json()


def report_from_json(text: str) -> WorkbookReport:
    return WorkbookReport.from_json(text)


def report_from_dict(data: dict) -> WorkbookReport:
    return WorkbookReport.from_dict(data)


def finding_dicts(report: WorkbookReport) -> list[dict]:
    """Each finding as plain JSON values (code, instance, severity, message, ...)."""
    return [f.to_dict() for f in report.findings]
