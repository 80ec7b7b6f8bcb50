"""A unit's report as the audit stores and sends it: JSON text, and back (the one place that
knows how a WorkbookReport is serialised)."""

from __future__ import annotations

from xltool.check.finding import WorkbookReport


def report_json(report: WorkbookReport) -> str:
    return report.model_dump_json()


def report_from_json(text: str) -> WorkbookReport:
    return WorkbookReport.model_validate_json(text)


def report_from_dict(data: dict) -> WorkbookReport:
    return WorkbookReport.model_validate(data)


def finding_dicts(report: WorkbookReport) -> list[dict]:
    """Each finding as plain JSON values (code, instance, severity, message, ...)."""
    return [f.model_dump(mode="json") for f in report.findings]
