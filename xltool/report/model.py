"""The documented JSON output of ``check-workbook`` (``xltool schema`` prints its schema)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from xltool.check.finding import WorkbookReport


class Unreadable(BaseModel):
    path: str
    reason: str = Field(description="machine-readable reason, e.g. legacy_xls, encrypted, not_ours")
    message: str = Field(description="Chinese sentence for the person who sent the file")


class CheckOutput(BaseModel):
    """What one run of check-workbook found, for every file it was given."""

    schema_version: str = "1"
    tool: str = "xltool"
    workbooks: list[WorkbookReport] = Field(default_factory=list)
    unreadable: list[Unreadable] = Field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """See xltool.exitcodes: 0 no 必须修改, 1 findings to fix, 2 no input could be read, 3 some
        inputs could not be read (the others were checked)."""
        from xltool.exitcodes import ExitCode

        if self.unreadable:
            return ExitCode.SOME_UNREADABLE if self.workbooks else ExitCode.NOT_DONE
        return ExitCode.FINDINGS if any(w.errors for w in self.workbooks) else ExitCode.CLEAN
