"""The documented JSON output of ``check-workbook`` (``xltool schema`` prints its schema)."""

from __future__ import annotations

from typing import Any

from xltool.check.finding import Record, WorkbookReport, doc
from xltool.record import field, fields, record


@record(frozen=False, slots=True, kw_only=True)
class Unreadable(Record):
    path: str
    reason: str = doc("machine-readable reason, e.g. legacy_xls, encrypted, not_ours")
    message: str = doc("Chinese sentence for the person who sent the file")


@record(frozen=False, slots=True, kw_only=True)
class CheckOutput(Record):
    """What one run of check-workbook found, for every file it was given."""

    schema_version: str = "1"
    tool: str = "xltool"
    workbooks: list[WorkbookReport] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workbooks = [w if isinstance(w, WorkbookReport) else WorkbookReport.from_dict(w) for w in self.workbooks]
        self.unreadable = [u if isinstance(u, Unreadable) else Unreadable.from_dict(u) for u in self.unreadable]

    @property
    def exit_code(self) -> int:
        """See xltool.exitcodes: 0 no 必须修改, 1 findings to fix, 2 no input could be read, 3 some
        inputs could not be read (the others were checked)."""
        from xltool.exitcodes import ExitCode

        if self.unreadable:
            return ExitCode.SOME_UNREADABLE if self.workbooks else ExitCode.NOT_DONE
        return ExitCode.FINDINGS if any(w.errors for w in self.workbooks) else ExitCode.CLEAN


def json_schema() -> dict[str, Any]:
    """The JSON schema of :class:`CheckOutput` (pydantic reads the records; imported only here),
    with each field's description from its ``doc``."""
    from pydantic import TypeAdapter

    from xltool.check import finding

    schema = TypeAdapter(CheckOutput).json_schema()
    classes = {c.__name__: c for c in (CheckOutput, Unreadable, finding.WorkbookReport, finding.Finding,
                                       finding.CellRef, finding.Coverage, finding.FamilyRun)}
    for name, part in [("CheckOutput", schema), *schema.get("$defs", {}).items()]:
        cls = classes.get(name)
        if cls is None:
            continue
        part.pop("description", None)  # the dataclass's generated signature is no description
        if cls.__doc__ and not cls.__doc__.startswith(f"{name}("):
            part["description"] = cls.__doc__.strip()
        for f in fields(cls):
            if "description" in f.metadata and f.name in part.get("properties", {}):
                part["properties"][f.name]["description"] = f.metadata["description"]
    return schema
